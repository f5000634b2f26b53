import { z } from 'zod';
import { NAME_MAX_LENGTH, NAME_PATTERN } from './fact-names';

/** Deeper than this is no fact anyone writes, and it would cost recursion further on. */
export const MAX_VALUE_DEPTH = 32;

/** Nesting depth of a JSON value, without recursion (the value may be hostile). */
export function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (depth > deepest) deepest = depth;
    if (depth > MAX_VALUE_DEPTH) break;
    if (v && typeof v === 'object') for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** Facter holds any JSON value but null: a nil fact is an absent fact. */
const factValue = z.json().refine((v) => v !== null, { message: 'must be a JSON value other than null' });

export const publishBody = z.strictObject({
  value: z.unknown().superRefine((v, ctx) => {
    if (v === undefined) ctx.addIssue({ code: 'custom', message: 'is required' });
    else if (jsonDepth(v) > MAX_VALUE_DEPTH) ctx.addIssue({ code: 'custom', message: `is nested deeper than ${MAX_VALUE_DEPTH} levels` });
    else {
      const r = factValue.safeParse(v);
      if (!r.success) ctx.addIssue({ code: 'custom', message: r.error.issues[0].message });
    }
  }),
  sensitive: z.boolean().default(false),
  multi: z.boolean().default(false),
});

const factName = z.string().max(NAME_MAX_LENGTH).regex(NAME_PATTERN, 'must be a Facter-style name');

export const pruneBody = z.strictObject({
  keep: z.array(z.strictObject({ category: factName, name: factName })).max(10000),
});
