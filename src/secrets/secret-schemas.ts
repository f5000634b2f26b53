import { z } from 'zod';
import { MAX_VALUE_DEPTH, jsonDepth } from '../facts/fact-schemas';
import { MAX_LENGTH, MIN_LENGTH } from './password-generator';

export const generateBody = z.strictObject({
  length: z.int().min(MIN_LENGTH).max(MAX_LENGTH).default(32),
  alphabet: z.string().min(1).max(256).default('alnum'),
});

export const rotateBody = z.strictObject({
  value: z
    .unknown()
    .refine((v) => v === undefined || jsonDepth(v) <= MAX_VALUE_DEPTH, { message: `is nested deeper than ${MAX_VALUE_DEPTH} levels` })
    .pipe(z.json().refine((v) => v !== null, { message: 'must be a JSON value other than null' }).optional()),
  pending: z.boolean().default(false),
});

export const promoteBody = z.strictObject({ version: z.int().positive() });

/** `?version=N` pins a version; anything else is a 400 naming the parameter. */
export const versionQuery = z.strictObject({ version: z.coerce.number().int().positive().optional() });
