// Profiles the broker on the agent-sync path only: `node dist/bench/profile-sync.js [--store
// embedded|postgres] [--mode repeat|new] [--count N] [--policy] [--out DIR]`. Starts one broker
// under --cpu-prof, seeds 200 facts, warms up, then runs N fresh-handshake syncs (repeat nodes,
// or a new certificate each) and prints the profile's summary for that window only
// (bench/profile-summary.ts), so start-up and seeding do not blur it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ClientCert, p256Pki } from './certs';
import { processCpu } from './cpu';
import { type Job, LoadGenerator } from './load';
import { benchCorePolicyYaml } from './policy';
import { printSummary, summarise } from './profile-summary';
import { median } from './report';
import { startBareServer, startBroker } from './servers';
import { createStore, factValue, type StoreKind } from './store';

async function main() {
  const argv = process.argv.slice(2);
  const arg = (flag: string, dflt: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : dflt);
  const kind = arg('--store', 'postgres') as StoreKind;
  const mode = arg('--mode', 'repeat');
  const count = Number(arg('--count', '1500'));
  const profDir = arg('--out', fs.mkdtempSync(path.join(os.tmpdir(), 'exportfact-prof-')));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'exportfact-profsync-'));
  const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const pki = await p256Pki(tmp);
  const store = await createStore(kind, tmp, adminUrl, 'prof');
  const load = LoadGenerator.start();
  // --serve ARG (repeatable): more `exportfact serve` options, e.g. --serve --log-level --serve warn.
  const extraArgs: string[] = argv.flatMap((a, i) => (a === '--serve' ? [argv[i + 1]] : []));
  if (argv.includes('--policy')) {
    fs.writeFileSync(path.join(tmp, 'policy.yaml'), benchCorePolicyYaml());
    extraArgs.push('--policy', path.join(tmp, 'policy.yaml'));
  }
  const readers: ClientCert[] = [];
  for (let i = 0; i < 16; i++) readers.push(await pki.client(`reader${i}.bench`, 'bench200', { pp_role: `role${i % 50}` }));
  const fresh: ClientCert[] = [];
  if (mode === 'new')
    for (let i = 0; i < count * Number(arg('--reps', '1')); i++)
      fresh.push(await pki.client(`new${i}.bench`, 'bench200', { pp_role: `role${i % 50}` }));
  const writer = await pki.client('writer200.bench', 'bench200', { pp_role: 'writer' });
  if (!argv.includes('--no-prof')) process.env.BENCH_BROKER_NODE_ARGS = `--cpu-prof --cpu-prof-dir=${profDir}`;
  const broker = await startBroker({
    pki,
    store: store.serveArgs('main'),
    probe: readers[0],
    logFile: path.join(tmp, 'broker.log'),
    dir: path.join(tmp, 'broker'),
    extraArgs,
  });
  // --ab VARIANTS: more brokers on the same store, started with ABLATE=variant each (a
  // temporary switch for experiments), measured interleaved with the first.
  const variants = argv.includes('--ab') ? arg('--ab', '').split('/') : [];
  const others: { name: string; broker: Awaited<ReturnType<typeof startBroker>> }[] = [];
  for (const v of variants) {
    process.env.ABLATE = v;
    others.push({
      name: v,
      broker: await startBroker({
        pki,
        store: store.serveArgs(`ab${others.length}`),
        probe: readers[0],
        logFile: path.join(tmp, `b${v}.log`),
        dir: path.join(tmp, `b${v}`),
        extraArgs,
      }),
    });
  }
  delete process.env.ABLATE;
  try {
    const paths = Array.from({ length: 200 }, (_, i) => `/v1/facts/svc${Math.floor(i / 10)}/key${i % 10}`);
    await load.expect(
      {
        url: broker.url,
        path: '',
        paths,
        method: 'PUT',
        bodies: paths.map((_, i) => ({ value: factValue(i) })),
        mode: 'keepalive',
        count: 200,
        concurrency: 4,
        ca: pki.caPem,
        clients: [writer],
      },
      200,
      201,
    );
    const job: Job = {
      url: broker.url,
      path: '/v1/facts',
      mode: 'fresh',
      count,
      concurrency: 4,
      ca: pki.caPem,
      clients: mode === 'new' ? fresh : readers,
    };
    await load.expect({ ...job, clients: readers, count: 200 }, 200);
    const bare = await startBareServer(pki);
    const bareJob: Job = { ...job, url: bare.url, path: '/', clients: readers };
    await load.expect({ ...bareJob, count: 100 }, 200);
    const from = process.hrtime.bigint() / 1000n;
    const ratios: number[] = [];
    const abRatios: Record<string, number[]> = {};
    for (const o of others) {
      const w = Array.from({ length: 200 }, (_, i) => `/v1/facts/svc${Math.floor(i / 10)}/key${i % 10}`);
      await load.expect(
        {
          url: o.broker.url,
          path: '',
          paths: w,
          method: 'PUT',
          bodies: w.map((_, i) => ({ value: factValue(i) })),
          mode: 'keepalive',
          count: 200,
          concurrency: 4,
          ca: pki.caPem,
          clients: [writer],
        },
        200,
        201,
      );
      await load.expect({ ...job, url: o.broker.url, clients: readers, count: 100 }, 200);
    }
    for (let rep = 0; rep < Number(arg('--reps', '1')); rep++) {
      const b0 = processCpu(bare.pid)!;
      await load.expect(bareJob, 200);
      const b = processCpu(bare.pid)! - b0;
      const cpu0 = processCpu(broker.pid)!;
      await load.expect(mode === 'new' ? { ...job, clients: fresh.slice(rep * count, (rep + 1) * count) } : job, 200);
      const cpu = processCpu(broker.pid)! - cpu0;
      ratios.push(cpu / b);
      let line = `bare ${((b / count) * 1000).toFixed(3)} ms, broker ${((cpu / count) * 1000).toFixed(3)} ms per sync: ${(cpu / b).toFixed(2)}×`;
      // Rotated each repetition, so that no variant always runs right after the bare server.
      for (let k = 0; k < others.length; k++) {
        const o = others[(k + rep) % others.length];
        const c0 = processCpu(o.broker.pid)!;
        await load.expect({ ...job, url: o.broker.url, clients: readers }, 200);
        const c = processCpu(o.broker.pid)! - c0;
        ((abRatios[o.name] ??= []) as number[]).push(c / b);
        line += `; ${o.name} ${(c / b).toFixed(2)}×`;
      }
      console.log(line);
    }
    const to = process.hrtime.bigint() / 1000n;
    await bare.stop();
    await broker.stop();
    for (const o of others) await o.broker.stop();
    console.log(
      `ratio median ${median(ratios).toFixed(2)}×${others.map((o) => `; ${o.name} ${median(abRatios[o.name]).toFixed(2)}×`).join('')}; load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    if (argv.includes('--no-prof')) return;
    const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'))!;
    const s = summarise(JSON.parse(fs.readFileSync(path.join(profDir, file), 'utf8')), Number(from), Number(to));
    console.log(
      `${kind}, ${mode} nodes, ${count} syncs; profile ${path.join(profDir, file)}; load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    printSummary(s, Number(arg('--top', '25')), undefined, count);
  } finally {
    await broker.stop();
    load.close();
    await store.drop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
