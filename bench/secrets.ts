// Secrets (issue 4): what sealing costs a secret read, what the sighting costs, and how fast
// an online key rotation re-seals rows while agents keep reading. PostgreSQL only (the store
// several brokers share; a rotation is a multi-broker affair).
//
// Isolating the cost of encryption honestly: the broker has no switch to turn sealing off, and
// `GET /v1/facts/{category}` (a cached view) is a different code path from a secret read (a
// transaction with a sighting write), so comparing the two end to end says little about the
// cipher. So three measurements, side by side in one run:
//  1. end to end, through `exportfact serve`: server CPU (broker + PostgreSQL backends) per
//     secret read, and per category read of a non-sensitive fact of the same size, kept-alive,
//     concurrency 8;
//  2. in process, the exact service the broker runs (SecretService over PgStore) in four
//     variants that differ only in what is switched off: sealed (as shipped), no decryption
//     (the vault hands back the known plaintext, parsed like a plaintext column would be), no
//     sighting, neither. Sealed minus no-decryption is the cipher's cost per read; sealed minus
//     no-sighting is the sighting's;
//  3. seal/open alone (src/secrets/cipher.ts), micro-benchmarked.
// The cost of encryption is then (2) or (3) as a share of (1).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import pino from 'pino';
import { auditFilesIn, openAudit } from '../src/audit/open-audit';
import { openStore } from '../src/db/open-store';
import type { Store } from '../src/db/store';
import { FactStore } from '../src/facts/fact-store';
import type { Caller } from '../src/identity/caller';
import { readPolicyFile } from '../src/policy';
import { open, type Sealed, type SecretAddress, seal } from '../src/secrets/cipher';
import type { Keyring } from '../src/secrets/keyring';
import { openKeyring } from '../src/secrets/keyring-bootstrap';
import { SecretService } from '../src/secrets/secret-service';
import { SecretStore } from '../src/secrets/secret-store';
import { type SealedRow, SecretVault } from '../src/secrets/secret-vault';
import { createServices } from '../src/services';
import type { ClientCert, Pki } from './certs';
import { PgBackends, ServerCpu } from './cpu';
import type { Job, JobResult, LoadGenerator } from './load';
import { median, ms, msOf, pct, percentile, printTable, type Row, us, x } from './report';
import { adminRequest, adminToken, type BrokerProcess, startBroker } from './servers';
import { createStore } from './store';

export const SECRETS_SIZES = {
  full: { reps: 3, reads: 2000, inproc: 1000, servicePublishes: 1000, rotationRows: 5_000, baselineMs: 8000, micro: 20_000 },
  quick: { reps: 1, reads: 300, inproc: 300, servicePublishes: 200, rotationRows: 2_000, baselineMs: 3000, micro: 5_000 },
};
export type SecretsSizes = (typeof SECRETS_SIZES)['full'];

const ENV = 'bench';
const READ_SECRETS = 50; // secrets the readers cycle through (sec.pw0 … pw49), and as many plain categories
const CONCURRENCY = 8;
const quiet = pino({ level: 'silent' });

/**
 * Since the access policy (docs/policy.md), a sensitive fact is readable only by its exporter
 * unless a rule says otherwise: the bench's readers are granted the secrets they read, one rule,
 * as an operator would grant them. The broker gets it with --policy, the in-process service too.
 */
const POLICY = `version: 1
rules:
  - name: bench readers read the bench secrets
    match:
      certname: "sreader*.bench"
    allow: read
    facts: ["sec.*"]
    sensitive: true
`;

/** A generated service password: 32 characters, what Kickstack hands around. */
const password = (i: number) => `${i}-${crypto.createHash('sha256').update(`pw${i}`).digest('base64url')}`.slice(0, 32);

/**
 * `n` sensitive facts sealed with the broker's vault exactly as SecretService.addVersion seals them
 * (same additional data, same fingerprint), written as the service writes a first publish:
 * facts, fact_values (value NULL), fact_history, secret_versions (current). No audit events.
 */
export async function bulkSealed(store: Store, vault: SecretVault, n: number): Promise<number> {
  const t0 = performance.now();
  const CHUNK = 2000;
  for (let from = 0; from < n; from += CHUNK) {
    const rows: (SecretAddress & { sealed: Sealed; fingerprint: Buffer })[] = [];
    for (let i = from; i < Math.min(from + CHUNK, n); i++) {
      const at = {
        environment: ENV,
        category: `bulk${Math.floor(i / 1000)}`,
        name: `s${i % 1000}`,
        exporter: `node${i % 500}.bench`,
        version: 1,
      };
      const value = password(100_000 + i);
      const [sealed, fingerprint] = await Promise.all([vault.seal(at, value), vault.fingerprint(value)]);
      rows.push({ ...at, sealed, fingerprint });
    }
    await store.transaction(async (tx) => {
      await tx.query(
        `WITH f AS (
           INSERT INTO facts (environment, category, name, multi, sensitive, version)
           SELECT $1, c, n, false, true, 1 FROM unnest($2::text[], $3::text[]) AS u(c, n)
           RETURNING id, category, name)
         , v AS (
           INSERT INTO fact_values (fact_id, exporter, value, version)
           SELECT f.id, u.e, NULL, 1 FROM f JOIN unnest($2::text[], $3::text[], $4::text[]) AS u(c, n, e) ON u.c = f.category AND u.n = f.name
           RETURNING fact_id, exporter)
         , h AS (
           INSERT INTO fact_history (fact_id, version, exporter, action, value) SELECT fact_id, 1, exporter, 'create', NULL FROM v)
         INSERT INTO secret_versions (fact_id, exporter, version, state, key_id, nonce, ciphertext, fingerprint)
         SELECT f.id, u.e, 1, 'current', u.k, u.nonce, u.ct, u.fp
           FROM f JOIN unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::bytea[], $8::bytea[]) AS u(c, n, e, k, nonce, ct, fp)
             ON u.c = f.category AND u.n = f.name`,
        [
          ENV,
          rows.map((r) => r.category),
          rows.map((r) => r.name),
          rows.map((r) => r.exporter),
          rows.map((r) => r.sealed.keyId),
          rows.map((r) => r.sealed.nonce),
          rows.map((r) => r.sealed.ciphertext),
          rows.map((r) => r.fingerprint),
        ],
      );
      await tx.query('UPDATE environments SET view_version = view_version + 1 WHERE name = $1', [ENV]);
    });
  }
  return (performance.now() - t0) / 1000;
}

interface Variant {
  key: 'sealed' | 'noDecrypt' | 'noSighting' | 'neither';
  label: string;
  service: SecretService;
}

/** The vault as shipped, except that open() hands back the known plaintext, parsed as a plaintext column would be. */
class PlaintextVault extends SecretVault {
  constructor(
    keyring: Keyring,
    writeKeyId: string,
    private readonly plain: Map<string, string>,
  ) {
    super(keyring, writeKeyId);
  }

  override open(_row: SealedRow, address: SecretAddress): Promise<unknown> {
    return Promise.resolve(JSON.parse(this.plain.get(`${address.category}.${address.name}`)!));
  }
}

/** The secret store as shipped, except that no sighting is written. */
class NoSightingStore extends SecretStore {
  override async recordSighting(): Promise<boolean> {
    return false;
  }
}

async function lanes(
  count: number,
  concurrency: number,
  fn: (lane: number, i: number) => Promise<unknown>,
): Promise<{ seconds: number; latencies: number[] }> {
  let next = 0;
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, lane) => {
      for (let i = next++; i < count; i = next++) {
        const s = performance.now();
        await fn(lane, i);
        latencies.push(performance.now() - s);
      }
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, latencies };
}

/** CPU of this process (all threads) and of the database's backends while fn runs. */
async function inProcessCpu<T>(backends: PgBackends, fn: () => Promise<T>): Promise<{ result: T; process: number; postgres: number }> {
  await backends.start();
  const c0 = process.cpuUsage();
  const result = await fn();
  const c = process.cpuUsage(c0);
  const postgres = await backends.stop();
  return { result, process: (c.user + c.system) / 1e6, postgres };
}

function microBenchmark(sizes: SecretsSizes) {
  const key = crypto.randomBytes(32);
  const at: SecretAddress = { environment: ENV, category: 'sec', name: 'pw1', exporter: 'publisher.bench', version: 1 };
  const values = {
    'password (32 chars)': password(1),
    'PEM private key (1.7 kB)': `-----BEGIN PRIVATE KEY-----\n${crypto.randomBytes(1200).toString('base64')}\n-----END PRIVATE KEY-----\n`,
  };
  return (async () => {
    const out: Record<string, { sealUs: number; openUs: number; bytes: number }> = {};
    for (const [label, value] of Object.entries(values)) {
      const sealed = await seal('k1', key, at, value);
      for (let i = 0; i < 500; i++) await open(sealed, key, at); // warm up (JIT, WASM)
      let c0 = process.cpuUsage();
      for (let i = 0; i < sizes.micro; i++) await seal('k1', key, at, value);
      let c = process.cpuUsage(c0);
      const sealUs = (c.user + c.system) / sizes.micro;
      c0 = process.cpuUsage();
      for (let i = 0; i < sizes.micro; i++) await open(sealed, key, at);
      c = process.cpuUsage(c0);
      out[label] = { sealUs, openUs: (c.user + c.system) / sizes.micro, bytes: JSON.stringify(value).length };
    }
    return out;
  })();
}

interface Sample {
  cpu: number;
  process: number;
  postgres: number;
  opsPerSec: number;
  p50: number;
  p99: number;
}

function summarise(s: Sample[]) {
  return {
    cpuPerOp: median(s.map((v) => v.cpu)),
    processPerOp: median(s.map((v) => v.process)),
    postgresPerOp: median(s.map((v) => v.postgres)),
    opsPerSec: median(s.map((v) => v.opsPerSec)),
    p50Ms: median(s.map((v) => v.p50)),
    p99Ms: median(s.map((v) => v.p99)),
    reps: s,
  };
}

export async function runSecrets(o: {
  adminUrl: string;
  tmp: string;
  sizes: SecretsSizes;
  load: LoadGenerator;
  pki: Pki;
  readers: ClientCert[];
}) {
  const { sizes, load, pki, readers } = o;
  const dir = path.join(o.tmp, 'secrets');
  fs.mkdirSync(dir, { recursive: true });
  const bench = await createStore('postgres', dir, o.adminUrl, 'secrets');
  const url = bench.url!;
  const keyringFile = path.join(dir, 'keyring.json');
  const policyFile = path.join(dir, 'policy.yaml');
  fs.writeFileSync(policyFile, POLICY);
  const policy = { current: readPolicyFile(policyFile) };
  const backends = new PgBackends(o.adminUrl, bench.database!);
  await backends.connect();
  let broker: BrokerProcess | undefined;
  let store: Store | undefined;
  try {
    // ---- seeding, in process: values must be sealed, so they go through the service (as test/secrets/key-rotation.test.ts does).
    store = await openStore({ kind: 'postgres', url });
    const { keyring, writeKeyId } = await openKeyring(store, { file: keyringFile }, quiet);
    const vault = new SecretVault(keyring, writeKeyId);
    const audit = (await openAudit(store, auditFilesIn(dir), quiet)).log;
    const services = createServices({ store, vault, secrets: { graceSeconds: 3600 }, log: quiet, audit });
    const publisher: Caller = { certname: 'publisher.bench', environment: ENV, extensions: {} };
    const plain = new Map<string, string>();
    for (let i = 0; i < READ_SECRETS; i++) {
      await services.facts.publish(publisher, { category: 'sec', name: `pw${i}`, value: password(i), sensitive: true, multi: false });
      await services.facts.publish(publisher, { category: `plain${i}`, name: 'pw', value: password(i), sensitive: false, multi: false });
      plain.set(`sec.pw${i}`, JSON.stringify(password(i)));
    }
    // Publishing through the service is measured on a sample; the bulk of the rotation's rows is
    // sealed with the same vault and written with SQL shaped like the service's rows, because
    // every publish appends to the audit chain and bumps the environment's view version, both
    // under one row lock: ~170 publishes/s here, minutes for 20k.
    console.log(`[secrets] ${sizes.servicePublishes} sealed publishes through the service (in process, 50 in parallel)…`);
    const seedStarted = performance.now();
    for (let i = 0; i < sizes.servicePublishes; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, sizes.servicePublishes - i) }, (_, j) =>
          services.facts.publish(
            { certname: `node${(i + j) % 500}.bench`, environment: ENV, extensions: {} },
            { category: 'published', name: `s${i + j}`, value: password(i + j), sensitive: true, multi: false },
          ),
        ),
      );
    }
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    console.log(
      `[secrets] ${sizes.servicePublishes} publishes in ${seedSeconds.toFixed(1)} s (${(sizes.servicePublishes / seedSeconds).toFixed(0)}/s); sealing ${sizes.rotationRows - sizes.servicePublishes - READ_SECRETS} more in bulk…`,
    );
    const bulkSeconds = await bulkSealed(store, vault, sizes.rotationRows - sizes.servicePublishes - READ_SECRETS);

    // ---- (3) seal/open alone
    const micro = await microBenchmark(sizes);
    for (const [label, m] of Object.entries(micro))
      console.log(`[secrets] cipher, ${label}: seal ${m.sealUs.toFixed(1)} µs, open ${m.openUs.toFixed(1)} µs CPU`);

    // ---- (2) the read service in four variants, same process, same database
    const factStore = new FactStore(store);
    const plainVault = new PlaintextVault(keyring, writeKeyId, plain);
    const variants: Variant[] = [
      {
        key: 'sealed',
        label: 'sealed, sighting recorded (as shipped)',
        service: new SecretService(new SecretStore(store), factStore, vault, { graceSeconds: 3600 }, audit, policy),
      },
      {
        key: 'noDecrypt',
        label: 'no decryption, sighting recorded',
        service: new SecretService(new SecretStore(store), factStore, plainVault, { graceSeconds: 3600 }, audit, policy),
      },
      {
        key: 'noSighting',
        label: 'sealed, no sighting',
        service: new SecretService(new NoSightingStore(store), factStore, vault, { graceSeconds: 3600 }, audit, policy),
      },
      {
        key: 'neither',
        label: 'no decryption, no sighting',
        service: new SecretService(new NoSightingStore(store), factStore, plainVault, { graceSeconds: 3600 }, audit, policy),
      },
    ];
    const callers: Caller[] = readers.map((r) => ({ certname: r.certname, environment: ENV, extensions: {} }));
    const readOne = (v: Variant) => (lane: number, i: number) =>
      v.service.read(callers[lane % callers.length], 'sec', `pw${i % READ_SECRETS}`);
    for (const v of variants) {
      const r = (await v.service.read(callers[0], 'sec', 'pw1')) as { value: unknown };
      if (r.value !== password(1)) throw new Error(`variant ${v.key} read ${JSON.stringify(r.value)}`);
      await lanes(200, CONCURRENCY, readOne(v)); // warm up, fill the pool
    }
    const inproc: Record<string, Sample[]> = {};
    for (let rep = 0; rep < sizes.reps; rep++) {
      for (const v of variants) {
        const m = await inProcessCpu(backends, () => lanes(sizes.inproc, CONCURRENCY, readOne(v)));
        const n = sizes.inproc;
        (inproc[v.key] ??= []).push({
          cpu: (m.process + m.postgres) / n,
          process: m.process / n,
          postgres: m.postgres / n,
          opsPerSec: n / m.result.seconds,
          p50: percentile(m.result.latencies, 50),
          p99: percentile(m.result.latencies, 99),
        });
        console.log(
          `[secrets] rep ${rep + 1}/${sizes.reps} in process: ${v.label.padEnd(40)} ${ms((m.process + m.postgres) / n)}/read (pg ${ms(m.postgres / n)})  ${(n / m.result.seconds).toFixed(0)}/s`,
        );
      }
    }
    await store.close();
    store = undefined;

    // ---- (1) end to end, through `exportfact serve`
    broker = await startBroker({
      pki,
      store: { databaseUrl: url },
      probe: readers[0],
      logFile: path.join(dir, 'broker.log'),
      dir: path.join(dir, 'broker'),
      keyring: keyringFile,
      extraArgs: ['--policy', policyFile],
    });
    const secretPaths = Array.from({ length: READ_SECRETS }, (_, i) => `/v1/secrets/sec/pw${i}`);
    const plainPaths = Array.from({ length: READ_SECRETS }, (_, i) => `/v1/facts/plain${i}`);
    const job = (paths: string[], count: number, extra: Partial<Job> = {}): Job => ({
      url: broker!.url,
      path: '',
      paths,
      mode: 'keepalive',
      count,
      concurrency: CONCURRENCY,
      warmup: 2,
      ca: pki.caPem,
      clients: readers,
      latency: true,
      ...extra,
    });
    const phases = [
      { key: 'secretRead', label: 'GET /v1/secrets/sec/pwN (sealed + sighting)', job: () => job(secretPaths, sizes.reads) },
      { key: 'plainRead', label: 'GET /v1/facts/plainN (same value, not sensitive)', job: () => job(plainPaths, sizes.reads) },
    ];
    for (const p of phases) await load.expect({ ...p.job(), count: 300 }, 200);
    const e2e: Record<string, (Sample & { bytes: number })[]> = {};
    for (let rep = 0; rep < sizes.reps; rep++) {
      for (const p of phases) {
        const m = await new ServerCpu(broker.pid, backends).measure(() => load.expect(p.job(), 200));
        const n = m.result.count;
        const lat = m.result.samples!.map((s) => s[1]);
        (e2e[p.key] ??= []).push({
          cpu: m.total / n,
          process: m.process / n,
          postgres: m.postgres / n,
          opsPerSec: n / m.result.seconds,
          p50: percentile(lat, 50),
          p99: percentile(lat, 99),
          bytes: m.result.bytes / n,
        });
        console.log(
          `[secrets] rep ${rep + 1}/${sizes.reps} end to end: ${p.label.padEnd(48)} ${ms(m.total / n)}/read (pg ${ms(m.postgres / n)})  ${(n / m.result.seconds).toFixed(0)}/s  p99 ${msOf(percentile(lat, 99))}`,
        );
      }
    }

    // ---- re-encryption under read load
    const rotation = await rotate({
      broker,
      url,
      backends,
      load,
      secretJob: job(secretPaths, 1e9, { durationMs: 600_000, warmup: 1 }),
      ca: pki.caPem,
      sizes,
    });

    const secretsSummary = Object.fromEntries(
      Object.entries(e2e).map(([k, s]) => [k, { ...summarise(s), bytesPerOp: median(s.map((v) => v.bytes)) }]),
    );
    const inprocSummary = Object.fromEntries(Object.entries(inproc).map(([k, s]) => [k, summarise(s)]));
    // Decryption happens in the broker process only, so its cost is the difference in process CPU
    // (PostgreSQL's share, identical work in both variants, only adds noise); the sighting's cost
    // is mostly in PostgreSQL, so it is the difference in process + backend CPU. Medians of the
    // per-repetition differences, the variants having run interleaved.
    const perRep = (a: string, b: string, f: (s: Sample) => number) => median(inproc[a].map((s, i) => f(s) - f(inproc[b][i])));
    const decryptCpu = perRep('sealed', 'noDecrypt', (s) => s.process);
    const decryptCpuAlt = perRep('noSighting', 'neither', (s) => s.process);
    const sightingCpu = perRep('sealed', 'noSighting', (s) => s.cpu);
    const e2eSecret = secretsSummary.secretRead.cpuPerOp;
    return {
      seed: {
        rows: sizes.servicePublishes,
        seconds: seedSeconds,
        perSecond: sizes.servicePublishes / seedSeconds,
        bulkRows: sizes.rotationRows - sizes.servicePublishes - READ_SECRETS,
        bulkSeconds,
      },
      micro,
      inProcess: inprocSummary,
      endToEnd: secretsSummary,
      derived: {
        decryptCpuPerRead: decryptCpu,
        decryptCpuPerReadWithoutSighting: decryptCpuAlt,
        sightingCpuPerRead: sightingCpu,
        decryptShareOfSecretRead: decryptCpu / e2eSecret,
        openShareOfSecretRead: micro['password (32 chars)'].openUs / 1e6 / e2eSecret,
        sightingShareOfSecretRead: sightingCpu / e2eSecret,
        readsPerSecNoDecryptOverSealed: median(inproc.noDecrypt.map((s, i) => s.opsPerSec / inproc.sealed[i].opsPerSec)),
        secretOverPlainCpu: median(e2e.secretRead.map((s, i) => s.cpu / e2e.plainRead[i].cpu)),
      },
      rotation,
    };
  } finally {
    await store?.close().catch(() => undefined);
    await broker?.stop().catch(() => undefined);
    await backends.close().catch(() => undefined);
    await bench.drop().catch((err) => console.error(`[secrets] could not drop the database: ${(err as Error).message}`));
  }
}

interface Progress {
  at: number;
  rowsDone: number;
  state: string;
}

/** The best rate over any ~1 s of polling: how fast a maintenance tick re-seals while it runs. */
function peakRate(p: Progress[]): number {
  let best = 0;
  for (let i = 0; i < p.length; i++) {
    const j = p.findIndex((q) => q.at >= p[i].at + 1000);
    if (j < 0) break;
    best = Math.max(best, (p[j].rowsDone - p[i].rowsDone) / ((p[j].at - p[i].at) / 1000));
  }
  return best;
}

/**
 * Reads at concurrency 8 run throughout; after a baseline window an admin asks for a key
 * rotation through the admin API (a token from `exportfact admin token --scope keys:rotate`);
 * key_rotations.rows_done is sampled until the rotation is done.
 */
async function rotate(o: {
  broker: BrokerProcess;
  url: string;
  backends: PgBackends;
  load: LoadGenerator;
  secretJob: Job;
  ca: string;
  sizes: SecretsSizes;
}) {
  const { broker, backends, load, sizes } = o;
  const db = new pg.Client({ connectionString: o.url, application_name: 'exportfact-bench-rotation-poll' });
  await db.connect();
  try {
    const total = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM secret_versions WHERE ciphertext IS NOT NULL')).rows[0].n;
    const token = adminToken(broker, 'keys:rotate');
    console.log(`[secrets] key rotation of ${total} rows under read load (baseline ${sizes.baselineMs / 1000} s first)…`);
    const running = load.start(o.secretJob);
    let jobResult: JobResult | undefined;
    try {
      await sleep(1000);
      const baselineStart = Date.now();
      const before = await new ServerCpu(broker.pid, backends).measure(() => sleep(sizes.baselineMs));
      const requestedAt = Date.now();
      const res = await adminRequest<{ rotation: { id: number; target_key_id: string } }>(
        broker,
        o.ca,
        token,
        'POST',
        '/admin/v1/keys/rotate',
        {},
      );
      if (res.status !== 202) throw new Error(`POST /admin/v1/keys/rotate answered ${res.status} ${JSON.stringify(res.body)}`);
      const { id, target_key_id: target } = res.body.rotation;
      const progress: Progress[] = [];
      let row: { state: string; rows_done: number; started_at: Date | null; finished_at: Date | null } | undefined;
      const during = await new ServerCpu(broker.pid, backends).measure(async () => {
        const deadline = Date.now() + 300_000;
        for (;;) {
          row = (await db.query('SELECT state, rows_done, started_at, finished_at FROM key_rotations WHERE id = $1', [id])).rows[0];
          progress.push({ at: Date.now(), rowsDone: row!.rows_done, state: row!.state });
          if (row!.state === 'done') return;
          if (Date.now() > deadline) throw new Error(`rotation ${id} not done after 300 s: ${JSON.stringify(row)}`);
          await sleep(200);
        }
      });
      await sleep(1500); // a little "after"
      running.stop();
      jobResult = await running.result;
      const bad = Object.entries(jobResult.statuses).filter(([s]) => s !== '200');
      if (bad.length || jobResult.errors.length)
        throw new Error(`reads during the rotation: ${JSON.stringify(jobResult.statuses)} ${jobResult.errors.join('; ')}`);
      const keys = (
        await db.query<{ key_id: string; n: number }>(
          'SELECT key_id, count(*)::int AS n FROM secret_versions WHERE ciphertext IS NOT NULL GROUP BY key_id',
        )
      ).rows;
      if (keys.length !== 1 || keys[0].key_id !== target || keys[0].n !== total)
        throw new Error(`after the rotation, rows per key: ${JSON.stringify(keys)}`);

      const startedAt = row!.started_at!.getTime();
      const finishedAt = row!.finished_at!.getTime();
      const samples = jobResult.samples!;
      const window = (from: number, to: number) => {
        const lat = samples.filter(([t]) => t >= from && t < to).map((s) => s[1]);
        return {
          reads: lat.length,
          seconds: (to - from) / 1000,
          readsPerSec: lat.length / ((to - from) / 1000),
          p50Ms: percentile(lat, 50),
          p99Ms: percentile(lat, 99),
          maxMs: lat.length ? Math.max(...lat) : NaN,
        };
      };
      const seconds = (finishedAt - startedAt) / 1000;
      const readsBefore = window(baselineStart, requestedAt);
      const duringWin = window(startedAt, finishedAt);
      const cpuPerReadBefore = before.total / readsBefore.reads;
      // The CPU window runs from the request to the poll that saw "done"; the reads in it are netted out at the baseline's cost.
      const duringEnd = progress[progress.length - 1].at;
      const duringSeconds = (duringEnd - requestedAt) / 1000;
      const rotationCpu = during.total - cpuPerReadBefore * window(requestedAt, duringEnd).reads;
      const result = {
        rows: total,
        rowsDone: row!.rows_done,
        waitedForStartSeconds: (startedAt - requestedAt) / 1000,
        seconds,
        rowsPerSec: total / seconds,
        before: {
          ...readsBefore,
          cpuPerRead: cpuPerReadBefore,
          brokerCpuShare: before.process / (sizes.baselineMs / 1000),
          postgresCpuShare: before.postgres / (sizes.baselineMs / 1000),
        },
        during: { ...duringWin, brokerCpuShare: during.process / duringSeconds, postgresCpuShare: during.postgres / duringSeconds },
        rotationCpuPerRow: rotationCpu / total,
        peakRowsPerSec: peakRate(progress),
        progress: progress.map((p) => ({ t: (p.at - requestedAt) / 1000, rowsDone: p.rowsDone, state: p.state })),
      };
      console.log(
        `[secrets] rotation: ${total} rows in ${seconds.toFixed(1)} s = ${result.rowsPerSec.toFixed(0)} rows/s (started ${result.waitedForStartSeconds.toFixed(1)} s after the request); reads ${readsBefore.readsPerSec.toFixed(0)}/s p99 ${msOf(readsBefore.p99Ms)} before, ${duringWin.readsPerSec.toFixed(0)}/s p99 ${msOf(duringWin.p99Ms)} during`,
      );
      return result;
    } finally {
      if (!jobResult) {
        running.stop();
        await running.result.catch(() => undefined);
      }
    }
  } finally {
    await db.end();
  }
}

type SecretsResult = Awaited<ReturnType<typeof runSecrets>>;

export function reportSecrets(r: SecretsResult): void {
  const e = r.endToEnd;
  const i = r.inProcess;
  const d = r.derived;
  const rot = r.rotation;
  const line = (label: string, s: { cpuPerOp: number; postgresPerOp: number; opsPerSec: number; p50Ms: number; p99Ms: number }) => ({
    figure: label,
    value: `${ms(s.cpuPerOp)} (pg ${ms(s.postgresPerOp)})`,
    detail: `${s.opsPerSec.toFixed(0)}/s, p50 ${msOf(s.p50Ms)}, p99 ${msOf(s.p99Ms)}`,
  });
  const rows: Row[] = [
    line('end to end: secret read, c8 kept-alive', e.secretRead),
    line('end to end: same value, non-sensitive category', e.plainRead),
    {
      figure: 'secret read ÷ non-sensitive read (CPU)',
      value: x(d.secretOverPlainCpu),
      detail: 'different paths: transaction + sighting vs cached view',
    },
    line('in process: sealed + sighting (as shipped)', i.sealed),
    line('in process: no decryption, sighting', i.noDecrypt),
    line('in process: sealed, no sighting', i.noSighting),
    line('in process: neither', i.neither),
    ...Object.entries(r.micro).map(([label, m]) => ({
      figure: `cipher alone, ${label}`,
      value: `open ${m.openUs.toFixed(1)} µs`,
      detail: `seal ${m.sealUs.toFixed(1)} µs`,
    })),
    {
      figure: 'decryption cost ÷ end-to-end secret read',
      value: pct(d.decryptShareOfSecretRead),
      target: '< 10 %',
      verdict: d.decryptShareOfSecretRead < 0.1 ? 'met' : 'MISSED',
      detail: `${us(d.decryptCpuPerRead)} per read (process CPU, sealed − no decryption, in process; without sightings ${us(d.decryptCpuPerReadWithoutSighting)})`,
    },
    {
      figure: 'open() alone ÷ end-to-end secret read',
      value: pct(d.openShareOfSecretRead),
      target: '< 10 %',
      verdict: d.openShareOfSecretRead < 0.1 ? 'met' : 'MISSED',
      detail: 'micro-benchmark',
    },
    { figure: 'in-process reads/s, no decryption ÷ sealed', value: x(d.readsPerSecNoDecryptOverSealed) },
    {
      figure: 'sighting cost ÷ end-to-end secret read',
      value: pct(d.sightingShareOfSecretRead),
      detail: `${us(d.sightingCpuPerRead)} per read (sealed − no sighting, in process)`,
    },
    {
      figure: 'sealed publishes through the service, in process',
      value: `${r.seed.perSecond.toFixed(0)}/s`,
      detail: `${r.seed.rows} in ${r.seed.seconds.toFixed(1)} s, 50 in parallel (+${r.seed.bulkRows} sealed in bulk in ${r.seed.bulkSeconds.toFixed(1)} s)`,
    },
    {
      figure: 'key rotation: rows re-sealed per second',
      value: `${rot.rowsPerSec.toFixed(0)}/s`,
      detail: `${rot.rows} rows in ${rot.seconds.toFixed(1)} s, began ${rot.waitedForStartSeconds.toFixed(1)} s after the request; best 1 s ${rot.peakRowsPerSec.toFixed(0)}/s`,
    },
    {
      figure: 'reads before the rotation',
      value: `${rot.before.readsPerSec.toFixed(0)}/s`,
      detail: `p50 ${msOf(rot.before.p50Ms)}, p99 ${msOf(rot.before.p99Ms)}, max ${msOf(rot.before.maxMs)}`,
    },
    {
      figure: 'reads during the rotation',
      value: `${rot.during.readsPerSec.toFixed(0)}/s`,
      detail: `p50 ${msOf(rot.during.p50Ms)}, p99 ${msOf(rot.during.p99Ms)}, max ${msOf(rot.during.maxMs)}`,
    },
    { figure: 'rotation CPU per row (broker + pg, reads netted out)', value: ms(rot.rotationCpuPerRow) },
  ];
  printTable('== secrets (PostgreSQL): server CPU per read, median of reps ==', rows);
}
