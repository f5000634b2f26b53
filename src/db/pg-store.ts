import pg from 'pg';
import { classifyStoreError, isConnectionFailure } from '../errors/store-errors';
import { PgListener } from './pg-listener';
import { normaliseRow, type QueryResult, type Store, type Transaction, transactionHandle } from './store';

/** How long a request waits for a pooled connection, and for the answer to one statement. */
export const CONNECT_TIMEOUT_MS = 3000;
export const QUERY_TIMEOUT_MS = 4000;
/** Statements run under a cluster-wide lock (migrations, key re-sealing) may take their time. */
const LOCKED_QUERY_TIMEOUT_MS = 60 * 60 * 1000;

/** int8 as JS number: counts and ids stay far below 2^53. Scoped to our pools, not global. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/** Every statement goes through here: rows normalised, connection failures turned into StoreUnavailableError. */
async function run<T>(client: pg.Pool | pg.PoolClient, sql: string, params?: unknown[], timeoutMs?: number): Promise<QueryResult<T>> {
  try {
    const r = await client.query({
      text: sql,
      values: params as unknown[],
      ...(timeoutMs ? { query_timeout: timeoutMs } : {}),
    } as pg.QueryConfig);
    return { rows: r.rows.map((row) => normaliseRow<T>(row)), rowCount: r.rowCount ?? 0 };
  } catch (err) {
    throw classifyStoreError(err);
  }
}

/**
 * A client checked out of the pool, for one transaction or lock. While a client is checked
 * out the pool does not listen to it, and `pg` emits an 'error' event when its connection is
 * cut even between statements (while the broker seals a value, say): without a listener that
 * event ends the process. So one is attached for exactly as long as the client is out, and a
 * client whose connection failed is released *with* the error, so the pool discards it
 * instead of handing the corpse to the next request.
 */
class Checkout {
  private broken?: Error;
  private readonly onError = (err: Error) => {
    this.broken ??= err;
  };

  /** @param timeoutMs per statement, when it is not the pool's (locked work may take longer) */
  constructor(
    private readonly client: pg.PoolClient,
    private readonly timeoutMs?: number,
  ) {
    client.on('error', this.onError);
  }

  query<T>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    return this.guard(() => run<T>(this.client, sql, params, this.timeoutMs));
  }

  /** Several statements in one string (migrations): no rows wanted. */
  exec(sql: string): Promise<void> {
    return this.guard(async () => {
      try {
        await this.client.query({ text: sql, ...(this.timeoutMs ? { query_timeout: this.timeoutMs } : {}) } as pg.QueryConfig);
      } catch (err) {
        throw classifyStoreError(err);
      }
    });
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isConnectionFailure(err)) this.broken ??= err as Error;
      throw err;
    }
  }

  /** The session's state is unknown (a ROLLBACK or unlock failed): never reuse it. */
  discard(err: unknown): void {
    this.broken ??= err instanceof Error ? err : new Error(String(err));
  }

  release(): void {
    this.client.removeListener('error', this.onError);
    // The pool attaches its own idle listener again before anything else can happen.
    this.client.release(this.broken);
  }
}

export class PgStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;

  constructor(
    private readonly connectionString: string,
    options: { max?: number; applicationName?: string } = {},
  ) {
    this.pool = new pg.Pool({
      connectionString,
      max: options.max ?? 10,
      application_name: options.applicationName ?? 'exportfact',
      types,
      // Within an agent's read timeout (the module's default is 5 s): a request waiting for a
      // connection, or for an answer from a server that went silent, gets 503 before the agent gives up.
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
    });
    // An idle client losing its server must not crash the broker; the pool drops it and the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  query<T>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    // pool.query listens to its client for the one statement and releases a failed one with the error.
    return run<T>(this.pool, sql, params);
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.withCheckout(undefined, async (c) => {
      await c.query('BEGIN');
      const handle = transactionHandle((sql, params) => c.query(sql, params));
      let result: T;
      try {
        result = await fn(handle.tx);
      } catch (err) {
        await c.query('ROLLBACK').catch((rollbackErr: unknown) => c.discard(rollbackErr));
        throw err;
      }
      // A COMMIT cut before its answer may or may not have committed: the caller answers 503, so it
      // was never acknowledged; a client that retries publishes the same value and changes nothing.
      await c.query('COMMIT');
      handle.committed();
      return result;
    });
  }

  async withLock<T>(key: number, fn: Parameters<Store['withLock']>[1]): Promise<T> {
    return this.withCheckout(LOCKED_QUERY_TIMEOUT_MS, async (c) => {
      await c.query('SELECT pg_advisory_lock($1)', [key]);
      try {
        return (await fn({
          query: (sql, params) => c.query(sql, params),
          exec: (sql) => c.exec(sql),
        })) as T;
      } finally {
        // A session that cannot unlock must not go back to the pool still holding the lock.
        await c.query('SELECT pg_advisory_unlock($1)', [key]).catch((err: unknown) => c.discard(err));
      }
    });
  }

  private async withCheckout<T>(timeoutMs: number | undefined, fn: (c: Checkout) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw classifyStoreError(err);
    }
    const c = new Checkout(client, timeoutMs);
    try {
      return await fn(c);
    } finally {
      c.release();
    }
  }

  /** A dedicated connection (LISTEN needs one), re-established with a back-off when it drops or stops answering. */
  async listen(channel: string, onMessage: (payload: string) => void, onReset: (listening: boolean) => void): Promise<() => Promise<void>> {
    const listener = new PgListener({ connectionString: this.connectionString, channel, onMessage, onReset });
    await listener.start();
    return () => listener.stop();
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
