import { LOCK_BACKUP, type Queryable, type Store } from '../db/store';
import { endText, headerText, SNAPSHOT_FORMAT, type SnapshotHeader, type SnapshotSummary, tableText } from './snapshot-format';
import { quoteIdent, readCatalog, selectStatement, type TableSpec } from './table-catalog';

/** Where the lines of a snapshot go (a file, an HTTP answer, another store); awaited, so a slow reader slows the export. */
export type LineSink = (lines: string[]) => Promise<void>;

/** Rows fetched per round trip: small enough to keep memory flat, large enough that round trips do not dominate. */
const FETCH_ROWS = 2000;

/** The exportfact version that wrote a snapshot (package.json at the package root, beside dist/). */
export function exportfactVersion(): string {
  return (require('../../../package.json') as { version: string }).version;
}

/**
 * Writes every table of the store, in dependency order, as one consistent snapshot: a single
 * READ ONLY transaction at REPEATABLE READ, so every table is read as of the same instant while
 * brokers go on writing (PostgreSQL), or while they wait (the embedded store: PGlite has one
 * session, so its mutex is held and the broker pauses for the length of the export).
 *
 * Why a logical export rather than pg_dump: one format for both stores (PGlite has no pg_dump and
 * cannot read its archives), restorable into either store (`migrate-store` is this export piped
 * into the importer), no client binary to match with the server's major version, and restored
 * through the same migrations as an upgrade, so a backup of an older schema comes back current.
 * The snapshot is what pg_dump would take too: one repeatable-read transaction.
 *
 * Rows are copied verbatim: secrets stay sealed with their row's address (environment, category,
 * name, exporter, version) as additional data, not database ids, so they open with the same
 * keyring after a restore; the audit chain's hashes cover row contents, so it verifies intact.
 */
export async function exportSnapshot(store: Store, write: LineSink): Promise<{ header: SnapshotHeader; summary: SnapshotSummary }> {
  return store.withLock(LOCK_BACKUP, async (db) => {
    await db.exec('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      // Timestamps as UTC text: a snapshot reads the same whatever zone the server runs in.
      await db.exec("SET LOCAL TimeZone = 'UTC'");
      const header = await snapshotHeader(db, store.kind);
      await write([headerText(header)]);
      const tables = await readCatalog(db);
      const rows: Record<string, number> = {};
      for (const t of tables) rows[t.name] = await exportTable(db, t, write);
      const summary: SnapshotSummary = { rows, ...(await keysAndChain(db, tables)) };
      await write([endText(summary)]);
      await db.exec('COMMIT');
      return { header, summary };
    } catch (err) {
      await db.exec('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

async function snapshotHeader(db: Queryable, store: Store['kind']): Promise<SnapshotHeader> {
  const exists = await db.query<{ found: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS found");
  if (!exists.rows[0].found) throw new Error('this database holds no exportfact schema (no schema_migrations table)');
  const { rows } = await db.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
  return {
    format: SNAPSHOT_FORMAT,
    exportfact_version: exportfactVersion(),
    store,
    taken_at: new Date().toISOString(),
    schema_version: rows.length ? rows[rows.length - 1].version : 0,
    migrations: rows.map((r) => r.name),
  };
}

async function exportTable(db: Queryable, t: TableSpec, write: LineSink): Promise<number> {
  await write([tableText({ table: t.name, columns: t.columns, identity: t.identity, primary_key: t.primaryKey })]);
  await db.query(`DECLARE exportfact_snapshot NO SCROLL CURSOR FOR ${selectStatement(t)}`);
  let count = 0;
  for (;;) {
    const { rows } = await db.query<{ r: string }>(`FETCH FORWARD ${FETCH_ROWS} FROM exportfact_snapshot`);
    if (!rows.length) break;
    count += rows.length;
    await write(rows.map((row) => row.r));
  }
  await db.query('CLOSE exportfact_snapshot');
  return count;
}

/** What a restore must have and what it can be checked against, read inside the same snapshot. */
async function keysAndChain(db: Queryable, tables: TableSpec[]): Promise<Omit<SnapshotSummary, 'rows'>> {
  const has = (name: string) => tables.some((t) => t.name === name);
  const chain = has('audit_chain')
    ? (await db.query<{ seq: number; hash: Buffer }>(`SELECT seq, hash FROM ${quoteIdent('audit_chain')}`)).rows[0]
    : undefined;
  const sealing = has('secret_versions')
    ? (await db.query<{ key_id: string }>('SELECT DISTINCT key_id FROM secret_versions WHERE ciphertext IS NOT NULL ORDER BY key_id')).rows
    : [];
  const state = has('keyring_state')
    ? (await db.query<{ write_key_id: string }>('SELECT write_key_id FROM keyring_state')).rows[0]
    : undefined;
  return {
    audit_chain: chain ? { seq: chain.seq, hash: chain.hash.toString('hex') } : null,
    key_ids: sealing.map((r) => r.key_id),
    write_key_id: state?.write_key_id ?? null,
  };
}
