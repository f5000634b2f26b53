// The load generator: a child process speaking real mutual TLS with node:https, so that
// none of its work lands in the server's CPU figures. The parent sends jobs over IPC.
import { type ChildProcess, fork } from 'node:child_process';
import https from 'node:https';
import tls from 'node:tls';
import type { ClientCert } from './certs';

export interface Job {
  /** https://127.0.0.1:PORT */
  url: string;
  path: string;
  /** Request i goes to paths[i % paths.length] when given (seeding many facts). */
  paths?: string[];
  headers?: Record<string, string>;
  /** fresh: a new TCP + TLS handshake per request (an agent run); keepalive: one connection per lane. */
  mode: 'fresh' | 'keepalive';
  count: number;
  concurrency: number;
  ca: string;
  /** Request i presents clients[i % clients.length]; in keepalive mode lane j keeps clients[j % n]. */
  clients: ClientCert[];
  /** Request method and JSON body, for seeding (PUT). */
  method?: string;
  bodies?: unknown[];
  /** Requests per lane that are sent before timing starts (keepalive: opens the connections). */
  warmup?: number;
  /** Record each request's latency: JobResult.samples. */
  latency?: boolean;
  /** Stop after this long even if `count` is not reached (count is then a cap). */
  durationMs?: number;
}

export interface JobResult {
  count: number;
  seconds: number;
  statuses: Record<string, number>;
  bytes: number;
  errors: string[];
  /** With job.latency: [end of the request, epoch ms; latency, ms] per recorded request. */
  samples?: [number, number][];
}

const stopped = new Set<number>();

// ---------------------------------------------------------------- child side

function request(job: Job, ctx: tls.SecureContext, agent: https.Agent | false, i: number): Promise<{ status: number; bytes: number }> {
  const url = new URL(job.paths ? job.paths[i % job.paths.length] : job.path, job.url);
  const body = job.bodies ? JSON.stringify(job.bodies[i % job.bodies.length]) : undefined;
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        method: job.method ?? 'GET',
        headers: { ...job.headers, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        secureContext: ctx,
        agent,
      } as https.RequestOptions,
      (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function runJob(job: Job, id = 0): Promise<JobResult> {
  const contexts = job.clients.map((c) => tls.createSecureContext({ ca: job.ca, cert: c.certPem, key: c.keyPem }));
  const lanes = Math.min(job.concurrency, job.count);
  const agents = Array.from({ length: lanes }, () =>
    job.mode === 'keepalive' ? new https.Agent({ keepAlive: true, maxSockets: 1 }) : (false as const),
  );
  const result: JobResult = { count: 0, seconds: 0, statuses: {}, bytes: 0, errors: [], ...(job.latency ? { samples: [] } : {}) };
  const one = async (lane: number, i: number, record: boolean) => {
    const ctxIndex = job.mode === 'keepalive' ? lane : i;
    try {
      const t0 = performance.now();
      const r = await request(job, contexts[ctxIndex % contexts.length], agents[lane], i);
      if (!record) return;
      result.samples?.push([Date.now(), performance.now() - t0]);
      result.statuses[r.status] = (result.statuses[r.status] ?? 0) + 1;
      result.bytes += r.bytes;
      result.count++;
    } catch (err) {
      if (result.errors.length < 5) result.errors.push((err as Error).message);
    }
  };
  for (let w = 0; w < (job.warmup ?? 0); w++) await Promise.all(agents.map((_, lane) => one(lane, w, false)));

  let next = 0;
  const started = process.hrtime.bigint();
  const deadline = job.durationMs === undefined ? Infinity : Date.now() + job.durationMs;
  const more = () => Date.now() < deadline && !stopped.has(id);
  await Promise.all(
    agents.map(async (_, lane) => {
      for (let i = next++; i < job.count && more(); i = next++) await one(lane, i, true);
    }),
  );
  stopped.delete(id);
  result.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  for (const a of agents) if (a) a.destroy();
  return result;
}

if (require.main === module) {
  process.on('message', (msg: { id: number; job?: Job; stop?: boolean }) => {
    if (msg.stop) return void stopped.add(msg.id);
    runJob(msg.job!, msg.id).then(
      (result) => process.send!({ id: msg.id, result }),
      (err) => process.send!({ id: msg.id, error: String(err) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------- parent side

export class LoadGenerator {
  private seq = 0;
  private readonly pending = new Map<number, { resolve(r: JobResult): void; reject(e: Error): void }>();

  private constructor(readonly child: ChildProcess) {
    child.on('message', (msg: { id: number; result?: JobResult; error?: string }) => {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error || !msg.result) p?.reject(new Error(msg.error));
      else p?.resolve(msg.result);
    });
  }

  static start(): LoadGenerator {
    return new LoadGenerator(fork(__filename, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  run(job: Job): Promise<JobResult> {
    return this.start(job).result;
  }

  /** Starts a job; stop() ends it early (requests in flight finish). */
  start(job: Job): { result: Promise<JobResult>; stop(): void } {
    const id = ++this.seq;
    const result = new Promise<JobResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, job });
    });
    return { result, stop: () => void this.child.send({ id, stop: true }) };
  }

  /** Runs a job and insists every answer has one of the expected statuses. */
  async expect(job: Job, ...statuses: number[]): Promise<JobResult> {
    const r = await this.run(job);
    const good = statuses.reduce((n, s) => n + (r.statuses[s] ?? 0), 0);
    if (good !== (job.durationMs === undefined ? job.count : r.count) || r.errors.length) {
      throw new Error(
        `${job.method ?? 'GET'} ${job.path}: expected ${job.count} × ${statuses.join('/')}, got ${JSON.stringify(r.statuses)} ${r.errors.join('; ')}`,
      );
    }
    return r;
  }

  close(): void {
    this.child.disconnect();
  }
}

/** One request from the orchestrator itself (not measured): reads a status and an ETag. */
export function requestOnce(
  url: string,
  ca: string,
  client: ClientCert,
  headers: Record<string, string> = {},
): Promise<{ status: number; etag?: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, cert: client.certPem, key: client.keyPem, agent: false, headers }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, etag: res.headers.etag, bytes }));
    });
    req.on('error', reject);
  });
}
