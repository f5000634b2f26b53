import { z } from 'zod';
import { NAME_MAX_LENGTH, NAME_PATTERN } from './fact-names';

/** Facter holds any JSON value but null: a nil fact is an absent fact. */
const factValue = z.json().refine((v) => v !== null, { message: 'must be a JSON value other than null' });

export const publishBody = z.strictObject({
  value: z.unknown().superRefine((v, ctx) => {
    if (v === undefined) ctx.addIssue({ code: 'custom', message: 'is required' });
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
