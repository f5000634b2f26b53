import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors/config-error';
import { LOCK_MIGRATIONS, type Queryable, type Store } from './store';

/** sql/ at the package root, next to dist/ whether run from dist/src or dist/test. */
export const SQL_DIR = path.resolve(__dirname, '..', '..', '..', 'sql');

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function loadMigrations(dir = SQL_DIR): Migration[] {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
  return files.map((file) => ({
    version: Number(file.slice(0, 4)),
    name: file.replace(/\.sql$/, ''),
    sql: fs.readFileSync(path.join(dir, file), 'utf8'),
  }));
}

/** The table that records which migrations a database has had. */
export const SCHEMA_MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;

type MigrationSession = Queryable & { exec(sql: string): Promise<void> };

/** Runs one migration and records it, inside a transaction the caller holds open. */
export async function applyMigration(db: MigrationSession, m: Migration): Promise<void> {
  await db.exec(m.sql);
  await db.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
}

/**
 * Applies pending migrations, each in its own transaction, under an advisory lock so
 * that several brokers starting at once on one database apply each file exactly once.
 * Refuses a database whose schema is newer than this code knows.
 */
export async function migrate(store: Store, migrations = loadMigrations()): Promise<number[]> {
  return store.withLock(LOCK_MIGRATIONS, async (db) => {
    await db.exec(SCHEMA_MIGRATIONS_DDL);
    const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    const applied = new Set(rows.map((r) => r.version));
    const newest = migrations.length ? migrations[migrations.length - 1].version : 0;
    const unknown = rows.filter((r) => r.version > newest);
    if (unknown.length) {
      // An operator's situation, not a fault: a newer broker already migrated this database (a
      // rolling upgrade). One line, exit 2; this broker touches nothing, the others keep serving.
      throw new ConfigError(
        `database schema is at version ${unknown[unknown.length - 1].version}, newer than this exportfact knows (${newest}): a newer exportfact has migrated it; upgrade exportfact on this host`,
      );
    }
    const done: number[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      await db.exec('BEGIN');
      try {
        await applyMigration(db, m);
        await db.exec('COMMIT');
      } catch (err) {
        // On a cut connection ROLLBACK fails too (the server rolled back already): report the first error.
        await db.exec('ROLLBACK').catch(() => undefined);
        throw new Error(`migration ${m.name} failed: ${(err as Error).message}`);
      }
      done.push(m.version);
    }
    return done;
  });
}
