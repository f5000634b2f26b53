// The load generator: a child process speaking real mutual TLS with node:https, so that
// none of its work lands in the server's CPU figures. The parent sends jobs over IPC.
import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
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
  /**
   * Fresh mode: request i presents certificate (offset + i) of a file of base64 DER lines
   * (bench/fleet-certs.ts), all with one key, instead of `clients` (100,000 contexts made up
   * front would not fit). The context is made per request, as a new agent process would.
   */
  certs?: { file: string; keyPem: string; offset: number };
  /**
   * Open loop: requests start at this rate (per second, exponential gaps as agents with
   * `splay` arrive), whether earlier ones finished or not; `concurrency` caps those in flight.
   */
  rate?: number;
  /** Every `every`-th run (i % every === 0) also makes a second request to paths[i % n] (a fresh connection). */
  also?: { every: number; paths: string[]; status: number };
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
const certFiles = new Map<string, string[]>();
const linesOf = (file: string) => certFiles.get(file) ?? certFiles.set(file, fs.readFileSync(file, 'utf8').trim().split('\n')).get(file)!;
const pemOf = (b64: string) => `-----BEGIN CERTIFICATE-----\n${b64.replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END CERTIFICATE-----\n`;

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

/** Open-loop runs (job.rate): arrivals on a schedule, each a fresh connection, latency per run. */
async function runOpenLoop(job: Job, id: number): Promise<JobResult> {
  const result: JobResult = { count: 0, seconds: 0, statuses: {}, bytes: 0, errors: [], samples: [] };
  const lines = job.certs ? linesOf(job.certs.file) : undefined;
  const shared = job.clients.map((c) => tls.createSecureContext({ ca: job.ca, cert: c.certPem, key: c.keyPem }));
  const contextFor = (i: number) =>
    lines && job.certs
      ? tls.createSecureContext({ ca: job.ca, cert: pemOf(lines[(job.certs.offset + i) % lines.length]), key: job.certs.keyPem })
      : shared[i % shared.length];
  const count = (status: number, bytes: number) => {
    result.statuses[status] = (result.statuses[status] ?? 0) + 1;
    result.bytes += bytes;
  };
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const started = performance.now();
  const deadline = Date.now() + (job.durationMs ?? Infinity);
  const runs: Promise<void>[] = [];
  let due = 0;
  for (let i = 0; i < job.count && Date.now() < deadline && !stopped.has(id); i++) {
    due += -Math.log(1 - Math.random()) / job.rate!; // seconds after start
    const wait = started + due * 1000 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    while (inFlight >= job.concurrency) await new Promise<void>((r) => (wake = r));
    inFlight++;
    runs.push(
      (async () => {
        const t0 = performance.now();
        try {
          const ctx = contextFor(i);
          const r = await request(job, ctx, false, i);
          count(r.status, r.bytes);
          if (job.also && i % job.also.every === 0) {
            const a = await request({ ...job, paths: job.also.paths }, ctx, false, i);
            count(a.status, a.bytes);
          }
          result.samples!.push([Date.now(), performance.now() - t0]);
          result.count++;
        } catch (err) {
          if (result.errors.length < 5) result.errors.push((err as Error).message);
        } finally {
          inFlight--;
          wake?.();
          wake = undefined;
        }
      })(),
    );
  }
  await Promise.all(runs);
  stopped.delete(id);
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

async function runJob(job: Job, id = 0): Promise<JobResult> {
  if (job.rate) return runOpenLoop(job, id);
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
