/**
 * The one interface services and stores see. Two implementations: PostgreSQL through `pg`
 * (pg-store.ts) and the embedded PGlite default (embedded-store.ts). The same SQL runs on both.
 */
export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
}

/** A transaction in progress: queries, and work to do once it has committed. */
export interface Transaction extends Queryable {
  /** Runs fn after COMMIT succeeded (never after a rollback); fn must not throw. */
  afterCommit(fn: () => void): void;
}

export interface Store extends Queryable {
  readonly kind: 'embedded' | 'postgres';
  /** Runs fn in one transaction; rolls back when it throws. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Runs fn while holding a cluster-wide lock (session advisory lock on PostgreSQL). */
  withLock<T>(key: number, fn: (db: Queryable & { exec(sql: string): Promise<void> }) => Promise<T>): Promise<T>;
  /**
   * Subscribes to NOTIFY on a channel. `onReset(true)` says messages flow (from when it is
   * called), `onReset(false)` that they may be missed from now on (the listening connection
   * dropped or stopped answering); a cache fed by them trusts itself only in between. A
   * connection failure never rejects: it is reported through onReset and retried until the
   * returned function unsubscribes.
   */
  listen(channel: string, onMessage: (payload: string) => void, onReset: (listening: boolean) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** The Transaction handed to fn, and the after-commit work it collected. */
export function transactionHandle(query: Queryable['query']): { tx: Transaction; committed(): void } {
  const after: (() => void)[] = [];
  return {
    tx: { query, afterCommit: (fn) => void after.push(fn) },
    committed: () => {
      for (const fn of after) fn();
    },
  };
}

/** Advisory lock keys, one per purpose, so that unrelated locks never collide. */
export const LOCK_MIGRATIONS = 0x65786601; // "exf" + 1
/** Taken while a backup reads its snapshot: two backups queue, and on PostgreSQL its statements get the long timeout. */
export const LOCK_BACKUP = 0x65786602;

/**
 * pg and PGlite return int8 and bytea as different JS types; rows leave a store only
 * through this so callers always see numbers (int8 below 2^53) and Buffers.
 */
export function normaliseRow<T>(row: Record<string, unknown>): T {
  for (const key of Object.keys(row)) {
    const v = row[key];
    if (typeof v === 'bigint') row[key] = Number(v);
    else if (v instanceof Uint8Array && !Buffer.isBuffer(v)) row[key] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  }
  return row as T;
}
