import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Client } from './client';
import { type ProcessRun, runProcess } from './process';
import { tempDir } from './temp';

export const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');
/** The repository (dist/test/support → ../../..). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * Every CLI run gets a scratch folder as its working directory and its own admin port and
 * signing key: files the broker creates by default (keyring.json, admin-token.key) must
 * never land in the repository, and port 8151 may be taken.
 */
function isolated(opts: { cwd?: string; env?: NodeJS.ProcessEnv }): { cwd: string; env: NodeJS.ProcessEnv } {
  const cwd = opts.cwd ?? tempDir('cwd');
  return {
    cwd,
    env: {
      ...process.env,
      EXPORTFACT_ADMIN_LISTEN: '127.0.0.1:0',
      EXPORTFACT_ADMIN_SIGNING_KEY: path.join(cwd, 'admin-token.key'),
      ...opts.env,
    },
  };
}

export type CliRun = ProcessRun;

/** Runs `exportfact ARGS` to completion. */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliRun> {
  return runCommand(process.execPath, [CLI, ...args], opts);
}

/** Runs any command (an installed `exportfact`, say) to completion, isolated like runCli. */
export function runCommand(
  command: string,
  args: string[],
  opts?: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<CliRun>;
/** With `untilListening`: starts a serving command and resolves once it listens. */
export function runCommand(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; untilListening: true },
): Promise<ServeProcess>;
export function runCommand(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; untilListening?: boolean } = {},
): Promise<CliRun | ServeProcess> {
  if (opts.untilListening) return serveWith(command, args, opts);
  return runProcess(command, args, { ...isolated(opts), timeoutMs: opts.timeoutMs ?? 30_000 });
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** The admin listener's URL, when it runs. */
  adminUrl?: string;
  cwd: string;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `exportfact serve ARGS` and waits for its "listening" log line. */
export function startServe(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ServeProcess> {
  return serveWith(process.execPath, [CLI, 'serve', ...args], opts);
}

function serveWith(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<ServeProcess> {
  return new Promise((resolve, reject) => {
    const spawnOpts = isolated(opts);
    const child = spawn(command, args, spawnOpts);
    let out = '';
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not start within ${opts.timeoutMs ?? 40_000} ms:\n${out}`));
    }, opts.timeoutMs ?? 40_000);
    const onData = (d: Buffer) => {
      out += d;
      // The listening line, as JSON or as --log-format pretty writes it (the same fields).
      const m = /^.*exportfact broker listening.*$/m.exec(out)?.[0].match(/"listen":"([^"]+)"/);
      if (m) {
        clearTimeout(timer);
        resolve({
          child,
          url: `https://${m[1]}`,
          adminUrl: /"admin":"(https:[^"]+)"/.exec(out)?.[1],
          cwd: spawnOpts.cwd,
          output: () => out,
          stop: (signal = 'SIGTERM') => {
            child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${out}`));
    });
  });
}

/** A client with `certname`'s certificate from the dev CA that `serve --dev-ca` made in its working folder. */
export function devCaClient(serve: ServeProcess, certname: string): Client {
  const certs = path.join(serve.cwd, 'certs');
  const ssl = path.join(certs, 'nodes', certname);
  return new Client(serve.url, fs.readFileSync(path.join(certs, 'ca.pem'), 'utf8'), {
    certname,
    serial: '',
    certPem: fs.readFileSync(path.join(ssl, 'certs', `${certname}.pem`), 'utf8'),
    keyPem: fs.readFileSync(path.join(ssl, 'private_keys', `${certname}.pem`), 'utf8'),
  });
}

/** `--admin-url … --token …` for the admin commands, with a 10-minute token for `subject` made by `admin token` in serve's folder. */
export async function adminTokenArgs(serve: ServeProcess, subject: string): Promise<string[]> {
  const token = await runCli(
    ['admin', 'token', '--scope', 'secrets:read,secrets:rotate,keys:rotate,audit:read', '--subject', subject, '--ttl', '10m'],
    { cwd: serve.cwd },
  );
  expect(token.code).to.equal(0, token.stderr);
  return ['--admin-url', serve.adminUrl!, '--token', token.stdout.trim()];
}
