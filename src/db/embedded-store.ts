import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Mutex } from 'async-mutex';
import { classifyStoreError, StoreUnavailableError } from '../errors/store-errors';
import { dataDirInUse, lockDataDir } from './data-dir-lock';
import { normaliseRow, type Queryable, type QueryResult, type Store, type Transaction, transactionHandle } from './store';

export interface EmbeddedStoreOptions {
  /** A lock whose holder cannot be checked (another host) is taken for abandoned after this long. */
  lockStaleMs?: number;
  /** Tells the operator what a start waits for while another process holds the folder. */
  say?: (message: string, fields: Record<string, unknown>) => void;
}

/**
 * The embedded default: PostgreSQL compiled to WASM (PGlite), persisted in a folder.
 *
 * PGlite has ONE session for every caller: advisory locks do not exclude and a
 * transaction would interleave with other callers' queries. So every operation goes
 * through one in-process mutex, and the data folder is locked so that a second
 * process cannot open it (two processes on one folder were measured to lose writes).
 */
export class EmbeddedStore implements Store {
  readonly kind = 'embedded' as const;
  private readonly mutex = new Mutex();
  /** Set once the folder's lock is lost: from then on every operation fails with it. */
  private lockLost?: StoreUnavailableError;

  private constructor(
    private readonly db: PGlite,
    private readonly releaseFolder: () => Promise<void>,
  ) {}

  /**
   * Whether a live process (a broker) holds the folder's lock now. A lock left by a killed
   * process goes stale and counts as free, as open() would take it over.
   */
  static inUse(dataDir: string): Promise<boolean> {
    return dataDirInUse(dataDir);
  }

  static async open(dataDir: string, opts: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // proper-lockfile's default for a lock it can no longer keep (its file removed, or taken over
    // by another process after this one stalled) is to throw from a timer, which ends the
    // process. Instead this broker stops using the folder: another process may be writing it
    // now, and two writers lose data. Requests get 503 until it is restarted.
    let store: EmbeddedStore | undefined;
    let lostEarly: Error | undefined;
    const onCompromised = (err: Error) => (store ? store.loseLock(err) : (lostEarly = err));
    const release = await lockDataDir(dataDir, { staleMs: opts.lockStaleMs, say: opts.say, onCompromised });
    try {
      const db = await PGlite.create(path.join(dataDir, 'pgdata'));
      store = new EmbeddedStore(db, release);
      if (lostEarly) store.loseLock(lostEarly);
      return store;
    } catch (err) {
      await release();
      throw err;
    }
  }

  private loseLock(err: Error): void {
    this.lockLost ??= new StoreUnavailableError(
      new Error(
        `the lock on the embedded data directory was lost (${err.message}); another process may be using the folder, so this broker no longer reads or writes it: restart it`,
      ),
    );
  }

  private async raw<T>(q: Queryable | PGlite, sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    if (this.lockLost) throw this.lockLost;
    try {
      const r = await (q as PGlite).query<Record<string, unknown>>(sql, params);
      return { rows: r.rows.map((row) => normaliseRow<T>(row)), rowCount: r.affectedRows ?? r.rows.length };
    } catch (err) {
      throw classifyStoreError(err);
    }
  }

  /** Runs fn alone (PGlite has one session); nothing starts once the folder's lock is lost. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.runExclusive(() => {
      if (this.lockLost) throw this.lockLost;
      return fn();
    });
  }

  query<T>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    return this.exclusive(() => this.raw<T>(this.db, sql, params));
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      let committed: () => void = () => undefined;
      const result = await this.db.transaction((pgTx) => {
        const handle = transactionHandle((sql, params) => this.raw(pgTx as unknown as PGlite, sql, params));
        committed = handle.committed;
        return fn(handle.tx);
      });
      committed();
      return result;
    });
  }

  withLock<T>(_key: number, fn: Parameters<Store['withLock']>[1]): Promise<T> {
    // One process owns the folder, and the mutex serialises it: that is the lock.
    return this.exclusive(
      async () =>
        (await fn({
          query: (sql, params) => this.raw(this.db, sql, params),
          exec: async (sql) => {
            if (this.lockLost) throw this.lockLost;
            await this.db.exec(sql);
          },
        })) as T,
    );
  }

  async listen(channel: string, onMessage: (payload: string) => void, onReset: (listening: boolean) => void): Promise<() => Promise<void>> {
    // One process owns the folder: every NOTIFY comes from it, and PGlite delivers them back to it
    // in the same process, so none is ever missed while the store is open.
    const unlisten = await this.exclusive(() => this.db.listen(channel, onMessage));
    onReset(true);
    return unlisten;
  }

  async close(): Promise<void> {
    await this.mutex.runExclusive(() => this.db.close());
    // A lost lock is no longer ours to release.
    await this.releaseFolder().catch((err: unknown) => {
      if (!this.lockLost) throw err;
    });
  }
}
