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

  constructor(connectionString: string, options: { max?: number; applicationName?: string } = {}) {
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

  close(): Promise<void> {
    return this.pool.end();
  }
}
