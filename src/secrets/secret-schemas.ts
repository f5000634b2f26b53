import { z } from 'zod';
import { factValue } from '../schemas/json-value';
import { wholeNumber } from '../schemas/query-values';
import { MAX_LENGTH, MIN_LENGTH } from './password-generator';

export const generateBody = z.strictObject({
  length: z.int().min(MIN_LENGTH).max(MAX_LENGTH).default(32),
  alphabet: z.string().min(1).max(256).default('alnum'),
});

export const rotateBody = z.strictObject({
  /** Absent: the broker generates the new value. */
  value: factValue.optional(),
  pending: z.boolean().default(false),
});

export const promoteBody = z.strictObject({ version: z.int().positive() });

/** `?version=N` pins a version; anything else is a 400 naming the parameter. */
export const versionQuery = z.strictObject({ version: wholeNumber(1, 2 ** 31 - 1).optional() });
