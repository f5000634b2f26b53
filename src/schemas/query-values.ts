import { z } from 'zod';

/** A time in a query (`since`, `until`, `before`): what ISO 8601 text a person or script sends. */
export const isoTime = z.coerce.date({
  error: 'must be a date or date and time in ISO 8601 (for example 2026-11-29 or 2026-11-29T08:00:00Z)',
});

/** A whole number from a query string, with its range in the message. */
export const wholeNumber = (min: number, max: number) =>
  z.coerce
    .number({ error: `must be a whole number from ${min} to ${max}` })
    .int({ error: `must be a whole number from ${min} to ${max}` })
    .min(min, { error: `must be a whole number from ${min} to ${max}` })
    .max(max, { error: `must be a whole number from ${min} to ${max}` });
