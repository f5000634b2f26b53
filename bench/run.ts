// `npm run bench [-- --quick] [-- --store embedded|postgres|both] [-- --out FILE] [-- --database-url URL]
//                [-- --only core|secrets|audit|policy|backup|watch|brokers|agent|fleet] [-- --audit-scale N] [-- --audit-chain N] [-- --rotation-rows N]
//                [-- --watchers N]`  (--only fleet: issue 14's fleet simulation, bench/fleet.ts; not in the default run)
//
// Seven parts, run in this order unless --only picks one: core (below), secrets (bench/secrets.ts,
// issue 4, PostgreSQL), audit (bench/audit.ts, issue 5, PostgreSQL), policy (bench/policy.ts, issue 6),
// backup (bench/backup.ts, issue 16, on the stores of --store) and watch (bench/watch.ts, issue 12,
// PostgreSQL; --watchers sets the largest number held, 10,000 by default;
// `LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 npm run bench -- --only watch` runs it
// under jemalloc), brokers (bench/brokers.ts, issue 12, PostgreSQL: agent syncs/s with one broker
// and with three on one database). agent (bench/agent.ts, issue 14 item 4: what the Puppet module
// adds to a Puppet run) runs only when asked for (`--only agent`).
//
// Server CPU seconds per operation, read from /proc, for the broker (`exportfact serve` in its
// own process, plus its PostgreSQL backends) against a bare Node https server with the same
// certificates, driven by a load generator in a third process. Each phase runs `reps` times,
// interleaved with the others, and the median is reported. A benchmark, not a test.
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { AGENT_SIZES, reportAgent, runAgent } from './agent';
import { auditSizesFor, reportAudit, runAudit } from './audit';
import { BACKUP_SIZES, reportBackup, runBackup } from './backup';
import { BROKERS_SIZES, reportBrokers, runBrokers } from './brokers';
import { type ClientCert, type Pki, p256Pki, rsa4096Pki } from './certs';
import { memoryMb, PgBackends, ServerCpu } from './cpu';
import { FLEET_SIZES, reportFleet, runFleet } from './fleet';
import { type Job, LoadGenerator, requestOnce } from './load';
import { benchCorePolicyYaml, reportPolicy, runPolicy } from './policy';
import { median, ms, printTable, type Row, x } from './report';
import { reportSecrets, runSecrets, SECRETS_SIZES } from './secrets';
import { type ServerProcess, startBareServer, startBroker } from './servers';
import { bulkLoadFacts, createStore, factValue, type StoreKind } from './store';
import { reportWatch, runWatch, WATCH_SIZES } from './watch';

const SIZES = {
  full: {
    reps: 3,
    handshakes: 200,
    fleet: 150,
    keepalive304: 1500,
    keepaliveFull: 800,
    throughput: 400,
    throughputRsa: 160,
    memFacts: 100_000,
    memGets: 5,
  },
  quick: {
    reps: 1,
    handshakes: 60,
    fleet: 40,
    keepalive304: 400,
    keepaliveFull: 200,
    throughput: 96,
    throughputRsa: 48,
    memFacts: 10_000,
    memGets: 3,
  },
};
type Sizes = (typeof SIZES)['full'];
const FRESH_CONCURRENCY = 4; // same for the bare server and the broker
const LANES = 16;

type Part = 'core' | 'secrets' | 'audit' | 'policy' | 'backup' | 'watch' | 'brokers' | 'agent' | 'fleet';
const PARTS: Part[] = ['core', 'secrets', 'audit', 'policy', 'backup', 'watch', 'brokers', 'agent', 'fleet'];
interface Options {
  quick: boolean;
  stores: StoreKind[];
  out?: string;
  adminUrl: string;
  parts: Part[];
  auditScale?: number;
  auditChain?: number;
  rotationRows?: number;
  watchers?: number;
}

const count = (flag: string, v: string | undefined): number => {
  const n = Number(String(v).replace(/[_,]/g, ''));
  if (!Number.isInteger(n) || n < 1000) throw new Error(`${flag} takes a whole number ≥ 1000`);
  return n;
};

function parseArgs(argv: string[]): Options {
  const o: Options = {
    quick: false,
    stores: ['embedded', 'postgres'],
    adminUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    parts: PARTS.filter((p) => p !== 'agent' && p !== 'fleet'),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--store') {
      const v = argv[++i];
      if (v !== 'embedded' && v !== 'postgres' && v !== 'both') throw new Error('--store embedded|postgres|both');
      o.stores = v === 'both' ? ['embedded', 'postgres'] : [v];
    } else if (a === '--out') o.out = argv[++i];
    else if (a === '--database-url') o.adminUrl = argv[++i];
    else if (a === '--only') {
      const v = argv[++i] as Part;
      if (!PARTS.includes(v)) throw new Error(`--only ${PARTS.join('|')}`);
      o.parts = [v];
    } else if (a === '--audit-scale') o.auditScale = count(a, argv[++i]);
    else if (a === '--audit-chain') o.auditChain = count(a, argv[++i]);
    else if (a === '--rotation-rows') o.rotationRows = count(a, argv[++i]);
    else if (a === '--watchers') o.watchers = count(a, argv[++i]);
    else throw new Error(`unknown option ${a}; see the top of bench/run.ts`);
  }
  return o;
}

interface Clients {
  writer200: ClientCert;
  writer1000: ClientCert;
  readers200: ClientCert[];
  reader1000: ClientCert;
  memReader: ClientCert;
  fleet: ClientCert[];
}

async function issueClients(pki: Pki, fleet: number): Promise<Clients> {
  // Roles, so that the 500-rule policy (bench/policy.ts, 50 roles) applies to the readers.
  const readers200: ClientCert[] = [];
  for (let i = 0; i < LANES; i++) readers200.push(await pki.client(`reader${i}.bench`, 'bench200', { pp_role: `role${i}` }));
  const fleetCerts: ClientCert[] = [];
  for (let i = 0; i < fleet; i++) fleetCerts.push(await pki.client(`node${i}.fleet.bench`, 'bench200', { pp_role: `role${i % 50}` }));
  return {
    writer200: await pki.client('writer200.bench', 'bench200', { pp_role: 'writer' }),
    writer1000: await pki.client('writer1000.bench', 'bench1000', { pp_role: 'writer' }),
    reader1000: await pki.client('reader1000.bench', 'bench1000'),
    memReader: await pki.client('memreader.bench', 'mem'),
    readers200,
    fleet: fleetCerts,
  };
}

/** One measured repetition of one phase. */
interface Sample {
  cpu: number;
  process: number;
  postgres: number;
  ops: number;
  opsPerSec: number;
  bytesPerOp: number;
}

interface PhaseDef {
  key: string;
  label: string;
  server: () => ServerProcess;
  withPg: boolean;
  job: (rep: number) => Job;
  status: number;
}

async function seed(load: LoadGenerator, url: string, pki: Pki, writer: ClientCert, count: number, perCategory: number): Promise<void> {
  const paths = Array.from({ length: count }, (_, i) => `/v1/facts/svc${Math.floor(i / perCategory)}/key${i % perCategory}`);
  await load.expect(
    {
      url,
      path: '',
      paths,
      method: 'PUT',
      bodies: paths.map((_, i) => ({ value: factValue(i) })),
      mode: 'keepalive',
      count,
      concurrency: 4,
      ca: pki.caPem,
      clients: [writer],
    },
    200,
    201,
  );
}

async function runStore(
  kind: StoreKind,
  o: Options,
  sizes: Sizes,
  tmp: string,
  load: LoadGenerator,
  p256: Pki,
  rsa: Pki,
  pc: Clients,
  rc: Clients,
) {
  const dir = path.join(tmp, kind);
  fs.mkdirSync(dir, { recursive: true });
  const store = await createStore(kind, dir, o.adminUrl);
  const started: ServerProcess[] = [];
  let backends: PgBackends | undefined;
  try {
    console.log(`[${kind}] loading ${sizes.memFacts} facts straight into the schema…`);
    const bulkSeconds = await bulkLoadFacts(store.serveArgs('main'), 'mem', sizes.memFacts);
    if (store.database) {
      backends = new PgBackends(o.adminUrl, store.database);
      await backends.connect();
    }
    const log = (n: string) => path.join(dir, `${n}.log`);
    const keyring = path.join(dir, 'keyring.json'); // one per store: brokers sharing a database share its keys
    const broker = await startBroker({
      pki: p256,
      store: store.serveArgs('main'),
      probe: pc.readers200[0],
      logFile: log('broker-p256'),
      dir: path.join(dir, 'broker-p256'),
      keyring,
    });
    started.push(broker);
    const rsaBroker = await startBroker({
      pki: rsa,
      store: store.serveArgs('rsa'),
      probe: rc.readers200[0],
      logFile: log('broker-rsa'),
      dir: path.join(dir, 'broker-rsa'),
      keyring,
    });
    started.push(rsaBroker);
    // The same two under the 500-rule policy (issue 14: the ratio must hold with a policy in force).
    const policyFile = path.join(dir, 'policy.yaml');
    fs.writeFileSync(policyFile, benchCorePolicyYaml());
    const policyBroker = await startBroker({
      pki: p256,
      store: store.serveArgs('policy-p256'),
      probe: pc.readers200[0],
      logFile: log('broker-p256-policy'),
      dir: path.join(dir, 'broker-p256-policy'),
      keyring,
      extraArgs: ['--policy', policyFile],
    });
    started.push(policyBroker);
    const policyRsaBroker = await startBroker({
      pki: rsa,
      store: store.serveArgs('policy-rsa'),
      probe: rc.readers200[0],
      logFile: log('broker-rsa-policy'),
      dir: path.join(dir, 'broker-rsa-policy'),
      keyring,
      extraArgs: ['--policy', policyFile],
    });
    started.push(policyRsaBroker);
    const bare = await startBareServer(p256);
    started.push(bare);
    const bareRsa = await startBareServer(rsa);
    started.push(bareRsa);

    console.log(`[${kind}] seeding 200 + 1,000 facts through the API…`);
    await seed(load, broker.url, p256, pc.writer200, 200, 10);
    await seed(load, broker.url, p256, pc.writer1000, 1000, 20);
    // Same values, same certname: a no-op on a shared database (PostgreSQL); embedded brokers have a folder each.
    await seed(load, rsaBroker.url, rsa, rc.writer200, 200, 10);
    await seed(load, policyBroker.url, p256, pc.writer200, 200, 10);
    await seed(load, policyRsaBroker.url, rsa, rc.writer200, 200, 10);
    const tag = (await requestOnce(`${broker.url}/v1/facts`, p256.caPem, pc.reader1000)).etag!;
    const view200 = await requestOnce(`${broker.url}/v1/facts`, p256.caPem, pc.readers200[0]);
    const inm = { 'If-None-Match': tag };

    const fresh = (server: () => ServerProcess, pki: Pki, clients: ClientCert[], count: number, extra: Partial<Job> = {}): Job => ({
      url: server().url,
      path: '/v1/facts',
      mode: 'fresh',
      count,
      concurrency: FRESH_CONCURRENCY,
      ca: pki.caPem,
      clients,
      ...extra,
    });
    const keep = (count: number, extra: Partial<Job> = {}): Job => ({
      url: broker.url,
      path: '/v1/facts',
      mode: 'keepalive',
      count,
      concurrency: 1,
      warmup: 1,
      ca: p256.caPem,
      clients: [pc.reader1000],
      ...extra,
    });
    const F = sizes.fleet;
    const phases: PhaseDef[] = [
      {
        key: 'bare',
        label: 'bare handshake, P-256 (baseline)',
        server: () => bare,
        withPg: false,
        status: 200,
        job: () => fresh(() => bare, p256, pc.readers200, sizes.handshakes, { path: '/' }),
      },
      {
        key: 'sync',
        label: 'agent sync, 200 facts, repeat node',
        server: () => broker,
        withPg: true,
        status: 200,
        job: () => fresh(() => broker, p256, pc.readers200, sizes.handshakes),
      },
      {
        key: 'syncPolicy',
        label: 'agent sync, P-256, 500-rule policy',
        server: () => policyBroker,
        withPg: true,
        status: 200,
        job: () => fresh(() => policyBroker, p256, pc.readers200, sizes.handshakes),
      },
      {
        key: 'syncFleet',
        label: 'agent sync, 200 facts, new node each',
        server: () => broker,
        withPg: true,
        status: 200,
        job: (r) => fresh(() => broker, p256, pc.fleet.slice(r * F, (r + 1) * F), F),
      },
      {
        key: 'keep304',
        label: 'kept-alive 304, 1,000 facts',
        server: () => broker,
        withPg: true,
        status: 304,
        job: () => keep(sizes.keepalive304, { headers: inm }),
      },
      {
        key: 'keepFull',
        label: 'kept-alive full view, 1,000 facts',
        server: () => broker,
        withPg: true,
        status: 200,
        job: () => keep(sizes.keepaliveFull),
      },
      {
        key: 'fresh304',
        label: 'fresh handshake + 304, 1,000 facts',
        server: () => broker,
        withPg: true,
        status: 304,
        job: () => fresh(() => broker, p256, [pc.reader1000], sizes.handshakes, { headers: inm }),
      },
      {
        key: 'freshFull',
        label: 'fresh handshake + full view, 1,000 facts',
        server: () => broker,
        withPg: true,
        status: 200,
        job: () => fresh(() => broker, p256, [pc.reader1000], sizes.handshakes),
      },
      {
        key: 'bareRsa',
        label: 'bare handshake, RSA-4096',
        server: () => bareRsa,
        withPg: false,
        status: 200,
        job: () => fresh(() => bareRsa, rsa, rc.readers200, Math.round(sizes.handshakes / 2), { path: '/' }),
      },
      {
        key: 'syncRsa',
        label: 'agent sync, RSA-4096',
        server: () => rsaBroker,
        withPg: true,
        status: 200,
        job: () => fresh(() => rsaBroker, rsa, rc.readers200, Math.round(sizes.handshakes / 2)),
      },
      {
        key: 'syncRsaPolicy',
        label: 'agent sync, RSA-4096, 500-rule policy',
        server: () => policyRsaBroker,
        withPg: true,
        status: 200,
        job: () => fresh(() => policyRsaBroker, rsa, rc.readers200, Math.round(sizes.handshakes / 2)),
      },
      {
        key: 'tpP256',
        label: 'agent syncs at concurrency 16, P-256',
        server: () => broker,
        withPg: true,
        status: 200,
        job: () => fresh(() => broker, p256, pc.readers200, sizes.throughput, { concurrency: LANES }),
      },
      {
        key: 'tpRsa',
        label: 'agent syncs at concurrency 16, RSA-4096',
        server: () => rsaBroker,
        withPg: true,
        status: 200,
        job: () => fresh(() => rsaBroker, rsa, rc.readers200, sizes.throughputRsa, { concurrency: LANES }),
      },
    ];

    console.log(`[${kind}] warming up…`);
    for (const p of phases) {
      const j = p.job(0);
      await load.expect(
        { ...j, clients: p.key === 'syncFleet' ? pc.readers200 : j.clients, count: Math.min(j.count, p.key.startsWith('keep') ? 300 : 48) },
        p.status,
      );
    }

    const samples: Record<string, Sample[]> = {};
    for (let rep = 0; rep < sizes.reps; rep++) {
      for (const p of phases) {
        const job = p.job(rep);
        const server = p.server();
        const m = await new ServerCpu(server.pid, p.withPg ? backends : undefined).measure(() => load.expect(job, p.status));
        const n = m.result.count;
        (samples[p.key] ??= []).push({
          cpu: m.total / n,
          process: m.process / n,
          postgres: m.postgres / n,
          ops: n,
          opsPerSec: n / m.result.seconds,
          bytesPerOp: m.result.bytes / n,
        });
        console.log(
          `[${kind}] rep ${rep + 1}/${sizes.reps} ${p.label.padEnd(42)} ${ms(m.total / n)}/op  ${(n / m.result.seconds).toFixed(0)}/s`,
        );
      }
    }
    const rssAfterPhases = memoryMb(broker.pid, 'VmRSS');

    // Memory: a broker started afresh on the store holding the 100k-fact environment.
    for (const s of started.splice(0)) await s.stop();
    const memBroker = await startBroker({
      pki: p256,
      store: store.serveArgs('main'),
      probe: pc.memReader,
      logFile: log('broker-mem'),
      dir: path.join(dir, 'broker-mem'),
      keyring,
    });
    started.push(memBroker);
    const rssIdle = memoryMb(memBroker.pid, 'VmRSS');
    const memJob: Job = {
      url: memBroker.url,
      path: '/v1/facts',
      mode: 'keepalive',
      count: sizes.memGets,
      concurrency: 1,
      ca: p256.caPem,
      clients: [pc.memReader],
    };
    const mem = await new ServerCpu(memBroker.pid, backends).measure(() => load.expect(memJob, 200));
    const memory = {
      facts: sizes.memFacts,
      rssIdleMb: rssIdle,
      rssAfterGetsMb: memoryMb(memBroker.pid, 'VmRSS'),
      peakRssMb: memoryMb(memBroker.pid, 'VmHWM'),
      fullGets: sizes.memGets,
      bodyBytes: mem.result.bytes / mem.result.count,
      cpuPerFullGet: mem.total / mem.result.count,
      rssAfterPhasesMb: rssAfterPhases,
      bulkLoadSeconds: bulkSeconds,
    };
    console.log(
      `[${kind}] RSS with ${sizes.memFacts} facts: idle ${rssIdle.toFixed(0)} MB, after ${sizes.memGets} full GETs ${memory.rssAfterGetsMb.toFixed(0)} MB (peak ${memory.peakRssMb.toFixed(0)} MB)`,
    );

    const ratio = (a: string, b: string) => median(samples[a].map((s, i) => s.cpu / samples[b][i].cpu));
    const summary = Object.fromEntries(
      phases.map((p) => {
        const s = samples[p.key];
        return [
          p.key,
          {
            label: p.label,
            cpuPerOp: median(s.map((v) => v.cpu)),
            processPerOp: median(s.map((v) => v.process)),
            postgresPerOp: median(s.map((v) => v.postgres)),
            opsPerSec: median(s.map((v) => v.opsPerSec)),
            bytesPerOp: median(s.map((v) => v.bytesPerOp)),
            ops: s[0].ops,
            reps: s,
          },
        ];
      }),
    );
    return {
      store: kind,
      phases: summary,
      ratios: {
        syncOverBare: ratio('sync', 'bare'),
        fleetSyncOverBare: ratio('syncFleet', 'bare'),
        matrix: {
          'P-256, no policy': ratio('sync', 'bare'),
          'P-256, 500 rules': ratio('syncPolicy', 'bare'),
          'RSA-4096, no policy': ratio('syncRsa', 'bareRsa'),
          'RSA-4096, 500 rules': ratio('syncRsaPolicy', 'bareRsa'),
        } as Record<string, number>,
        keepFullOver304: ratio('keepFull', 'keep304'),
        freshFullOver304: ratio('freshFull', 'fresh304'),
        rsaSyncOverRsaBare: ratio('tpRsa', 'bareRsa'),
      },
      throughput: { p256: summary.tpP256.opsPerSec, rsa4096: summary.tpRsa.opsPerSec },
      view200Bytes: view200.bytes,
      memory,
    };
  } finally {
    for (const s of started) await s.stop().catch(() => undefined);
    await backends?.close().catch(() => undefined);
    await store.drop().catch((err) => console.error(`[${kind}] could not drop the store: ${(err as Error).message}`));
  }
}

type StoreResult = Awaited<ReturnType<typeof runStore>>;

function report(r: StoreResult): void {
  const p = r.phases;
  const cpu = (k: string) =>
    `${ms(p[k].cpuPerOp)}${r.store === 'postgres' && p[k].postgresPerOp > 0 ? ` (pg ${ms(p[k].postgresPerOp)})` : ''}`;
  const rows: Row[] = [
    ...Object.keys(p).map((k) => ({
      figure: p[k].label,
      value: cpu(k),
      detail: `${p[k].opsPerSec.toFixed(0)}/s, ${p[k].ops} ops × ${p[k].reps.length}`,
    })),
    ...Object.entries(r.ratios.matrix).map(([cell, v]) => ({
      figure: `sync ÷ bare handshake, ${cell} (issue 14, 1)`,
      value: x(v),
      target: '≤ 1.10',
      verdict: v <= 1.1 ? ('met' as const) : ('MISSED' as const),
    })),
    {
      figure: 'first contact ÷ bare handshake, P-256 (issue 14, 2)',
      value: x(r.ratios.fleetSyncOverBare),
      target: '≤ 2',
      verdict: r.ratios.fleetSyncOverBare <= 2 ? 'met' : 'MISSED',
    },
    {
      figure: 'full view ÷ 304, kept-alive',
      value: x(r.ratios.keepFullOver304),
      target: '≥ 5',
      verdict: r.ratios.keepFullOver304 >= 5 ? 'met' : 'MISSED',
    },
    { figure: 'full view ÷ 304, fresh handshake', value: x(r.ratios.freshFullOver304), target: '', detail: 'informative' },
    { figure: 'RSA-4096 sync ÷ RSA-4096 bare (c16 vs c4)', value: x(r.ratios.rsaSyncOverRsaBare), detail: 'informative' },
    { figure: 'syncs/s at c16, P-256', value: r.throughput.p256.toFixed(0), detail: 'load generator shares the 2 cores' },
    { figure: 'syncs/s at c16, RSA-4096', value: r.throughput.rsa4096.toFixed(0), detail: 'load generator shares the 2 cores' },
    {
      figure: `broker RSS, ${r.memory.facts} facts`,
      value: `${r.memory.rssAfterGetsMb.toFixed(0)} MB`,
      target: r.store === 'postgres' ? '< 200 MB' : '',
      verdict: r.store === 'postgres' ? (r.memory.rssAfterGetsMb < 200 ? 'met' : 'MISSED') : '',
      detail: `idle ${r.memory.rssIdleMb.toFixed(0)} MB, peak ${r.memory.peakRssMb.toFixed(0)} MB, view ${(r.memory.bodyBytes / 1e6).toFixed(1)} MB, ${ms(r.memory.cpuPerFullGet)} CPU/GET`,
    },
  ];
  printTable(`== ${r.store} store: server CPU per operation (median of ${Object.values(p)[0].reps.length}) ==`, rows);
}

async function machine(adminUrl: string, stores: StoreKind[]) {
  let postgres: string | undefined;
  if (stores.includes('postgres')) {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    postgres = (await c.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version;
    await c.end();
  }
  return {
    nproc: os.cpus().length,
    cpu: /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1],
    node: process.version,
    postgres,
    loadBefore: os.loadavg(),
    kernel: execSync('uname -r').toString().trim(),
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const sizes = o.quick ? SIZES.quick : SIZES.full;
  const secretsSizes = {
    ...(o.quick ? SECRETS_SIZES.quick : SECRETS_SIZES.full),
    ...(o.rotationRows ? { rotationRows: o.rotationRows } : {}),
  };
  const auditSizes = auditSizesFor(o.quick, o.auditScale, o.auditChain);
  const watchSizes = { ...(o.quick ? WATCH_SIZES.quick : WATCH_SIZES.full) };
  if (o.watchers) watchSizes.steps = [...watchSizes.steps.filter((n) => n < o.watchers!), o.watchers];
  const core = o.parts.includes('core');
  const needsPg = !core || o.stores.includes('postgres') || o.parts.length > 1;
  const info = await machine(o.adminUrl, needsPg ? ['postgres'] : o.stores);
  const started = Date.now();
  console.log(
    `exportfact bench (${o.quick ? 'quick' : 'default'}; ${o.parts.join(', ')}): ${info.nproc} CPUs (${info.cpu}), node ${info.node}${info.postgres ? `, PostgreSQL ${info.postgres}` : ''}, load ${info.loadBefore.map((l) => l.toFixed(2)).join(' ')}`,
  );
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'exportfact-bench-'));
  const load = LoadGenerator.start();
  const out: Record<string, unknown> = {
    date: new Date().toISOString(),
    mode: o.quick ? 'quick' : 'default',
    parts: o.parts,
    sizes,
    secretsSizes,
    auditSizes,
    watchSizes,
  };
  const loads: Record<string, number[]> = { before: os.loadavg() };
  const partSeconds: Record<string, number> = {};
  try {
    console.log(`making certificates${core ? ' (RSA-4096 keys take a few seconds)' : ''}…`);
    const p256 = await p256Pki(tmp);
    if (core) {
      const rsa = await rsa4096Pki(tmp);
      const pc = await issueClients(p256, sizes.fleet * sizes.reps);
      const rc = await issueClients(rsa, 0);
      const results: StoreResult[] = [];
      for (const kind of o.stores) results.push(await runStore(kind, o, sizes, tmp, load, p256, rsa, pc, rc));
      for (const r of results) report(r);
      out.results = results;
      loads.afterCore = os.loadavg();
      partSeconds.core = (Date.now() - started) / 1000;
    }
    if (o.parts.includes('secrets')) {
      const readers: ClientCert[] = [];
      for (let i = 0; i < 8; i++) readers.push(await p256.client(`sreader${i}.bench`, 'bench'));
      const secrets = await runSecrets({ adminUrl: o.adminUrl, tmp, sizes: secretsSizes, load, pki: p256, readers });
      reportSecrets(secrets);
      out.secrets = secrets;
      loads.afterSecrets = os.loadavg();
      partSeconds.secrets = (Date.now() - started) / 1000 - (partSeconds.core ?? 0);
    }
    if (o.parts.includes('audit')) {
      const audit = await runAudit({ adminUrl: o.adminUrl, tmp, sizes: auditSizes });
      reportAudit(audit);
      out.audit = audit;
      loads.afterAudit = os.loadavg();
    }
    if (o.parts.includes('policy')) {
      const policy = await runPolicy(o.adminUrl, o.quick);
      reportPolicy(policy);
      out.policy = policy;
      loads.afterPolicy = os.loadavg();
    }
    if (o.parts.includes('backup')) {
      const backup = await runBackup({
        adminUrl: o.adminUrl,
        tmp,
        stores: o.stores,
        sizes: o.quick ? BACKUP_SIZES.quick : BACKUP_SIZES.full,
        pki: p256,
      });
      reportBackup(backup);
      out.backup = backup;
      loads.afterBackup = os.loadavg();
    }
    if (o.parts.includes('fleet')) {
      const fleet = await runFleet({ adminUrl: o.adminUrl, tmp, load, sizes: o.quick ? FLEET_SIZES.quick : FLEET_SIZES.full });
      reportFleet(fleet);
      out.fleet = fleet;
      loads.afterFleet = os.loadavg();
      partSeconds.fleet = (Date.now() - started) / 1000 - Object.values(partSeconds).reduce((a, b) => a + b, 0);
    }
    if (o.parts.includes('watch')) {
      const watch = await runWatch({ adminUrl: o.adminUrl, tmp, pki: p256, sizes: watchSizes });
      reportWatch(watch);
      out.watch = watch;
      loads.afterWatch = os.loadavg();
    }
    if (o.parts.includes('brokers')) {
      const brokers = await runBrokers({
        adminUrl: o.adminUrl,
        tmp,
        pki: p256,
        load,
        sizes: o.quick ? BROKERS_SIZES.quick : BROKERS_SIZES.full,
      });
      reportBrokers(brokers);
      out.brokers = brokers;
      loads.afterBrokers = os.loadavg();
    }
    if (o.parts.includes('agent')) {
      const agent = await runAgent({ tmp, sizes: o.quick ? AGENT_SIZES.quick : AGENT_SIZES.full });
      reportAgent(agent);
      out.agent = agent;
      loads.afterAgent = os.loadavg();
    }
    out.machine = { ...info, loads, partSeconds, wallSeconds: (Date.now() - started) / 1000 };
    console.log(
      `\nwall time ${((Date.now() - started) / 60000).toFixed(1)} min; load ${Object.entries(loads)
        .map(([k, l]) => `${k} ${l.map((v) => v.toFixed(2)).join(' ')}`)
        .join('; ')}`,
    );
    if (o.out) {
      fs.writeFileSync(o.out, `${JSON.stringify(out, null, 2)}\n`);
      console.log(`results written to ${o.out}`);
    }
  } finally {
    load.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
