/**
 * The one way tests run processes: to completion with their output collected (runProcess), or
 * as a server that runs until stopped (startListening, stopProcess).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { sleep } from './wait';

export interface ProcessRun {
  /** The exit code; -1 when a signal ended the process. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** SIGKILL after this long (default: never). */
  timeoutMs?: number;
}

/** Runs `cmd ARGS` to completion (stdin closed) and collects what it wrote. */
export function runProcess(cmd: string, args: string[], opts: RunOptions = {}): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Spawns `node ARGS` in `cwd`, appends its stdout and stderr to `sink.log`, and resolves once
 * every one of `ports` accepts connections; rejects (with the log) if it exits first or does
 * not listen within a minute.
 */
export async function startListening(args: string[], opts: { cwd: string; ports: number[]; sink: { log: string } }): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd });
  child.stdout.on('data', (c) => (opts.sink.log += c));
  child.stderr.on('data', (c) => (opts.sink.log += c));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode}: ${opts.sink.log}`);
    if ((await Promise.all(opts.ports.map(canConnect))).every(Boolean)) return child;
    await sleep(200);
  }
  child.kill('SIGKILL');
  throw new Error(`broker did not listen on ${opts.ports.join(', ')}: ${opts.sink.log}`);
}

/** SIGTERM, then SIGKILL if it is still running 10 s later; resolves once it has exited. */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
