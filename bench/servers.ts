// Server processes under test: the broker (`exportfact serve`, as an operator starts it)
// and the bare https baseline. Each runs in a process of its own so /proc tells their CPU.
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type { ClientCert, Pki } from './certs';

const ROOT = path.resolve(__dirname, '..', '..');

export interface ServerProcess {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

export interface BrokerProcess extends ServerProcess {
  /** https://127.0.0.1:PORT of the admin listener. */
  adminUrl: string;
  /** The files the broker was started with (its own folder unless given). */
  keyring: string;
  adminSigningKey: string;
  auditKey: string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** GET /v1/ready until it answers 200 (migrations done, store open). */
async function waitReady(url: string, pki: Pki, client: ClientCert, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode}: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    const status = await new Promise<number>((resolve) => {
      const req = https.get(`${url}/v1/ready`, { ca: pki.caPem, cert: client.certPem, key: client.keyPem, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
    });
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`broker not ready after 60 s; log: ${logFile}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * `node dist/src/cli/main.js serve …` with its JSON log going to a file, as under a service manager.
 * Since the secrets and audit work, `serve` also needs a keyring, an audit signing key and an admin
 * token key (created in its working folder when absent) and opens an admin listener (default
 * 127.0.0.1:8151, which another broker on the machine may hold): each broker runs in a folder of
 * its own (`dir`, its cwd) with every such file and port given explicitly. Brokers sharing one
 * database must share its keyring: pass the same `keyring` file to each.
 */
export async function startBroker(opts: {
  pki: Pki;
  store: { dataDir: string } | { databaseUrl: string };
  probe: ClientCert;
  logFile: string;
  dir: string;
  keyring?: string;
  /** More `serve` options, e.g. ['--reencrypt-batch', '200']. */
  extraArgs?: string[];
}): Promise<BrokerProcess> {
  fs.mkdirSync(opts.dir, { recursive: true });
  const keyring = opts.keyring ?? path.join(opts.dir, 'keyring.json');
  const adminSigningKey = path.join(opts.dir, 'admin-token.key');
  const auditKey = path.join(opts.dir, 'audit-signing.key');
  const port = await freePort();
  const adminPort = await freePort();
  // BENCH_BROKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the brokers.
  const nodeArgs = (process.env.BENCH_BROKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const args = [
    ...nodeArgs,
    path.join(ROOT, 'dist/src/cli/main.js'),
    'serve',
    '--ca',
    opts.pki.caFile,
    '--cert',
    opts.pki.server.cert,
    '--key',
    opts.pki.server.key,
    ...(opts.pki.crlFile ? ['--crl', opts.pki.crlFile] : []),
    '--listen',
    `127.0.0.1:${port}`,
    ...('dataDir' in opts.store ? ['--data-dir', opts.store.dataDir] : ['--database-url', opts.store.databaseUrl]),
    '--keyring',
    keyring,
    '--audit-key',
    auditKey,
    '--admin-listen',
    `127.0.0.1:${adminPort}`,
    '--admin-signing-key',
    adminSigningKey,
    ...(opts.extraArgs ?? []),
  ];
  const log = fs.openSync(opts.logFile, 'a');
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('EXPORTFACT_')) delete env[k];
  const child = spawn(process.execPath, args, { stdio: ['ignore', log, log], env, cwd: opts.dir });
  fs.closeSync(log);
  const url = `https://127.0.0.1:${port}`;
  try {
    await waitReady(url, opts.pki, opts.probe, child, opts.logFile);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return {
    pid: child.pid!,
    url,
    adminUrl: `https://127.0.0.1:${adminPort}`,
    keyring,
    adminSigningKey,
    auditKey,
    stop: () => stopChild(child),
  };
}

/** `exportfact admin token …` with the broker's signing key, as an operator issues one. */
export function adminToken(broker: BrokerProcess, scope: string, subject = 'bench'): string {
  return execFileSync(
    process.execPath,
    [
      path.join(ROOT, 'dist/src/cli/main.js'),
      'admin',
      'token',
      '--scope',
      scope,
      '--subject',
      subject,
      '--ttl',
      '1h',
      '--signing-key',
      broker.adminSigningKey,
    ],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  )
    .toString()
    .trim();
}

/** One admin API call with a Bearer token (not measured). */
export function adminRequest<T>(
  broker: BrokerProcess,
  ca: string,
  token: string,
  method: string,
  urlPath: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      `${broker.adminUrl}${urlPath}`,
      { method, ca, agent: false, headers: { Authorization: `Bearer ${token}`, ...(data ? { 'Content-Type': 'application/json' } : {}) } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : undefined) as T });
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** The minimal https server (bench/bare-server.ts) with the same certificates. */
export async function startBareServer(pki: Pki): Promise<ServerProcess> {
  const child = fork(path.join(__dirname, 'bare-server.js'), [pki.caFile, pki.server.cert, pki.server.key], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`bare server exited with ${code}`)));
  });
  return { pid: child.pid!, url: `https://127.0.0.1:${port}`, stop: () => stopChild(child) };
}
