// The loop behind `exportfact watch`: hold a request on the broker until the node's view
// changes, run a command with the new view, and do it again, across broker failures.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { ClientRequest } from 'node:http';
import https from 'node:https';
import { printable } from './admin-client';

export interface WatchTarget {
  /** Broker base URLs, tried in order; the next one on a failure. */
  urls: string[];
  /** `/v1/facts` or `/v1/facts/CATEGORY`. */
  path: string;
  waitMs: number;
  tls: { ca: string; cert: string; key: string };
  /** Run by /bin/sh with the view on stdin. */
  command: string;
  log(line: string): void;
}

/** A view is never this large; a broker that sends more is cut off rather than buffered. */
const MAX_VIEW_BYTES = 64 * 1024 * 1024;
/** Retries after failures on every URL: from this, doubling up to the maximum, with jitter. */
const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;
/** A 304 that came back much sooner than the wait (a broker shutting down, or one that does not hold) is not repeated sooner than this. */
const MIN_POLL_MS = 1_000;
/** Answers that no retry can change: the certificate, the path or the request is refused. */
const FATAL_STATUSES = new Set([400, 401, 403, 404, 405]);

/** A failure retrying cannot fix (exit 1). */
export class WatchFailure extends Error {}

interface Answer {
  status: number;
  etag?: string;
  body: string;
}

/**
 * Watches one node's view. The first view and every view with a new ETag run the command
 * (never twice for one ETag: a failover or a restart answers 304 or the same tag), unless
 * the view is byte for byte the one the command last got: the tag names the environment's
 * version, so a change in another category, or a policy reload that shows this node
 * nothing new, moves it too (the broker renders equal views to equal bytes). Each request
 * is held by the broker for `waitMs` (`?wait=`), so a change arrives at once.
 */
export class ViewWatcher {
  private readonly agents: https.Agent[];
  private current?: ClientRequest;
  private stopped = false;
  private wakeSleep?: () => void;

  constructor(private readonly t: WatchTarget) {
    this.agents = t.urls.map(() => new https.Agent({ keepAlive: true, maxSockets: 1, ...t.tls }));
  }

  /** Returns when stop() was called; throws WatchFailure when the broker refuses this node for good. */
  async run(): Promise<void> {
    let etag: string | undefined;
    let ranFor: string | undefined;
    let ranWith: string | undefined; // digest of the view the command last got
    let at = 0; // index of the URL in use
    let failures = 0; // in a row, over every URL
    this.t.log(`watching ${this.t.urls[0]}${this.t.path}${this.t.urls.length > 1 ? ` (and ${this.t.urls.length - 1} more)` : ''}`);
    while (!this.stopped) {
      const base = this.t.urls[at];
      const started = Date.now();
      let answer: Answer;
      try {
        answer = await this.get(at, etag);
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof WatchFailure) throw err;
        failures++;
        at = (at + 1) % this.t.urls.length;
        // The next URL at once; once each has failed, a growing pause (jittered, so a fleet does not return in step).
        const delay = failures % this.t.urls.length === 0 ? this.backoff(failures / this.t.urls.length) : 0;
        this.t.log(`${base}: ${(err as Error).message}; trying ${this.t.urls[at]}${delay ? ` in ${(delay / 1000).toFixed(1)} s` : ''}`);
        await this.sleep(delay);
        continue;
      }
      failures = 0;
      if (answer.status === 200) {
        etag = answer.etag;
        const digest = createHash('sha256').update(answer.body).digest('hex');
        if ((etag === undefined || etag !== ranFor) && digest !== ranWith) {
          await this.runCommand(answer.body, etag, base);
          ranWith = digest;
        }
        ranFor = etag;
      } else if (answer.status === 304) {
        if (Date.now() - started < Math.min(MIN_POLL_MS, this.t.waitMs)) await this.sleep(MIN_POLL_MS);
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.current?.destroy();
    this.wakeSleep?.();
    for (const a of this.agents) a.destroy();
  }

  /** One held GET; a non-2xx/304 answer throws (WatchFailure when retrying cannot help). */
  private get(at: number, etag: string | undefined): Promise<Answer> {
    const base = this.t.urls[at];
    const url = `${base}${this.t.path}?wait=${Math.round(this.t.waitMs / 1000)}s`;
    // The broker holds up to the wait plus 1/16 of it; anything longer is a dead connection.
    const timeoutMs = this.t.waitMs + this.t.waitMs / 16 + 15_000;
    return new Promise((resolve, reject) => {
      const req = https.get(
        url,
        { agent: this.agents[at], headers: { Accept: 'application/json', ...(etag ? { 'If-None-Match': etag } : {}) } },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_VIEW_BYTES) req.destroy(new Error(`sent more than ${MAX_VIEW_BYTES} bytes`));
            else chunks.push(c);
          });
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const body = Buffer.concat(chunks).toString('utf8');
            const tag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
            if (status === 200 || status === 304) return resolve({ status, etag: tag, body });
            const why = errorText(status, body);
            reject(FATAL_STATUSES.has(status) ? new WatchFailure(`${base} refused the watch: ${why}`) : new Error(why));
          });
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)));
      req.on('error', (err) => reject(err instanceof WatchFailure ? err : new Error(transportText(err as NodeJS.ErrnoException))));
      this.current = req;
    }).finally(() => {
      this.current = undefined;
    }) as Promise<Answer>;
  }

  /** Runs the command with the view on stdin and waits for it: one line says what changed and how it went. */
  private runCommand(view: string, etag: string | undefined, base: string): Promise<void> {
    const started = Date.now();
    return new Promise((resolve) => {
      const child = spawn('/bin/sh', ['-c', this.t.command], {
        stdio: ['pipe', 'inherit', 'inherit'],
        env: { ...process.env, EXPORTFACT_ETAG: etag ?? '', EXPORTFACT_SERVER_URL: base },
      });
      // A command that does not read its stdin closes the pipe: that is its business, not a failure.
      child.stdin.on('error', () => undefined);
      child.stdin.end(view);
      const done = (result: string) => {
        this.t.log(`view ${etag ?? '(no ETag)'} from ${base}: ran the command, ${result} (${Date.now() - started} ms)`);
        resolve();
      };
      child.on('error', (err) => done(`could not start it: ${err.message}`));
      child.on('close', (code, signal) => done(signal ? `killed by ${signal}` : `exit ${code}`));
    });
  }

  private backoff(round: number): number {
    const ceiling = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.min(round - 1, 10));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeSleep = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** The broker's error code and message, shown on one line. */
function errorText(status: number, body: string): string {
  try {
    const e = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }).error;
    if (typeof e?.code === 'string') return printable(`${status} ${e.code}: ${String(e.message ?? '')}`);
  } catch {
    /* not JSON: say the status */
  }
  return `HTTP ${status}`;
}

function transportText(err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'ECONNRESET') return 'connection reset';
  if (/CERT|SELF_SIGNED|UNABLE_TO|ALTNAME/.test(err.code ?? ''))
    return `the broker's certificate is not trusted by the ssldir's CA (${err.code})`;
  return err.message;
}
