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
    .optional()
    .superRefine((v, ctx) => {
      if (v === undefined) return; // absent: the broker generates the new value
      if (jsonDepth(v) > MAX_VALUE_DEPTH) ctx.addIssue({ code: 'custom', message: `is nested deeper than ${MAX_VALUE_DEPTH} levels` });
      else if (v === null || !z.json().safeParse(v).success) ctx.addIssue({ code: 'custom', message: 'must be a JSON value other than null' });
    }),
  pending: z.boolean().default(false),
});

export const promoteBody = z.strictObject({ version: z.int().positive() });

/** `?version=N` pins a version; anything else is a 400 naming the parameter. */
export const versionQuery = z.strictObject({ version: z.coerce.number().int().positive().optional() });
