import pg from 'pg';
import { normaliseRow, type Queryable, type QueryResult, type Store } from './store';

/** int8 as JS number: counts and ids stay far below 2^53. Scoped to our pools, not global. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

async function run<T>(client: pg.Pool | pg.PoolClient, sql: string, params?: unknown[]): Promise<QueryResult<T>> {
  const r = await client.query(sql, params as unknown[]);
  return { rows: r.rows.map((row) => normaliseRow<T>(row)), rowCount: r.rowCount ?? 0 };
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
      connectionTimeoutMillis: 5000,
    });
    // An idle client losing its server must not crash the broker; the next query reports it.
    this.pool.on('error', () => undefined);
  }

  query<T>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    return run<T>(this.pool, sql, params);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn({ query: (sql, params) => run(client, sql, params) });
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async withLock<T>(key: number, fn: Parameters<Store['withLock']>[1]): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [key]);
      try {
        return (await fn({
          query: (sql, params) => run(client, sql, params),
          exec: async (sql) => void (await client.query(sql)),
        })) as T;
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [key]);
      }
    } finally {
      client.release();
    }
  }

  /** A dedicated connection (LISTEN needs one), re-established with a back-off when it drops. */
  async listen(channel: string, onMessage: (payload: string) => void, onReset: (listening: boolean) => void): Promise<() => Promise<void>> {
    let client: pg.Client | undefined;
    let stopped = false;
    let retry: NodeJS.Timeout | undefined;
    const connect = async (delayMs: number): Promise<void> => {
      const c = new pg.Client({ connectionString: this.connectionString, application_name: 'exportfact-listen' });
      c.on('notification', (n) => n.channel === channel && onMessage(n.payload ?? ''));
      const lost = () => {
        if (client !== c) return;
        client = undefined;
        onReset(false);
        if (!stopped) retry = setTimeout(() => void connect(Math.min(delayMs * 2, 30_000)).catch(() => undefined), delayMs);
      };
      c.on('error', lost);
      c.on('end', lost);
      client = c;
      try {
        await c.connect();
        await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
        onReset(true);
      } catch (err) {
        lost();
        throw err;
      }
    };
    await connect(500);
    return async () => {
      stopped = true;
      clearTimeout(retry);
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    };
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
