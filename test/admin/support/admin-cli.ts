#!/usr/bin/env node
// Stand-in for `exportfact` while main.ts does not yet register `admin`: the same command
// objects, the same one-line failure rule. Once main.ts has it, the tests use the real CLI.
import { Command } from 'commander';
import { adminCommand } from '../../../src/cli/admin-command';
import { AppError } from '../../../src/errors/app-error';
import { ConfigError } from '../../../src/errors/config-error';

function fail(err: unknown): never {
  const known = err instanceof ConfigError || err instanceof AppError;
  process.stderr.write(`exportfact: ${known ? (err as Error).message : ((err as Error).stack ?? String(err))}\n`);
  process.exit(known ? 2 : 1);
}

new Command('exportfact').addCommand(adminCommand()).parseAsync(process.argv).catch(fail);
