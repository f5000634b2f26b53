import { z } from 'zod';
import { BadRequestError } from '../errors/app-error';

/** Facter-style names, as the old module's categories and fact names were. */
export const NAME_PATTERN = /^[a-z][a-z0-9_]*$/;
export const NAME_MAX_LENGTH = 64;

/** Why a category or fact name is not one, or null: one wording for routes, CLI and policy. */
export function factNameProblem(field: string, value: string): string | null {
  if (value.length > NAME_MAX_LENGTH) return `${field} is ${value.length} characters long; at most ${NAME_MAX_LENGTH} are allowed`;
  if (!NAME_PATTERN.test(value))
    return `${field} ${JSON.stringify(value)} is not a Facter-style name (lowercase letter, then lowercase letters, digits or _)`;
  return null;
}

/** A category or name from a request path: 400 invalid_name naming it. */
export function checkName(field: 'category' | 'name', value: string): string {
  const problem = factNameProblem(field, value);
  if (problem) throw new BadRequestError('invalid_name', problem);
  return value;
}

/** The same rule in a body or query schema. */
export const factName = z.string().max(NAME_MAX_LENGTH).regex(NAME_PATTERN, 'must be a Facter-style name');
