// The stores under test: a fresh PostgreSQL database per run (dropped afterwards) or a fresh
// embedded data folder, and the 100,000-fact data set, written straight into the broker's
// schema (sql/0001_facts.sql): through the API it would take minutes (one transaction each).
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { StoreConfig } from '../src/config/serve-config';
import { openStore } from '../src/db/open-store';

export type StoreKind = 'embedded' | 'postgres';

export interface BenchStore {
  kind: StoreKind;
  /** What `exportfact serve` is given: --data-dir DIR or --database-url URL. */
  serveArgs(instance: string): { dataDir: string } | { databaseUrl: string };
  /** The PostgreSQL database name whose backends count as server CPU (postgres only). */
  database?: string;
  /** Its URL (postgres only). */
  url?: string;
  drop(): Promise<void>;
}

/** `suffix` names a second database of the same run (secrets, audit): exportfact_bench_<pid>_<suffix>. */
export async function createStore(kind: StoreKind, tmp: string, adminUrl: string, suffix?: string): Promise<BenchStore> {
  if (kind === 'embedded') {
    // One folder per broker process: PGlite is single-process by design.
    return {
      kind,
      serveArgs: (instance) => ({ dataDir: path.join(tmp, `data-${instance}`) }),
      drop: async () => fs.rmSync(path.join(tmp), { recursive: true, force: true }),
    };
  }
  const database = `exportfact_bench_${process.pid}${suffix ? `_${suffix}` : ''}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return {
    kind,
    database,
    url: url.toString(),
    serveArgs: () => ({ databaseUrl: url.toString() }),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * Inserts `count` single facts into `environment` as one exporter would have published them
 * (version 1, a history row each) and bumps the environment's view version, in one transaction.
 * Run before the broker starts: the embedded folder admits one process at a time.
 */
export async function bulkLoadFacts(
  args: { dataDir: string } | { databaseUrl: string },
  environment: string,
  count: number,
): Promise<number> {
  const config: StoreConfig = 'dataDir' in args ? { kind: 'embedded', dataDir: args.dataDir } : { kind: 'postgres', url: args.databaseUrl };
  const store = await openStore(config);
  const started = Date.now();
  try {
    await store.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO environments (name, view_version) VALUES ($1, 1)
         ON CONFLICT (name) DO UPDATE SET view_version = environments.view_version + 1`,
        [environment],
      );
      await tx.query(
        `INSERT INTO facts (environment, category, name, multi, sensitive, version)
         SELECT $1, 'c' || lpad((i / 1000)::text, 3, '0'), 'f' || lpad((i % 1000)::text, 4, '0'), false, false, 1
           FROM generate_series(0, $2::int - 1) AS i`,
        [environment, count],
      );
      await tx.query(
        `INSERT INTO fact_values (fact_id, exporter, value, version)
         SELECT id, 'writer.bench', jsonb_build_object('host', 'node-' || id || '.example.com', 'port', 5432,
                'url', 'postgres://svc@node-' || id || '.example.com:5432/app'), 1
           FROM facts WHERE environment = $1`,
        [environment],
      );
      await tx.query(
        `INSERT INTO fact_history (fact_id, version, exporter, action, value)
         SELECT v.fact_id, 1, v.exporter, 'create', v.value FROM fact_values v JOIN facts f ON f.id = v.fact_id
          WHERE f.environment = $1`,
        [environment],
      );
    });
  } finally {
    await store.close();
  }
  return (Date.now() - started) / 1000;
}

/** A fact value shaped like what Kickstack roles share: endpoints, URLs, small objects. */
export function factValue(i: number): unknown {
  if (i % 3 === 0) return `mysql://svc_${i}@db${i % 7}.example.com:3306/service_${i}`;
  return {
    host: `node-${i}.example.com`,
    port: 5000 + (i % 1000),
    url: `https://node-${i}.example.com:${5000 + (i % 1000)}/v3`,
    tls: i % 2 === 0,
  };
}
