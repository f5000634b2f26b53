import { applyMigration, loadMigrations, type Migration, SCHEMA_MIGRATIONS_DDL } from '../db/migrate';
import { LOCK_MIGRATIONS, type Queryable, type Store } from '../db/store';
import { ConfigError } from '../errors/config-error';
import { SnapshotFormatError, type SnapshotHeader, SnapshotShape, type SnapshotSummary, type TableLine } from './snapshot-format';
import { insertStatement, quoteIdent, readCatalog, type TableSpec } from './table-catalog';

export interface ImportResult {
  header: SnapshotHeader;
  summary: SnapshotSummary;
  rows: number;
  /** Migrations newer than the snapshot, applied after its rows (as an upgrade would). */
  migrated: number[];
}

/** Rows per INSERT, and characters: one statement stays small on both stores. */
const BATCH_ROWS = 1000;
const BATCH_CHARS = 4 * 1024 * 1024;

type Session = Queryable & { exec(sql: string): Promise<void> };

/**
 * Loads a snapshot into an empty store, all of it in ONE transaction: the schema is built by
 * the migrations the snapshot names (so it is exactly the one the rows came from), the rows
 * go in table by table (identity values kept, their sequences set after), the counts are
 * checked against the end line, then the newer migrations run as an upgrade would run them.
 * Anything wrong rolls everything back: an interrupted or refused restore leaves the store as
 * empty as it was. Held under the migrations lock, so a broker starting on the same database
 * meanwhile waits and then finds the restored schema.
 *
 * @param target names the store in messages ("database postgres://…/x", "data directory d")
 */
export async function importSnapshot(
  store: Store,
  lines: AsyncIterable<string>,
  source: string,
  target: string,
  migrations: Migration[] = loadMigrations(),
): Promise<ImportResult> {
  return store.withLock(LOCK_MIGRATIONS, async (db) => {
    await db.exec('BEGIN');
    try {
      await refuseNonEmpty(db, target);
      await db.exec("SET LOCAL TimeZone = 'UTC'");
      const result = await load(db, lines, source, migrations);
      await db.exec('COMMIT');
      return result;
    } catch (err) {
      await db.exec('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

/** "Nothing overwritten": a store that holds any table (data, or even an empty exportfact schema) is refused. */
export async function refuseNonEmpty(db: Queryable, target: string): Promise<void> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') ORDER BY c.relname`,
  );
  if (!rows.length) return;
  const names = rows.map((r) => r.name);
  const what = names.includes('schema_migrations') ? 'an exportfact schema' : 'tables';
  throw new ConfigError(
    `${target} already holds ${what} (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}); restore only into an empty one (createdb a new database, or a new --data-dir), nothing was written`,
  );
}

async function load(db: Session, lines: AsyncIterable<string>, source: string, migrations: Migration[]): Promise<ImportResult> {
  const shape = new SnapshotShape(source);
  let catalog: Map<string, TableSpec> | undefined;
  let current: TableSpec | undefined;
  let batch: string[] = [];
  let batchChars = 0;
  let total = 0;
  const inserted = new Map<string, number>();

  const flush = async () => {
    if (!current || !batch.length) return;
    const { rowCount } = await db.query(insertStatement(current), [`[${batch.join(',')}]`]);
    if (rowCount !== batch.length)
      throw new SnapshotFormatError(
        `${source}: ${batch.length - rowCount} row(s) of ${current.name} are not arrays of its ${current.columns.length} columns; nothing was written`,
      );
    inserted.set(current.name, (inserted.get(current.name) ?? 0) + rowCount);
    total += rowCount;
    batch = [];
    batchChars = 0;
  };

  for await (const text of lines) {
    const line = shape.accept(text);
    switch (line.kind) {
      case 'header':
        catalog = await buildSchema(db, line.header, migrations);
        break;
      case 'table':
        await flush();
        current = matchTable(catalog!, line.table);
        break;
      case 'row':
        batch.push(line.text);
        batchChars += line.text.length;
        if (batch.length >= BATCH_ROWS || batchChars >= BATCH_CHARS) await flush();
        break;
      case 'end':
        await flush();
        current = undefined;
        break;
    }
  }
  const { header, summary } = shape.finish();
  const absent = [...catalog!.keys()].filter((name) => !shape.counted.has(name));
  if (absent.length)
    throw new SnapshotFormatError(`the snapshot lacks table(s) ${absent.join(', ')} of schema version ${header.schema_version}`);
  for (const [table, n] of shape.counted) {
    if ((inserted.get(table) ?? 0) !== n)
      throw new SnapshotFormatError(`table ${table}: ${inserted.get(table) ?? 0} of ${n} rows restored`);
  }
  for (const t of catalog!.values()) await setIdentitySequences(db, t);
  const newer = migrations.filter((m) => m.version > header.schema_version);
  for (const m of newer) await applyMigration(db, m);
  return { header, summary, rows: total, migrated: newer.map((m) => m.version) };
}

/**
 * The schema the snapshot was taken from: this code's migrations up to the snapshot's version,
 * which must be the very ones the snapshot names. Rows the migrations seed (the audit chain's
 * genesis) are cleared, as the snapshot holds the real ones.
 */
async function buildSchema(db: Session, header: SnapshotHeader, migrations: Migration[]): Promise<Map<string, TableSpec>> {
  const wanted = checkSchemaKnown(header, migrations);
  await db.exec(SCHEMA_MIGRATIONS_DDL);
  for (const m of wanted) await applyMigration(db, m);
  const tables = await readCatalog(db);
  for (const t of [...tables].reverse()) await db.query(`DELETE FROM ${quoteIdent(t.name)}`);
  return new Map(tables.map((t) => [t.name, t]));
}

/**
 * The migrations that build the snapshot's schema: this code's, up to the snapshot's version,
 * which must be the very ones the snapshot names. A newer or foreign schema is refused.
 */
export function checkSchemaKnown(header: SnapshotHeader, migrations: Migration[]): Migration[] {
  const newest = migrations.length ? migrations[migrations.length - 1].version : 0;
  if (header.schema_version > newest) {
    throw new ConfigError(
      `the snapshot's schema version ${header.schema_version} (exportfact ${header.exportfact_version}) is newer than this exportfact knows (${newest}); use exportfact ${header.exportfact_version} or later; nothing was written`,
    );
  }
  const wanted = migrations.filter((m) => m.version <= header.schema_version);
  const names = wanted.map((m) => m.name);
  if (names.join() !== header.migrations.join()) {
    throw new ConfigError(
      `the snapshot's migrations (${header.migrations.join(', ')}) are not this exportfact's (${names.join(', ')}); use the exportfact that made it; nothing was written`,
    );
  }
  return wanted;
}

/** The snapshot's table must be this schema's table, column for column. */
function matchTable(catalog: Map<string, TableSpec>, line: TableLine): TableSpec {
  const t = catalog.get(line.table);
  if (!t) throw new SnapshotFormatError(`the snapshot holds a table ${line.table} this schema version does not have`);
  const ours = t.columns.map((c) => `${c.name} ${c.type}`).join(', ');
  const theirs = line.columns.map((c) => `${c.name} ${c.type}`).join(', ');
  if (ours !== theirs) throw new SnapshotFormatError(`table ${line.table}: the snapshot has columns (${theirs}), the schema (${ours})`);
  return t;
}

/** Identity columns were written with OVERRIDING SYSTEM VALUE: their sequences continue after the highest restored value. */
async function setIdentitySequences(db: Queryable, t: TableSpec): Promise<void> {
  for (const column of t.identity) {
    await db.query(
      `SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(m, 1), m IS NOT NULL) FROM (SELECT max(${quoteIdent(column)}) AS m FROM ${quoteIdent(t.name)}) AS x`,
      [quoteIdent(t.name), column],
    );
  }
}
