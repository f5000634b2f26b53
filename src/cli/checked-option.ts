import { InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';

/**
 * An option whose value is checked with the same schema the broker uses, before anything is
 * sent: `--since yesterday` is refused here, naming the option and what it takes (exit 2).
 * The value is passed on as typed.
 */
export function checkedOption(flags: string, description: string, schema: z.ZodType): Option {
  return new Option(flags, description).argParser((value: string) => {
    const result = schema.safeParse(value);
    if (!result.success) throw new InvalidArgumentError(result.error.issues[0].message);
    return value;
  });
}
