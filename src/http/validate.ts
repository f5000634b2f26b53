import type { z } from 'zod';
import { BadRequestError } from '../errors/app-error';

/** Turns the first zod issue into one client-facing message that names the field. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  // A misspelt field ({"valeu": 1}) also makes the real one missing: name the unknown one first.
  const issue = result.error.issues.find((i) => i.code === 'unrecognized_keys') ?? result.error.issues[0];
  const where = issue.path.length ? issue.path.join('.') : 'body';
  if (issue.code === 'unrecognized_keys') {
    throw new BadRequestError(
      'invalid_body',
      `unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}${issue.path.length ? ` in ${where}` : ''}`,
    );
  }
  throw new BadRequestError('invalid_body', `field ${where}: ${issue.message}`);
}
