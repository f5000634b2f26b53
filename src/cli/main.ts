#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { AppError } from '../errors/app-error';
import { ConfigError } from '../errors/config-error';
import { adminCommand } from './admin-command';
import { auditCommand } from './audit-command';
import { backupCommand, migrateStoreCommand, restoreCommand } from './backup-command';
import { caCommand } from './ca-command';
import { configCommand } from './config-command';
import { graphCommand, waitsCommand } from './graph-command';
import { keysCommand } from './keys-command';
import { migrateCommand } from './migrate-command';
import { nodesCommand } from './nodes-command';
import { policyCommand } from './policy-command';
import { secretsCommand } from './secrets-command';
import { serveCommand } from './serve-command';
import { watchCommand } from './watch-command';

const program = new Command('exportfact')
  .description('share facts between Puppet nodes through a mutual-TLS broker')
  .version(require('../../../package.json').version)
  .addCommand(serveCommand())
  .addCommand(configCommand())
  .addCommand(caCommand())
  .addCommand(keysCommand())
  .addCommand(secretsCommand())
  .addCommand(nodesCommand())
  .addCommand(waitsCommand())
  .addCommand(graphCommand())
  .addCommand(auditCommand())
  .addCommand(policyCommand())
  .addCommand(adminCommand())
  .addCommand(migrateCommand())
  .addCommand(backupCommand())
  .addCommand(restoreCommand())
  .addCommand(migrateStoreCommand())
  .addCommand(watchCommand());

/**
 * Exit codes, for every command: 0 done, 1 a runtime failure, 2 a usage or configuration
 * error — commander's own (an unknown option, a missing argument) included.
 */
function sameRulesEverywhere(cmd: Command): void {
  cmd.exitOverride();
  cmd.configureOutput({ outputError: (text, write) => write(`exportfact: ${text.replace(/^error: /, '')}`) });
  for (const sub of cmd.commands) sameRulesEverywhere(sub);
}
sameRulesEverywhere(program);

/** Operator mistakes end in one line naming the problem, not a stack trace. */
function fail(err: unknown): never {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2); // commander printed it already
  const e = err as NodeJS.ErrnoException;
  const known =
    err instanceof ConfigError ||
    err instanceof AppError ||
    ['EADDRINUSE', 'EACCES', 'ECONNREFUSED', 'ENOTFOUND', '3D000', '28P01'].includes(e.code ?? '');
  process.stderr.write(`exportfact: ${known ? e.message : (e.stack ?? String(err))}\n`);
  process.exit(known ? 2 : 1);
}

program.parseAsync(process.argv).catch(fail);
