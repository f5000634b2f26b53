import { BadRequestError } from '../errors/app-error';

/** Facter-style names, as the old module's categories and fact names were. */
export const NAME_PATTERN = /^[a-z][a-z0-9_]*$/;
export const NAME_MAX_LENGTH = 64;

export function checkName(field: 'category' | 'name', value: string): string {
  if (value.length > NAME_MAX_LENGTH) {
    throw new BadRequestError('invalid_name', `${field} is ${value.length} characters long; at most ${NAME_MAX_LENGTH} are allowed`);
  }
  if (!NAME_PATTERN.test(value)) {
    throw new BadRequestError('invalid_name', `${field} ${JSON.stringify(value)} is not a Facter-style name (lowercase letter, then lowercase letters, digits or _)`);
  }
  return value;
}
