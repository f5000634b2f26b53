import pg from 'pg';

export interface PgListenerOptions {
  connectionString: string;
  channel: string;
  onMessage(payload: string): void;
  /** false: notifications may be missed from now on; true: they flow again (see Store.listen). */
  onReset(listening: boolean): void;
  /** How often the connection is proven alive, and how long the proof may take. */
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
}

/** A cut connection is retried after this, doubling up to the maximum while it keeps failing. */
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

/**
 * One dedicated connection that LISTENs on a channel (LISTEN holds a session, so it cannot come
 * from the pool). NOTIFY has no replay: whatever is sent while this connection is down is lost,
 * so the subscriber is told at once (`onReset(false)`) and again when a new connection listens
 * (`onReset(true)`); it must not trust what it learnt from notifications in between.
 *
 * A connection can also die silently (a server host that vanished, a firewall that forgot the
 * flow): no error, no end, just no more notifications. A heartbeat query proves the connection
 * every few seconds; one that does not answer in time counts as lost. That bounds how long a
 * subscriber can go on trusting a dead feed.
 */
export class PgListener {
  private client?: pg.Client;
  private stopped = false;
  private retry?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;
  private retryMs = FIRST_RETRY_MS;
  private readonly heartbeatMs: number;
  private readonly heartbeatTimeoutMs: number;

  constructor(private readonly o: PgListenerOptions) {
    this.heartbeatMs = o.heartbeatMs ?? 3_000;
    this.heartbeatTimeoutMs = o.heartbeatTimeoutMs ?? 3_000;
  }

  /** The first attempt; on failure it goes on retrying in the background until stopped (it never throws). */
  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.heartbeat);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const c = new pg.Client({
      connectionString: this.o.connectionString,
      application_name: 'exportfact-listen',
      keepAlive: true,
      connectionTimeoutMillis: 5_000,
    });
    c.on('notification', (n) => {
      if (this.client === c && n.channel === this.o.channel) this.o.onMessage(n.payload ?? '');
    });
    // Every error of this client is handled here: an unhandled 'error' event would end the process.
    c.on('error', () => this.lost(c));
    c.on('end', () => this.lost(c));
    this.client = c;
    try {
      await c.connect();
      await c.query(`LISTEN ${pg.escapeIdentifier(this.o.channel)}`);
    } catch {
      this.lost(c);
      return;
    }
    if (this.client !== c) {
      c.end().catch(() => undefined); // lost or stopped while connecting
      return;
    }
    this.retryMs = FIRST_RETRY_MS;
    this.heartbeat = setInterval(() => void this.prove(c), this.heartbeatMs).unref();
    this.o.onReset(true);
  }

  /** A query that must come back in time; if it does not, the connection is as good as gone. */
  private async prove(c: pg.Client): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('heartbeat timed out')), this.heartbeatTimeoutMs).unref();
    });
    try {
      await Promise.race([c.query('SELECT 1'), timedOut]);
    } catch {
      this.lost(c);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Called for every sign of death (error, end, failed heartbeat); acts once per connection. */
  private lost(c: pg.Client): void {
    if (this.client !== c) return;
    this.client = undefined;
    clearInterval(this.heartbeat);
    this.o.onReset(false);
    // Not awaited: a dead peer may never answer the goodbye. Late events of c are ignored above.
    c.end().catch(() => undefined);
    if (this.stopped) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    this.retry = setTimeout(() => void this.connect(), delay).unref();
  }
}
