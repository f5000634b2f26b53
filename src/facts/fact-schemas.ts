import { z } from 'zod';
import { factName } from '../schemas/fact-name';
import { factValue } from '../schemas/json-value';

export const publishBody = z.strictObject({
  value: factValue,
  sensitive: z.boolean().default(false),
  multi: z.boolean().default(false),
});

export const pruneBody = z.strictObject({
  keep: z.array(z.strictObject({ category: factName, name: factName })).max(10000),
});
