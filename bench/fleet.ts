// Issue 14, item 3: a fleet on one broker. 100,000 distinct P-256 client certificates
// (bench/fleet-certs.ts), a 200-fact environment, agents arriving as a 30-minute run interval
// with splay spreads them (100,000 / 1,800 s = 56 syncs/s, exponential gaps), and the load
// generator on the same 2 cores as the broker and PostgreSQL. Offered rates ramp up until the
// broker no longer keeps up; each step reports achieved syncs/s, the broker's and PostgreSQL's
// CPU share, p50/p99 latency of a run, RSS and PostgreSQL connections.
//
// Passes: "first contact" (every run a certificate this broker process has not seen: the hour
// after a restart), "steady state" (the nodes of the first pass again: each has synced before,
// as every node has in a running fleet), the same with 10 % of runs also reading one secret
// (sightings written), and RSA-4096 (Puppet's default: a CA and 200 client certificates, steady
// state; 4096-bit certificates are slow to make, and a repeat node costs the same whichever
// of 200 or 100,000 it is once it is cached).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type ClientCert, type Pki, rsa4096Pki } from './certs';
import { memoryMb, PgBackends, processCpu } from './cpu';
import { certPem, fleetName, fleetPki } from './fleet-certs';
import { type Job, type JobResult, LoadGenerator } from './load';
import { median, percentile, printTable, type Row } from './report';
import { type BrokerProcess, startBroker } from './servers';
import { createStore, factValue } from './store';

export const FLEET_SIZES = {
  full: { nodes: 100_000, rsaNodes: 200, stepSeconds: 12, rates: [56, 112, 168, 224, 280, 336, 448, 560, 700], maxInFlight: 64 },
  quick: { nodes: 5_000, rsaNodes: 32, stepSeconds: 4, rates: [56, 112, 224, 336], maxInFlight: 64 },
};
export type FleetSizes = (typeof FLEET_SIZES)['full'];

/** 30-minute run interval: the offered rate of a fleet of N nodes. */
export const offeredRate = (nodes: number) => nodes / 1800;

const ENV = 'fleet';
const SECRETS = 100;

export interface FleetStep {
  offered: number;
  achieved: number;
  runs: number;
  brokerCpuShare: number;
  /** Broker CPU seconds per run: 1 / this is what one core of broker could serve. */
  brokerCpuPerRun: number;
  loadCpuShare: number;
  postgresCpuShare: number;
  p50Ms: number;
  p99Ms: number;
  rssMb: number;
  pgConnections: number;
  errors: string[];
  load1: number;
}

export interface FleetPass {
  name: string;
  key: 'P-256' | 'RSA-4096';
  steps: FleetStep[];
  /** Highest achieved rate of a step that kept up (≥ 90 % of offered, p99 < 2 s). */
  capacity: number;
  /** Runs per second one core of broker CPU serves (median over the steps): the broker's own ceiling. */
  perCore: number;
  at56?: FleetStep;
}

export interface FleetResult {
  nodes: number;
  rsaNodes: number;
  offered: number;
  certSeconds: number;
  passes: FleetPass[];
  rssIdleMb: number;
  rssAfterMb: number;
  distinctSeen: number;
}

const kept = (s: FleetStep) => s.achieved >= 0.9 * s.offered && s.p99Ms < 2000 && s.errors.length === 0;

async function pgConnections(admin: pg.Client, database: string): Promise<number> {
  const { rows } = await admin.query<{ n: string }>(
    "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND application_name <> 'exportfact-bench-meter'",
    [database],
  );
  return Number(rows[0].n);
}

export async function runFleet(o: { adminUrl: string; tmp: string; load: LoadGenerator; sizes: FleetSizes }): Promise<FleetResult> {
  const { sizes, load } = o;
  // Client handshakes cost the load generator about what they cost the broker: three
  // processes share the offered rate so that one of them is not the bottleneck.
  const loaders = [load, LoadGenerator.start(), LoadGenerator.start()];
  const dir = path.join(o.tmp, 'fleet');
  fs.mkdirSync(dir, { recursive: true });
  const store = await createStore('postgres', dir, o.adminUrl, 'fleet');
  const admin = new pg.Client({ connectionString: o.adminUrl, application_name: 'exportfact-bench-meter' });
  await admin.connect();
  const backends = new PgBackends(o.adminUrl, store.database!);
  await backends.connect();
  const brokers: BrokerProcess[] = [];
  try {
    // Certificates: cached between runs in the system's temporary folder (same count, same files).
    const t0 = Date.now();
    console.log(`[fleet] ${sizes.nodes.toLocaleString('en')} client certificates…`);
    const fleet = await fleetPki(path.join(os.tmpdir(), 'exportfact-bench-fleet-certs'), sizes.nodes, ENV);
    const certSeconds = (Date.now() - t0) / 1000;
    const lines = fs.readFileSync(fleet.certsFile, 'utf8').trim().split('\n');
    const node = (i: number): ClientCert => ({ certname: fleetName(i), certPem: certPem(lines[i]), keyPem: fleet.keyPem });
    const writer = node(0);
    const policy = path.join(dir, 'policy.yaml');
    // Nodes read the fleet's secrets (a sensitive fact is its exporter's alone unless a rule grants it).
    fs.writeFileSync(policy, 'rules:\n  - match: { certname: "n*.fleet.bench" }\n    allow: read\n    facts: ["fleetsec.*"]\n');
    const p256: Pki = {
      label: 'P-256',
      caFile: fleet.caFile,
      caPem: fleet.caPem,
      crlFile: fleet.crlFile,
      server: fleet.server,
      client: () => Promise.reject(new Error('fleet certificates come from the file')),
    };
    const keyring = path.join(dir, 'keyring.json');
    const broker = await startBroker({
      pki: p256,
      store: store.serveArgs('main'),
      probe: writer,
      logFile: path.join(dir, 'broker.log'),
      dir: path.join(dir, 'broker'),
      keyring,
      extraArgs: ['--policy', policy],
    });
    brokers.push(broker);
    const rssIdleMb = memoryMb(broker.pid, 'VmRSS');
    const seed = async (url: string, ca: string, w: ClientCert) => {
      const paths = Array.from({ length: 200 }, (_, i) => `/v1/facts/svc${Math.floor(i / 10)}/key${i % 10}`);
      const base = { url, path: '', method: 'PUT', mode: 'keepalive' as const, concurrency: 4, ca, clients: [w] };
      await load.expect({ ...base, paths, bodies: paths.map((_, i) => ({ value: factValue(i) })), count: 200 }, 200, 201);
      const secretPaths = Array.from({ length: SECRETS }, (_, i) => `/v1/facts/fleetsec/pw${i}`);
      const bodies = secretPaths.map((_, i) => ({ value: `fleet-password-${i}-${'x'.repeat(16)}`, sensitive: true }));
      await load.expect({ ...base, paths: secretPaths, bodies, count: SECRETS }, 200, 201);
    };
    console.log('[fleet] seeding 200 facts and 100 secrets…');
    await seed(broker.url, fleet.caPem, writer);
    const secretReads = Array.from({ length: SECRETS }, (_, i) => `/v1/secrets/fleetsec/pw${i}`);

    const step = async (b: BrokerProcess, job: Job, offered: number): Promise<FleetStep> => {
      let peak = 0;
      const poll = setInterval(() => {
        pgConnections(admin, store.database!).then(
          (n) => (peak = Math.max(peak, n)),
          () => undefined,
        );
      }, 500);
      await backends.start();
      const c0 = processCpu(b.pid)!;
      const l0 = loaders.map((l) => processCpu(l.child.pid!)!);
      const w0 = performance.now();
      const n = loaders.length;
      const parts: JobResult[] = await Promise.all(
        loaders.map((l, k) =>
          l.run({
            ...job,
            rate: job.rate! / n,
            count: Math.ceil(job.count / n),
            ...(job.certs ? { certs: { ...job.certs, offset: job.certs.offset + k * Math.ceil(job.count / n) } } : {}),
          }),
        ),
      );
      const wall = (performance.now() - w0) / 1000;
      const cpu = processCpu(b.pid)! - c0;
      const loadCpu = loaders.reduce((sum, l, k) => sum + (processCpu(l.child.pid!)! - l0[k]), 0);
      const r: JobResult = {
        count: parts.reduce((a, p) => a + p.count, 0),
        seconds: Math.max(...parts.map((p) => p.seconds)),
        statuses: {},
        bytes: 0,
        errors: parts.flatMap((p) => p.errors).slice(0, 5),
        samples: parts.flatMap((p) => p.samples ?? []),
      };
      for (const p of parts) for (const [k, v] of Object.entries(p.statuses)) r.statuses[k] = (r.statuses[k] ?? 0) + v;
      const pgCpu = await backends.stop();
      clearInterval(poll);
      peak = Math.max(peak, await pgConnections(admin, store.database!));
      const lat = (r.samples ?? []).map(([, ms]) => ms);
      const bad = Object.entries(r.statuses).filter(([s]) => s !== '200');
      return {
        offered,
        achieved: r.count / r.seconds,
        runs: r.count,
        brokerCpuShare: cpu / wall,
        brokerCpuPerRun: cpu / Math.max(1, r.count),
        loadCpuShare: loadCpu / wall,
        postgresCpuShare: pgCpu / wall,
        p50Ms: percentile(lat, 50),
        p99Ms: percentile(lat, 99),
        rssMb: memoryMb(b.pid, 'VmRSS'),
        pgConnections: peak,
        errors: [...r.errors, ...bad.map(([s, n]) => `${n} × HTTP ${s}`)],
        load1: os.loadavg()[0],
      };
    };

    let offset = 1; // certificate 0 is the writer
    const ramp = async (
      name: string,
      key: FleetPass['key'],
      b: BrokerProcess,
      base: () => Omit<Job, 'count' | 'concurrency'>,
      advance: boolean,
    ): Promise<FleetPass> => {
      const steps: FleetStep[] = [];
      for (const rate of sizes.rates) {
        const count = Math.round(rate * sizes.stepSeconds);
        const job = { ...base(), rate, count, durationMs: sizes.stepSeconds * 1000 * 1.5, concurrency: sizes.maxInFlight, latency: true };
        const s = await step(b, job, rate);
        if (advance) offset += s.runs;
        steps.push(s);
        console.log(
          `[fleet] ${name}: offered ${rate}/s → ${s.achieved.toFixed(0)}/s, broker ${(s.brokerCpuShare * 100).toFixed(0)} % of a core (${(s.brokerCpuPerRun * 1000).toFixed(2)} ms/run), load generators ${(s.loadCpuShare * 100).toFixed(0)} %, PG ${(s.postgresCpuShare * 100).toFixed(0)} %, p99 ${s.p99Ms.toFixed(0)} ms, RSS ${s.rssMb.toFixed(0)} MB, PG connections ${s.pgConnections}, load ${s.load1.toFixed(1)}${s.errors.length ? `, errors: ${s.errors.join('; ')}` : ''}`,
        );
        if (!kept(s)) break;
      }
      const ok = steps.filter(kept);
      const perCore = median(steps.map((s) => 1 / s.brokerCpuPerRun));
      return { name, key, steps, capacity: ok.length ? Math.max(...ok.map((s) => s.achieved)) : 0, perCore, at56: steps[0] };
    };
    const fresh = (url: string, ca: string) => ({ url, path: '/v1/facts', mode: 'fresh' as const, ca, clients: [] as ClientCert[] });

    const passes: FleetPass[] = [];
    // First contact: every run a new certificate.
    passes.push(
      await ramp(
        'P-256, first contact (after a restart)',
        'P-256',
        broker,
        () => ({
          ...fresh(broker.url, fleet.caPem),
          certs: { file: fleet.certsFile, keyPem: fleet.keyPem, offset },
        }),
        true,
      ),
    );
    const seen = offset - 1;
    // Steady state: the nodes seen so far, again (a file of just those; runs wrap around it).
    const seenFile = path.join(dir, 'seen.b64');
    fs.writeFileSync(seenFile, `${lines.slice(1, 1 + seen).join('\n')}\n`);
    passes.push(
      await ramp(
        'P-256, steady state (nodes seen before)',
        'P-256',
        broker,
        () => ({
          ...fresh(broker.url, fleet.caPem),
          certs: { file: seenFile, keyPem: fleet.keyPem, offset: Math.floor(Math.random() * seen) },
        }),
        false,
      ),
    );
    passes.push(
      await ramp(
        'P-256, steady state, 10 % of runs read a secret',
        'P-256',
        broker,
        () => ({
          ...fresh(broker.url, fleet.caPem),
          certs: { file: seenFile, keyPem: fleet.keyPem, offset: Math.floor(Math.random() * seen) },
          also: { every: 10, paths: secretReads, status: 200 },
        }),
        false,
      ),
    );
    const rssAfterMb = memoryMb(broker.pid, 'VmRSS');
    await broker.stop();
    brokers.length = 0;

    // RSA-4096: its own CA and broker on the same database (its own environment's facts).
    console.log(`[fleet] RSA-4096 CA and ${sizes.rsaNodes} client certificates…`);
    const rsa = await rsa4096Pki(dir);
    const rsaClients: ClientCert[] = [];
    for (let i = 0; i < sizes.rsaNodes; i++) rsaClients.push(await rsa.client(`r${i}.fleet.bench`, ENV));
    const rsaBroker = await startBroker({
      pki: rsa,
      store: store.serveArgs('rsa'),
      probe: rsaClients[0],
      logFile: path.join(dir, 'broker-rsa.log'),
      dir: path.join(dir, 'broker-rsa'),
      keyring,
    });
    brokers.push(rsaBroker);
    await load.expect({ ...fresh(rsaBroker.url, rsa.caPem), clients: rsaClients, count: sizes.rsaNodes, concurrency: 4 }, 200);
    passes.push(
      await ramp(
        'RSA-4096, steady state',
        'RSA-4096',
        rsaBroker,
        () => ({ ...fresh(rsaBroker.url, rsa.caPem), clients: rsaClients }),
        false,
      ),
    );
    return {
      nodes: sizes.nodes,
      rsaNodes: sizes.rsaNodes,
      offered: offeredRate(100_000),
      certSeconds,
      passes,
      rssIdleMb,
      rssAfterMb,
      distinctSeen: seen,
    };
  } finally {
    for (const b of brokers) await b.stop().catch(() => undefined);
    for (const l of loaders.slice(1)) l.close();
    await backends.close().catch(() => undefined);
    await admin.end().catch(() => undefined);
    await store.drop().catch((err) => console.error(`[fleet] could not drop the store: ${(err as Error).message}`));
  }
}

export function reportFleet(r: FleetResult): void {
  const rows: Row[] = [];
  const target = (p: FleetPass) => (p.key === 'P-256' ? 5 : 2);
  for (const p of r.passes) {
    const s = p.at56;
    const headroom = p.capacity / r.offered;
    rows.push({
      figure: `${p.name}: sustained syncs/s, whole machine`,
      value: p.capacity.toFixed(0),
      target: `≥ ${(target(p) * r.offered).toFixed(0)} (${target(p)}× 56)`,
      verdict: headroom >= target(p) ? 'met' : 'MISSED',
      detail: `headroom ${headroom.toFixed(1)}× over 56/s; offered→achieved ${p.steps.map((x) => `${x.offered}→${x.achieved.toFixed(0)}`).join(', ')}`,
    });
    rows.push({
      figure: `${p.name}: syncs/s per core of broker CPU`,
      value: p.perCore.toFixed(0),
      target: `≥ ${(target(p) * r.offered).toFixed(0)}`,
      verdict: p.perCore / r.offered >= target(p) ? 'met' : 'MISSED',
      detail: `${(p.perCore / r.offered).toFixed(1)}× 56/s: the broker's ceiling on one core of its own`,
    });
    if (s) {
      rows.push({
        figure: `${p.name}: at 56/s offered`,
        value: `broker ${(s.brokerCpuShare * 100).toFixed(0)} % of a core`,
        target: '',
        detail: `load generators ${(s.loadCpuShare * 100).toFixed(0)} %, PG ${(s.postgresCpuShare * 100).toFixed(0)} %, p50 ${s.p50Ms.toFixed(0)} ms, p99 ${s.p99Ms.toFixed(0)} ms, RSS ${s.rssMb.toFixed(0)} MB, PG connections ${s.pgConnections}, load ${s.load1.toFixed(1)}`,
      });
    }
  }
  rows.push({
    figure: 'broker RSS: idle / after the P-256 passes',
    value: `${r.rssIdleMb.toFixed(0)} / ${r.rssAfterMb.toFixed(0)} MB`,
    detail: `${r.distinctSeen.toLocaleString('en')} distinct nodes seen of ${r.nodes.toLocaleString('en')} certificates (made in ${r.certSeconds.toFixed(0)} s)`,
  });
  printTable(
    `== fleet: ${r.nodes.toLocaleString('en')} P-256 certificates (${r.rsaNodes} RSA-4096), 30-minute interval = ${r.offered.toFixed(0)} syncs/s offered ==`,
    rows,
  );
}
