// Many watchers in a process of their own (so that the broker's memory and CPU can be told
// apart from theirs), driven over IPC by a test or the benchmark. Each watcher is what
// `exportfact watch` does: one kept-alive mTLS connection, a first GET for the view and its
// ETag, then GET ?wait= with If-None-Match again and again, recording when each change arrived.
import { type ChildProcess, fork } from 'node:child_process';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';

export interface WatcherCert {
  certPem: string;
  keyPem: string;
}

export interface OpenWatchers {
  url: string;
  path?: string;
  ca: string;
  /** Watcher i presents certs[i % certs.length]. */
  certs: WatcherCert[];
  count: number;
  /** The wait= each held request asks for. */
  wait: string;
  /** How many watchers open their connection at once (handshakes are the costly part). */
  concurrency?: number;
  /** A baseline: the first GET only, then the connection sits idle (kept alive), never held. */
  idle?: boolean;
}

/** Epoch milliseconds with sub-millisecond precision, comparable between processes of one machine. */
export const now = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------- child side

interface Watcher {
  agent: https.Agent;
  etag?: string;
  stopped: boolean;
}

const watchers: Watcher[] = [];
let arrivals: number[] = [];
const errors: string[] = [];
let changes = 0;

function get(w: Watcher, o: OpenWatchers, ctx: tls.SecureContext, query: string): Promise<{ status: number; etag?: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${o.path ?? '/v1/facts'}${query}`, o.url);
    const req = https.request(
      {
        host: url.hostname,
        port: Number(url.port),
        path: url.pathname + url.search,
        headers: w.etag && query ? { 'If-None-Match': w.etag } : {},
        secureContext: ctx,
        agent: w.agent,
      } as https.RequestOptions,
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, etag: res.headers.etag }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Failures of held requests, by what went wrong: counted, and the watcher tries again as `exportfact watch` does. */
const failures: Record<string, number> = {};

async function watchLoop(w: Watcher, o: OpenWatchers, ctx: tls.SecureContext): Promise<void> {
  while (!w.stopped) {
    let r: { status: number; etag?: string };
    try {
      r = await get(w, o, ctx, `?wait=${o.wait}`);
    } catch (err) {
      if (w.stopped) return;
      r = { status: 0 };
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      failures[why] = (failures[why] ?? 0) + 1;
    }
    if (r.status === 200) {
      arrivals.push(now());
      changes++;
      w.etag = r.etag;
    } else if (r.status !== 304) {
      if (r.status) failures[`HTTP ${r.status}`] = (failures[`HTTP ${r.status}`] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function open(o: OpenWatchers): Promise<void> {
  const contexts = o.certs.map((c) => tls.createSecureContext({ ca: o.ca, cert: c.certPem, key: c.keyPem }));
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < o.count; i = next++) {
      const w: Watcher = { agent: new https.Agent({ keepAlive: true, maxSockets: 1 }), stopped: false };
      watchers.push(w);
      const ctx = contexts[i % contexts.length];
      const first = await get(w, o, ctx, '');
      w.etag = first.etag;
      if (o.idle) continue;
      watchLoop(w, o, ctx).catch((err: Error) => {
        if (!w.stopped && errors.length < 10) errors.push(err.message);
      });
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 8 }, lane));
}

/** Every connection closed at once: the clients hang up. */
function hangUp(): void {
  for (const w of watchers.splice(0)) {
    w.stopped = true;
    w.agent.destroy();
  }
}

type Command =
  | { id: number; op: 'open'; options: OpenWatchers }
  | { id: number; op: 'arrivals' }
  | { id: number; op: 'hangUp' }
  | { id: number; op: 'stats' };

if (require.main === module) {
  process.on('message', (msg: Command) => {
    const reply = (result: unknown) => process.send!({ id: msg.id, result });
    const fail = (err: unknown) => process.send!({ id: msg.id, error: String(err) });
    if (msg.op === 'open') open(msg.options).then(() => reply(watchers.length), fail);
    else if (msg.op === 'arrivals') {
      reply(arrivals);
      arrivals = [];
    } else if (msg.op === 'hangUp') {
      hangUp();
      reply(true);
    } else reply({ watchers: watchers.length, changes, errors, failures, rssMb: process.memoryUsage().rss / 2 ** 20 });
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------- parent side

/** The parent's handle on the watchers' process. */
export class WatchClients {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new Error(m.error));
      else p?.resolve(m.result);
    });
  }

  static start(): WatchClients {
    return new WatchClients(fork(path.join(__dirname, 'watch-clients.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  get pid(): number {
    return this.child.pid!;
  }

  private call<T>(msg: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, ...msg });
    });
  }

  /** Opens `count` more watchers; resolves once each has sent its first held request. */
  open(options: OpenWatchers): Promise<number> {
    return this.call({ op: 'open', options });
  }

  /** When each change reached a watcher (epoch ms) since the last call. */
  arrivals(): Promise<number[]> {
    return this.call({ op: 'arrivals' });
  }

  hangUp(): Promise<void> {
    return this.call({ op: 'hangUp' });
  }

  /** errors: watchers that could not open; failures: held requests that failed (then retried), by cause. */
  stats(): Promise<{ watchers: number; changes: number; errors: string[]; failures: Record<string, number>; rssMb: number }> {
    return this.call({ op: 'stats' });
  }

  close(): void {
    if (this.child.connected) this.child.disconnect();
  }
}
