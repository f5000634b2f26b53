import { spawn } from 'node:child_process';
import path from 'node:path';
import { CLI, type CliRun, runCli } from '../../support/cli';

const STAND_IN = path.resolve(__dirname, 'admin-cli.js');
let entry: Promise<string> | undefined;

/** The real `exportfact` once it registers `admin`; until then the stand-in with the same commands. */
function adminEntry(): Promise<string> {
  entry ??= runCli(['admin', '--help']).then((r) => (r.code === 0 && /\btoken\b/.test(r.stdout) ? CLI : STAND_IN));
  return entry;
}

/** Runs `exportfact ARGS` to completion, in cwd, with env added to the tests' own. */
export async function runAdminCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  const script = await adminEntry();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
