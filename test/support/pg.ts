import pg from 'pg';
import type { StoreConfig } from '../../src/config/serve-config';
import { removeTempDir, tempDir } from './temp';

/** The server the store suites use; each suite gets a database of its own on it. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function pgAvailable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return `${DATABASE_URL}: ${(err as Error).message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export const skipPg = () => process.env.EXPORTFACT_SKIP_PG === '1';

/** Creates an empty database for one suite and returns its URL; drop() removes it. */
export async function createTestDatabase(label: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `exportfact_${label}_${process.pid}_${Date.now().toString(36)}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** One of the two stores a suite runs on; `cleanup` drops its database or folder. */
export interface StoreCase {
  label: 'embedded' | 'postgres';
  config(): Promise<StoreConfig>;
  cleanup(): Promise<void>;
}

/** The embedded store and, unless EXPORTFACT_SKIP_PG=1, a PostgreSQL database of the suite's own. */
export function pgStoreConfigs(label: string): StoreCase[] {
  let dir: string | undefined;
  let db: { drop(): Promise<void> } | undefined;
  const embedded: StoreCase = {
    label: 'embedded',
    async config() {
      dir = tempDir(label);
      return { kind: 'embedded', dataDir: dir };
    },
    async cleanup() {
      removeTempDir(dir);
    },
  };
  const postgres: StoreCase = {
    label: 'postgres',
    async config() {
      const created = await createTestDatabase(label);
      db = created;
      return { kind: 'postgres', url: created.url };
    },
    async cleanup() {
      await db?.drop();
    },
  };
  return skipPg() ? [embedded] : [embedded, postgres];
}
