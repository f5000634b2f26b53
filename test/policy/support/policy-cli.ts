#!/usr/bin/env node
// `exportfact policy …` as a process, until src/cli/main.ts registers the command: the same
// program name and the same handling of operator mistakes (one line, exit 2) as main.ts.
import { Command } from 'commander';
import { policyCommand } from '../../../src/cli/policy-command';
import { ConfigError } from '../../../src/errors/config-error';

new Command('exportfact')
  .addCommand(policyCommand())
  .parseAsync(process.argv)
  .catch((err: Error) => {
    process.stderr.write(`exportfact: ${err instanceof ConfigError ? err.message : (err.stack ?? String(err))}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  });
