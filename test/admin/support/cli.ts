import { CLI, type CliRun } from '../../support/cli';
import { runProcess } from '../../support/process';

/**
 * Runs `exportfact ARGS` to completion, in cwd, with env added to the tests' own — without
 * runCli's isolation, so the admin commands' own defaults (./admin-token.key) are what is tested.
 */
export function runAdminCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  return runProcess(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, timeoutMs: 30_000 });
}
