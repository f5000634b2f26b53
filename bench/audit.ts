// Audit (issue 5), on PostgreSQL: a generated history of `scale` sightings and `scale` events,
// loaded in bulk (INSERT … SELECT generate_series) into the broker's own schema with its
// indexes and keys dropped first and rebuilt after (each timed); then p50/p99 of "who saw X"
// and "what did N see" with the exact SQL the broker runs (AuditQueries, in process); the cost
// of one sighting upsert against that table (SecretStore.recordSighting); and, in a second
// database, a real hash chain (chainHash, as AuditLog.append computes it) walked by
// verifyAuditChain, plus the cost of AuditLog.append itself.
//
// The generated events are NOT hash-chained (their hashes are placeholders): the queries do
// not read hashes, and only `verify` needs a valid chain, which the second database has.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { type AuditEntry, chainHash } from '../src/audit/audit-entry';
import { AuditQueries } from '../src/audit/audit-queries';
import { verifyAuditChain } from '../src/audit/audit-verify';
import { auditFilesIn, openAudit } from '../src/audit/open-audit';
import { openStore } from '../src/db/open-store';
import type { Store } from '../src/db/store';
import { SecretStore } from '../src/secrets/secret-store';
import { PgBackends } from './cpu';
import { ms, msOf, percentile, printTable, type Row } from './report';
import { createStore } from './store';

const quiet = pino({ level: 'silent' });
const ENV = 'production';
const VERSIONS = 4; // per secret: 1 current, 1 previous, 2 destroyed
const DAYS = 90; // the history spans this many days

export function auditSizesFor(quick: boolean, scale?: number, chain?: number) {
  const s = scale ?? (quick ? 100_000 : 1_000_000);
  return {
    sightings: s,
    events: s,
    /** Secrets: each is seen by ~100 nodes per version, whatever the scale. */
    facts: Math.max(100, Math.round(s / 400)),
    /** Nodes: each has seen ~100 secret versions, whatever the scale. */
    nodes: Math.max(1000, Math.round(s / 10_000) * 100),
    chain: chain ?? (quick ? 20_000 : 100_000),
    queries: quick ? 200 : 500,
    upserts: quick ? 300 : 500,
    appends: quick ? 300 : 500,
  };
}
export type AuditSizes = ReturnType<typeof auditSizesFor>;

/** A deterministic pseudo-random sequence, so every run asks the same questions. */
function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; seconds: number }> {
  const t0 = performance.now();
  const result = await fn();
  return { result, seconds: (performance.now() - t0) / 1000 };
}

interface Saved {
  table: string;
  name: string;
  kind: 'pkey' | 'fkey' | 'index';
  definition: string;
}

/** The schema's own indexes and keys on a table, as SQL to recreate them. */
async function indexesOf(db: pg.Client, table: string): Promise<Saved[]> {
  const cons = await db.query<{ name: string; type: string; def: string; index: string | null }>(
    `SELECT conname AS name, contype AS type, pg_get_constraintdef(oid) AS def, conindid::regclass::text AS index
       FROM pg_constraint WHERE conrelid = $1::regclass AND contype IN ('p', 'f', 'u')`,
    [table],
  );
  const owned = new Set(cons.rows.map((c) => c.index).filter(Boolean));
  const idx = await db.query<{ name: string; def: string }>(
    'SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = $1',
    [table],
  );
  return [
    ...cons.rows
      .filter((c) => c.type !== 'f')
      .map((c): Saved => ({ table, name: c.name, kind: 'pkey', definition: `ALTER TABLE ${table} ADD CONSTRAINT ${c.name} ${c.def}` })),
    ...idx.rows.filter((i) => !owned.has(i.name)).map((i): Saved => ({ table, name: i.name, kind: 'index', definition: i.def })),
    ...cons.rows
      .filter((c) => c.type === 'f')
      .map((c): Saved => ({ table, name: c.name, kind: 'fkey', definition: `ALTER TABLE ${table} ADD CONSTRAINT ${c.name} ${c.def}` })),
  ];
}

async function dropAll(db: pg.Client, saved: Saved[]): Promise<void> {
  for (const s of saved.filter((x) => x.kind === 'fkey')) await db.query(`ALTER TABLE ${s.table} DROP CONSTRAINT ${s.name}`);
  for (const s of saved.filter((x) => x.kind === 'pkey')) await db.query(`ALTER TABLE ${s.table} DROP CONSTRAINT ${s.name}`);
  for (const s of saved.filter((x) => x.kind === 'index')) await db.query(`DROP INDEX ${s.name}`);
}

async function generate(url: string, z: AuditSizes) {
  const db = new pg.Client({ connectionString: url, application_name: 'exportfact-bench-load' });
  await db.connect();
  try {
    // Session settings for the load only: no server setting is changed.
    await db.query("SET synchronous_commit = off; SET maintenance_work_mem = '512MB'");
    const saved = [...(await indexesOf(db, 'secret_sightings')), ...(await indexesOf(db, 'audit_events'))];
    await dropAll(db, saved);
    const K = Math.ceil(z.sightings / (z.facts * VERSIONS)); // sightings per secret version
    if (K > z.nodes) throw new Error('audit scale: more sightings per version than nodes');
    const stride = Math.floor(z.nodes / K);
    const steps: Record<string, number> = {};
    steps.facts = (
      await timed(async () => {
        await db.query(
          `INSERT INTO facts (id, environment, category, name, multi, sensitive, version, generator)
             OVERRIDING SYSTEM VALUE
           SELECT f + 1, $1, 'c' || (f % 100), 's' || f, false, true, $3, '{"length": 32, "alphabet": "alnum"}'::jsonb
             FROM generate_series(0, $2::int - 1) AS f`,
          [ENV, z.facts, VERSIONS],
        );
        await db.query(
          `INSERT INTO secret_versions (fact_id, exporter, version, state, key_id, nonce, ciphertext, fingerprint, created_at, retired_at, expires_at, destroyed_at)
           SELECT f + 1, '@broker', v,
                  CASE WHEN v = $2 THEN 'current' WHEN v = $2 - 1 THEN 'previous' ELSE 'destroyed' END,
                  CASE WHEN v >= $2 - 1 THEN 'kbench' END,
                  CASE WHEN v >= $2 - 1 THEN substring(sha256(int4send(f * 8 + v)) FROM 1 FOR 24) END,
                  CASE WHEN v >= $2 - 1 THEN sha256(int4send(f * 8 + v)) || sha256(int4send(-f * 8 - v)) END,
                  sha256(int4send(f * 16 + v)),
                  now() - make_interval(days => $3 * ($2 - v + 1) / $2), 
                  CASE WHEN v < $2 THEN now() - make_interval(days => $3 * ($2 - v) / $2) END,
                  CASE WHEN v = $2 - 1 THEN now() + interval '1 day' END,
                  CASE WHEN v < $2 - 1 THEN now() - make_interval(days => $3 * ($2 - v - 1) / $2) END
             FROM generate_series(0, $1::int - 1) AS f, generate_series(1, $2::int) AS v`,
          [z.facts, VERSIONS, DAYS],
        );
      })
    ).seconds;
    // Sighting i: secret f = i mod F, version v, and the k-th of its readers: node (k·stride + 7919·f + 104729·v) mod N,
    // distinct within one secret version. Times spread over the history, later versions seen later.
    steps.sightings = (
      await timed(() =>
        db.query(
          `INSERT INTO secret_sightings (fact_id, exporter, version, certname, first_seen, last_seen, count)
           SELECT f + 1, '@broker', v, 'node' || ((k * $4 + 7919 * f + 104729 * v) % $3) || '.bench',
                  now() - make_interval(secs => ($5::float8 * 86400) * (($6 - v + 1)::float8 / $6) * (0.5 + 0.5 * (k::float8 / $7))),
                  now() - make_interval(secs => ($5::float8 * 86400) * (($6 - v)::float8 / $6) * (k::float8 / $7)),
                  1 + (i % 48)
             FROM (SELECT i, i % $2 AS f, (i / $2) % $6 + 1 AS v, i / ($2 * $6) AS k FROM generate_series(0, $1::bigint - 1) AS i) g`,
          [z.sightings, z.facts, z.nodes, stride, DAYS, VERSIONS, K],
        ),
      )
    ).seconds;
    steps.events = (
      await timed(() =>
        db.query(
          `INSERT INTO audit_events (seq, at, actor_kind, actor, action, environment, category, name, version, count, detail, prev_hash, hash)
           SELECT seq,
                  now() - make_interval(secs => $3::float8 * 86400 * (1 - seq::float8 / $1)),
                  CASE WHEN seq % 50 = 0 THEN 'admin' ELSE 'node' END,
                  CASE WHEN seq % 50 = 0 THEN 'admin' || (seq % 7) ELSE 'node' || ((seq * 7) % $2) || '.bench' END,
                  CASE WHEN seq % 50 = 0 THEN (ARRAY['secret.rotate', 'admin.secret.read'])[1 + seq % 2]
                       ELSE (ARRAY['fact.create', 'fact.change', 'fact.change', 'fact.withdraw', 'secret.generate', 'access.refused'])[1 + seq % 6] END,
                  $4, 'c' || ((seq % $5) % 100), 's' || (seq % $5), 1 + seq % 4, 1,
                  '{"multi": false, "sensitive": true}'::jsonb,
                  sha256(int8send(seq - 1)), sha256(int8send(seq))
             FROM generate_series(1, $1::bigint) AS seq`,
          [z.events, z.nodes, DAYS, ENV, z.facts],
        ),
      )
    ).seconds;
    await db.query('UPDATE audit_chain SET seq = $1', [z.events]);
    const build: { name: string; seconds: number }[] = [];
    for (const kind of ['pkey', 'index', 'fkey'] as const) {
      for (const s of saved.filter((x) => x.kind === kind))
        build.push({ name: `${s.table}.${s.name}`, seconds: (await timed(() => db.query(s.definition))).seconds });
    }
    steps.analyze = (await timed(() => db.query('ANALYZE facts, secret_versions, secret_sightings, audit_events'))).seconds;
    const sizes = (
      await db.query<{ name: string; table_mb: number; indexes_mb: number }>(
        `SELECT c.relname AS name, pg_table_size(c.oid) / 1048576.0 AS table_mb, pg_indexes_size(c.oid) / 1048576.0 AS indexes_mb
           FROM pg_class c WHERE c.relname IN ('secret_sightings', 'audit_events')`,
      )
    ).rows.map((r) => ({ name: r.name, tableMb: Number(r.table_mb), indexesMb: Number(r.indexes_mb) }));
    return { steps, indexBuild: build, sizes, perVersion: K };
  } finally {
    await db.end();
  }
}

interface QueryStats {
  calls: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanRows: number;
}

async function latencies(calls: number, warm: number, fn: (i: number) => Promise<unknown[]>): Promise<QueryStats> {
  for (let i = 0; i < warm; i++) await fn(i + 1_000_000);
  const lat: number[] = [];
  let rows = 0;
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    const r = await fn(i);
    lat.push(performance.now() - t0);
    rows += r.length;
  }
  return { calls, p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), maxMs: Math.max(...lat), meanRows: rows / calls };
}

/** A store that remembers the last statement it ran, so its plan can be shown without copying the SQL. */
function recording(store: Store): Store & { last?: { sql: string; params?: unknown[] } } {
  const r: Store & { last?: { sql: string; params?: unknown[] } } = Object.create(store);
  r.query = (sql, params) => {
    r.last = { sql, params };
    return store.query(sql, params);
  };
  return r;
}

/** EXPLAIN ANALYZE of the statement one call ran: where the time goes, server side. */
async function planOf(
  store: Store,
  fn: (q: AuditQueries) => Promise<unknown>,
): Promise<{ executionMs: number; planningMs: number; plan: string[] }> {
  const rec = recording(store);
  await fn(new AuditQueries(rec));
  const { rows } = await store.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${rec.last!.sql}`, rec.last!.params);
  const plan = rows.map((r) => r['QUERY PLAN']);
  const num = (label: string) => Number(/([\d.]+) ms/.exec(plan.find((l) => l.startsWith(label)) ?? '')?.[1] ?? NaN);
  return { executionMs: num('Execution Time'), planningMs: num('Planning Time'), plan };
}

/** Sequential calls (concurrency 1): the latency an admin sees, on an otherwise idle database. */
async function queries(store: Store, z: AuditSizes) {
  const q = new AuditQueries(store);
  const pick = rng(42);
  const fact = () => {
    const f = pick(z.facts);
    return { category: `c${f % 100}`, name: `s${f}` };
  };
  const node = () => `node${pick(z.nodes)}.bench`;
  const warm = Math.min(100, z.queries / 4);
  const weekAgo = new Date(Date.now() - 7 * 86400_000);
  return {
    whoSaw: await latencies(z.queries, warm, () => {
      const f = fact();
      return q.whoSaw(ENV, f.category, f.name);
    }),
    nodeSaw: await latencies(z.queries, warm, () => q.nodeSaw(node())),
    nodeSawLastWeek: await latencies(z.queries, warm, () => q.nodeSaw(node(), weekAgo)),
    notCurrent: await latencies(z.queries, warm, () => {
      const f = fact();
      return q.notCurrent(ENV, f.category, f.name);
    }),
    eventsByActor: await latencies(z.queries, warm, () => q.events({ actor: node(), limit: 100 })),
    eventsByFact: await latencies(z.queries, warm, () => {
      const f = fact();
      return q.events({ category: f.category, name: f.name, limit: 100 });
    }),
  };
}

async function plans(store: Store, z: AuditSizes) {
  return {
    whoSaw: await planOf(store, (q) => q.whoSaw(ENV, `c${17 % 100}`, `s${17 % z.facts}`)),
    nodeSaw: await planOf(store, (q) => q.nodeSaw(`node${17 % z.nodes}.bench`)),
  };
}

/** One sighting upsert per transaction, as a secret read writes it, against the full table. */
async function upserts(store: Store, adminUrl: string, database: string, z: AuditSizes, K: number) {
  const secrets = new SecretStore(store);
  const backends = new PgBackends(adminUrl, database);
  await backends.connect();
  try {
    const pick = rng(7);
    const stride = Math.floor(z.nodes / K);
    const run = async (label: string, args: (i: number) => [number, string, number, string]) => {
      for (let i = 0; i < 20; i++) await store.transaction((tx) => secrets.recordSighting(tx, ...args(z.upserts + i)));
      await backends.start();
      const c0 = process.cpuUsage();
      const lat: number[] = [];
      for (let i = 0; i < z.upserts; i++) {
        const t0 = performance.now();
        await store.transaction((tx) => secrets.recordSighting(tx, ...args(i)));
        lat.push(performance.now() - t0);
      }
      const c = process.cpuUsage(c0);
      const postgres = await backends.stop();
      return {
        label,
        calls: z.upserts,
        p50Ms: percentile(lat, 50),
        p99Ms: percentile(lat, 99),
        cpuPerCall: ((c.user + c.system) / 1e6 + postgres) / z.upserts,
        postgresPerCall: postgres / z.upserts,
      };
    };
    // An existing row (a node re-reading the current version): the UPDATE path.
    const existing = () => {
      const f = pick(z.facts);
      const k = pick(K);
      return [f + 1, '@broker', VERSIONS, `node${(k * stride + 7919 * f + 104729 * VERSIONS) % z.nodes}.bench`] as [
        number,
        string,
        number,
        string,
      ];
    };
    const update = await run('existing row (UPDATE path)', existing);
    const insert = await run('new node × version (INSERT path)', (i) => [pick(z.facts) + 1, '@broker', VERSIONS, `newnode${i}.bench`]);
    const empty = await (async () => {
      await backends.start();
      const c0 = process.cpuUsage();
      const lat: number[] = [];
      for (let i = 0; i < z.upserts; i++) {
        const t0 = performance.now();
        await store.transaction((tx) => tx.query('SELECT 1'));
        lat.push(performance.now() - t0);
      }
      const c = process.cpuUsage(c0);
      const postgres = await backends.stop();
      return {
        label: 'empty transaction (BEGIN; SELECT 1; COMMIT), for scale',
        calls: z.upserts,
        p50Ms: percentile(lat, 50),
        p99Ms: percentile(lat, 99),
        cpuPerCall: ((c.user + c.system) / 1e6 + postgres) / z.upserts,
        postgresPerCall: postgres / z.upserts,
      };
    })();
    return { update, insert, empty };
  } finally {
    await backends.close();
  }
}

/** A real chain of `n` events, hashed exactly as AuditLog.append hashes them, inserted in bulk. */
async function buildChain(store: Store, n: number): Promise<{ hashSeconds: number; insertSeconds: number }> {
  const PAGE = 5000;
  let prev: Buffer = Buffer.alloc(32);
  let hashSeconds = 0;
  let insertSeconds = 0;
  const t0 = Date.now() - n * 1000;
  for (let from = 1; from <= n; from += PAGE) {
    const rows: (AuditEntry & { prev_hash: Buffer; hash: Buffer })[] = [];
    const h0 = performance.now();
    for (let seq = from; seq < Math.min(from + PAGE, n + 1); seq++) {
      const admin = seq % 50 === 0;
      const entry: AuditEntry = {
        seq,
        at: new Date(t0 + seq * 1000),
        actor_kind: admin ? 'admin' : 'node',
        actor: admin ? 'admin1' : `node${(seq * 7) % 1000}.bench`,
        action: admin ? 'secret.rotate' : 'fact.change',
        environment: ENV,
        category: `c${seq % 100}`,
        name: `s${seq % 2500}`,
        version: 1 + (seq % 4),
        count: 1,
        detail: { multi: false, sensitive: true },
      };
      const hash = await chainHash(prev, entry);
      rows.push({ ...entry, prev_hash: prev, hash });
      prev = hash;
    }
    hashSeconds += (performance.now() - h0) / 1000;
    const i0 = performance.now();
    await store.query(
      `INSERT INTO audit_events (seq, at, actor_kind, actor, action, environment, category, name, version, count, detail, prev_hash, hash)
       SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::int[], $11::jsonb[], $12::bytea[], $13::bytea[])`,
      [
        rows.map((r) => r.seq),
        rows.map((r) => r.at),
        rows.map((r) => r.actor_kind),
        rows.map((r) => r.actor),
        rows.map((r) => r.action),
        rows.map((r) => r.environment),
        rows.map((r) => r.category),
        rows.map((r) => r.name),
        rows.map((r) => r.version),
        rows.map((r) => r.count),
        rows.map((r) => JSON.stringify(r.detail)),
        rows.map((r) => r.prev_hash),
        rows.map((r) => r.hash),
      ],
    );
    insertSeconds += (performance.now() - i0) / 1000;
  }
  await store.query('UPDATE audit_chain SET seq = $1, hash = $2', [n, prev]);
  return { hashSeconds, insertSeconds };
}

async function chain(o: { adminUrl: string; tmp: string; z: AuditSizes }) {
  const dir = path.join(o.tmp, 'audit-chain');
  fs.mkdirSync(dir, { recursive: true });
  const db = await createStore('postgres', dir, o.adminUrl, 'chain');
  const store = await openStore({ kind: 'postgres', url: db.url! });
  const backends = new PgBackends(o.adminUrl, db.database!);
  await backends.connect();
  try {
    const audit = await openAudit(store, auditFilesIn(dir), quiet);
    const log = audit.log;
    console.log(`[audit] building a real hash chain of ${o.z.chain} events…`);
    const built = await buildChain(store, o.z.chain);
    const event = (i: number) => ({
      actor: { kind: 'node' as const, name: `node${i % 1000}.bench` },
      action: 'fact.change',
      environment: ENV,
      category: `c${i % 100}`,
      name: `s${i % 2500}`,
      version: 2,
      detail: { multi: false, sensitive: true },
    });
    // AuditLog.append as a change pays it: in its own transaction, one at a time, then 8 at once.
    const appendOne = async (count: number, concurrency: number) => {
      await backends.start();
      const c0 = process.cpuUsage();
      const lat: number[] = [];
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (let i = next++; i < count; i = next++) {
            const s = performance.now();
            await log.appendNow(event(i));
            lat.push(performance.now() - s);
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      const postgres = await backends.stop();
      return {
        count,
        concurrency,
        perSecond: count / seconds,
        p50Ms: percentile(lat, 50),
        p99Ms: percentile(lat, 99),
        cpuPerAppend: ((c.user + c.system) / 1e6 + postgres) / count,
      };
    };
    const appendSeq = await appendOne(o.z.appends, 1);
    const appendC8 = await appendOne(o.z.appends, 8);
    await log.signHead();
    const events = o.z.chain + 2 * o.z.appends;
    await backends.start();
    const c0 = process.cpuUsage();
    const v = await timed(() => verifyAuditChain(store, { trustedKeys: audit.trustedKeys }));
    const c = process.cpuUsage(c0);
    const postgres = await backends.stop();
    if (!v.result.ok || v.result.events !== events)
      throw new Error(`verify of the bench chain: ${JSON.stringify({ ...v.result, problems: v.result.problems.slice(0, 3) })}`);
    const verify = {
      events,
      seconds: v.seconds,
      secondsPer100k: (v.seconds * 100_000) / events,
      cpuProcess: (c.user + c.system) / 1e6,
      cpuPostgres: postgres,
      signedThrough: v.result.signed_through,
    };
    console.log(
      `[audit] verify: ${events} events in ${v.seconds.toFixed(2)} s (${verify.secondsPer100k.toFixed(2)} s per 100k); append ${appendSeq.perSecond.toFixed(0)}/s one at a time, ${appendC8.perSecond.toFixed(0)}/s at c8`,
    );
    return { build: built, appendSequential: appendSeq, appendConcurrent8: appendC8, verify };
  } finally {
    await backends.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    await db.drop().catch((err) => console.error(`[audit] could not drop the chain database: ${(err as Error).message}`));
  }
}

export async function runAudit(o: { adminUrl: string; tmp: string; sizes: AuditSizes }) {
  const z = o.sizes;
  const dir = path.join(o.tmp, 'audit');
  fs.mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const chainResult = await chain({ adminUrl: o.adminUrl, tmp: o.tmp, z });
  const db = await createStore('postgres', dir, o.adminUrl, 'audit');
  let store: Store | undefined;
  try {
    store = await openStore({ kind: 'postgres', url: db.url! });
    console.log(
      `[audit] generating ${z.sightings.toLocaleString('en')} sightings (${z.facts} secrets × ${VERSIONS} versions, ${z.nodes} nodes) and ${z.events.toLocaleString('en')} events, indexes after…`,
    );
    const gen = await generate(db.url!, z);
    console.log(
      `[audit] loaded: facts+versions ${gen.steps.facts.toFixed(1)} s, sightings ${gen.steps.sightings.toFixed(1)} s, events ${gen.steps.events.toFixed(1)} s, indexes ${gen.indexBuild.reduce((a, b) => a + b.seconds, 0).toFixed(1)} s, analyze ${gen.steps.analyze.toFixed(1)} s`,
    );
    const q = await queries(store, z);
    for (const [k, s] of Object.entries(q))
      console.log(
        `[audit] ${k.padEnd(16)} p50 ${msOf(s.p50Ms)}  p99 ${msOf(s.p99Ms)}  max ${msOf(s.maxMs)}  (${s.meanRows.toFixed(0)} rows)`,
      );
    const plan = await plans(store, z);
    console.log(
      `[audit] server-side execution (EXPLAIN ANALYZE, one call): whoSaw ${plan.whoSaw.executionMs} ms, nodeSaw ${plan.nodeSaw.executionMs} ms`,
    );
    const up = await upserts(store, o.adminUrl, db.database!, z, gen.perVersion);
    return {
      sizes: z,
      generate: gen,
      queries: q,
      plans: plan,
      sightingUpsert: up,
      chain: chainResult,
      wallSeconds: (Date.now() - started) / 1000,
    };
  } finally {
    await store?.close().catch(() => undefined);
    await db.drop().catch((err) => console.error(`[audit] could not drop the database: ${(err as Error).message}`));
  }
}

type AuditResult = Awaited<ReturnType<typeof runAudit>>;

export function reportAudit(r: AuditResult): void {
  const z = r.sizes;
  const q = r.queries;
  const target = z.sightings >= 10_000_000 ? 'p99 < 20 ms' : 'p99 < 20 ms at 10M';
  const qRow = (label: string, s: QueryStats, t?: string): Row => ({
    figure: label,
    value: `p99 ${msOf(s.p99Ms)}`,
    target: t ?? '',
    verdict: t ? (s.p99Ms < 20 ? 'met' : 'MISSED') : '',
    detail: `p50 ${msOf(s.p50Ms)}, max ${msOf(s.maxMs)}, ${s.meanRows.toFixed(0)} rows, ${s.calls} calls`,
  });
  const g = r.generate;
  const rows: Row[] = [
    {
      figure: 'history',
      value: `${z.sightings.toLocaleString('en')} sightings`,
      detail: `${z.events.toLocaleString('en')} events, ${z.facts} secrets × ${VERSIONS} versions, ${z.nodes} nodes`,
    },
    {
      figure: 'bulk load (rows, then indexes)',
      value: `${(g.steps.facts + g.steps.sightings + g.steps.events).toFixed(1)} s`,
      detail: `indexes ${g.indexBuild.reduce((a, b) => a + b.seconds, 0).toFixed(1)} s, analyze ${g.steps.analyze.toFixed(1)} s; ${g.sizes.map((s) => `${s.name} ${s.tableMb.toFixed(0)}+${s.indexesMb.toFixed(0)} MB`).join(', ')}`,
    },
    qRow('who saw X (whoSaw)', q.whoSaw, target),
    qRow('what did N see (nodeSaw)', q.nodeSaw, target),
    qRow('what did N see since a week ago', q.nodeSawLastWeek),
    qRow('not yet current (notCurrent)', q.notCurrent),
    qRow('events by actor, limit 100', q.eventsByActor),
    qRow('events by fact, limit 100', q.eventsByFact),
    ...Object.values(r.sightingUpsert).map((u) => ({
      figure: `sighting upsert: ${u.label}`,
      value: ms(u.cpuPerCall),
      detail: `CPU incl. pg ${ms(u.postgresPerCall)}; latency p50 ${msOf(u.p50Ms)}, p99 ${msOf(u.p99Ms)}`,
    })),
    {
      figure: 'AuditLog.append, one at a time',
      value: `${r.chain.appendSequential.perSecond.toFixed(0)}/s`,
      detail: `${ms(r.chain.appendSequential.cpuPerAppend)} CPU, p50 ${msOf(r.chain.appendSequential.p50Ms)}, p99 ${msOf(r.chain.appendSequential.p99Ms)}`,
    },
    {
      figure: 'AuditLog.append, 8 at once',
      value: `${r.chain.appendConcurrent8.perSecond.toFixed(0)}/s`,
      detail: `${ms(r.chain.appendConcurrent8.cpuPerAppend)} CPU, p50 ${msOf(r.chain.appendConcurrent8.p50Ms)}, p99 ${msOf(r.chain.appendConcurrent8.p99Ms)}`,
    },
    {
      figure: 'verifyAuditChain per 100k events',
      value: `${r.chain.verify.secondsPer100k.toFixed(2)} s`,
      detail: `${r.chain.verify.events} events in ${r.chain.verify.seconds.toFixed(2)} s; CPU ${r.chain.verify.cpuProcess.toFixed(2)} s node + ${r.chain.verify.cpuPostgres.toFixed(2)} s pg`,
    },
  ];
  printTable(`== audit (PostgreSQL): ${z.sightings.toLocaleString('en')} sightings and events, queries in process, one at a time ==`, rows);
}
