// Watch (issue 12): how long a change takes to reach a waiting watcher (GET /v1/facts?wait=
// with If-None-Match), and what waiting watchers cost the broker: resident memory per 1,000,
// CPU while they wait, CPU per watcher woken, and whether the memory comes back when they all
// hang up at once. `exportfact serve` on PostgreSQL in its own process; the watchers (one
// mTLS connection and one node certificate each, as `exportfact watch` does) in another; a
// change is one PUT sent from this process. Latency: from the PUT being sent to each
// watcher receiving its 200 (one clock: the machine's, read in both processes).
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { now, WatchClients } from '../test/support/watch-clients';
import type { ClientCert, Pki } from './certs';
import { memoryMb, processCpu } from './cpu';
import { msOf, percentile, printTable, type Row } from './report';
import { type ServerProcess, startBareServer, startBroker } from './servers';
import { createStore } from './store';

export const WATCH_SIZES = {
  full: { steps: [1_000, 5_000, 10_000], changes: 5, crossBroker: 1_000, idleSeconds: 10, seedFacts: 50 },
  quick: { steps: [300, 1_000], changes: 3, crossBroker: 200, idleSeconds: 3, seedFacts: 50 },
};
export type WatchSizes = (typeof WATCH_SIZES)['full'];

const ENV = 'watchbench';
/** After every watcher hung up: idle this long, so V8 can shrink its heap, before RSS is read. */
const SETTLE_MS = 30_000;
/** Longer than any phase: no held request ends by its wait during the measurement. */
const WAIT = '300s';

interface Latency {
  watchers: number;
  changes: number;
  p50: number;
  p99: number;
  max: number;
  /** The PUT's own time to its answer, median. */
  publishMs: number;
}

export interface WatchStep {
  watchers: number;
  openSeconds: number;
  /** Broker CPU seconds per watcher opened: handshake, first view, held request. */
  cpuPerOpen: number;
  rssMb: number;
  rssPerThousandMb: number;
  /** RSS growth per 1,000 from the previous step (V8's uncollected garbage cancels out). */
  rssSlopePerThousandMb?: number;
  /** Share of one core the broker used while they waited and nothing changed. */
  idleCpuShare: number;
  latency: Latency;
  /** Broker CPU seconds per watcher woken: its 200, and its next held request. */
  cpuPerWake: number;
}

export interface WatchResult {
  rssIdleMb: number;
  steps: WatchStep[];
  crossBroker: Latency;
  hangUp: {
    watchers: number;
    dropMs: number;
    held: Memory;
    /** SETTLE_MS after every watcher hung up. */
    after: Memory;
    /** After a second round of as many watchers, hung up the same way: growth would be a leak. */
    afterSecondRound: Memory;
  };
  idle: Memory;
  /** A bare Node https server (bench/bare-server.ts) holding as many idle mTLS connections: what a connection costs. */
  bare: { connections: number; idle: Memory; held: Memory };
  clientRssMb: number;
  errors: string[];
  /** Held requests that failed (then retried), by cause: none expected. */
  failures: Record<string, number>;
  held: number;
  target: number;
}

/** Resident memory of a process, and where it sits (from /proc/PID/smaps), in MB. */
interface Memory {
  rss: number;
  /** glibc's main arena (the brk heap): native allocations, OpenSSL's among them. */
  brkHeap: number;
  /** Anonymous mappings: V8's heap, glibc's other arenas, large buffers. */
  anon: number;
}

function memoryOf(pid: number): Memory {
  const m: Memory = { rss: 0, brkHeap: 0, anon: 0 };
  let mapping = '';
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      mapping = head[1] === '0' && !head[2] ? 'anon' : head[2] === '[heap]' ? 'brk' : 'other';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (!rss) continue;
    const mb = Number(rss[1]) / 1024;
    m.rss += mb;
    if (mapping === 'brk') m.brkHeap += mb;
    else if (mapping === 'anon') m.anon += mb;
  }
  return m;
}

const memText = (m: Memory) => `${m.rss.toFixed(0)} MB (brk heap ${m.brkHeap.toFixed(0)}, anonymous ${m.anon.toFixed(0)})`;

/** One kept-alive mTLS client for the writer's PUTs and the metrics scrapes. */
function client(url: string, ca: string, cert: ClientCert) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca, cert: cert.certPem, key: cert.keyPem });
  const request = (method: string, urlPath: string, body?: unknown) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = https.request(
        `${url}${urlPath}`,
        { method, agent, headers: data ? { 'Content-Type': 'application/json' } : {} },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  return {
    async put(urlPath: string, value: unknown) {
      const r = await request('PUT', urlPath, { value });
      if (r.status !== 200 && r.status !== 201) throw new Error(`PUT ${urlPath}: ${r.status} ${r.text}`);
    },
    async waiting(): Promise<number> {
      const text = (await request('GET', '/metrics')).text;
      return Number(/^exportfact_watch_waiting (\S+)$/m.exec(text)?.[1] ?? NaN);
    },
    close: () => agent.destroy(),
  };
}
type Client = ReturnType<typeof client>;

async function until(what: string, condition: () => Promise<boolean>, withinMs: number): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > withinMs) throw new Error(`watch bench: ${what} not within ${withinMs / 1000} s`);
    await sleep(50);
  }
}

/**
 * `changes` publishes on `writer`; after each, every one of `watchers` watchers (on `watched`)
 * must receive it and wait again before the next. Latencies from each PUT being sent.
 */
async function changeRounds(
  clients: WatchClients,
  writer: Client,
  watched: Client,
  watchers: number,
  changes: number,
  label: string,
): Promise<{ latency: Latency; seconds: number[] }> {
  const samples: number[] = [];
  const publishMs: number[] = [];
  const seconds: number[] = [];
  for (let r = 0; r < changes; r++) {
    await clients.arrivals(); // forget anything earlier
    const sent = now();
    await writer.put('/v1/facts/watch/change', `${label} ${r} ${sent}`);
    publishMs.push(now() - sent);
    const arrived: number[] = [];
    await until(
      `${watchers} watchers receiving change ${r}`,
      async () => {
        arrived.push(...(await clients.arrivals()));
        return arrived.length >= watchers;
      },
      180_000,
    ).catch(async (err: Error) => {
      const stats = await clients.stats();
      throw new Error(`${err.message}: ${arrived.length} arrived; failed held requests ${JSON.stringify(stats.failures)}`);
    });
    seconds.push((now() - sent) / 1000);
    for (const a of arrived) samples.push(a - sent);
    await until(`${watchers} watchers waiting again`, async () => (await watched.waiting()) === watchers, 120_000);
    await sleep(500);
  }
  return {
    latency: {
      watchers,
      changes,
      p50: percentile(samples, 50),
      p99: percentile(samples, 99),
      max: Math.max(...samples),
      publishMs: percentile(publishMs, 50),
    },
    seconds,
  };
}

export async function runWatch(o: { adminUrl: string; tmp: string; pki: Pki; sizes: WatchSizes }): Promise<WatchResult> {
  const { sizes, pki } = o;
  const dir = path.join(o.tmp, 'watch');
  const store = await createStore('postgres', dir, o.adminUrl, 'watch');
  const started: ServerProcess[] = [];
  const clientsList: WatchClients[] = [];
  const target = sizes.steps[sizes.steps.length - 1];
  try {
    const writerCert = await pki.client('writer.watch.bench', ENV);
    const keyring = path.join(dir, 'keyring.json');
    const broker = await startBroker({
      pki,
      store: store.serveArgs('a'),
      probe: writerCert,
      logFile: path.join(dir, 'broker-a.log'),
      dir: path.join(dir, 'a'),
      keyring,
    });
    started.push(broker);
    const other = await startBroker({
      pki,
      store: store.serveArgs('b'),
      probe: writerCert,
      logFile: path.join(dir, 'broker-b.log'),
      dir: path.join(dir, 'b'),
      keyring,
    });
    started.push(other);
    const writer = client(broker.url, pki.caPem, writerCert);
    const onOther = client(other.url, pki.caPem, writerCert);
    console.log(`[watch] seeding ${sizes.seedFacts} facts; issuing ${target} watcher certificates…`);
    for (let i = 0; i < sizes.seedFacts; i++) await writer.put(`/v1/facts/svc${i % 5}/key${i}`, { host: `10.0.0.${i}`, port: 5000 + i });
    const certs: ClientCert[] = [];
    for (let i = 0; i < target; i++) certs.push(await pki.client(`w${i}.watch.bench`, ENV));
    const rssIdleMb = memoryMb(broker.pid, 'VmRSS');
    const idle = memoryOf(broker.pid);

    // A change on broker A reaching watchers held on broker B: NOTIFY between brokers.
    const cross = WatchClients.start();
    clientsList.push(cross);
    await cross.open({
      url: other.url,
      ca: pki.caPem,
      certs: certs.slice(0, sizes.crossBroker),
      count: sizes.crossBroker,
      wait: WAIT,
      concurrency: 16,
    });
    await until('watchers held on broker B', async () => (await onOther.waiting()) === sizes.crossBroker, 120_000);
    const crossBroker = (await changeRounds(cross, writer, onOther, sizes.crossBroker, sizes.changes, 'cross')).latency;
    console.log(
      `[watch] A → ${sizes.crossBroker} watchers on B: p50 ${msOf(crossBroker.p50)}, p99 ${msOf(crossBroker.p99)}, max ${msOf(crossBroker.max)}`,
    );
    await cross.hangUp();
    cross.close();
    await until('no watcher on broker B', async () => (await onOther.waiting()) === 0, 30_000);

    const clients = WatchClients.start();
    clientsList.push(clients);
    const steps: WatchStep[] = [];
    let held = 0;
    for (const n of sizes.steps) {
      const cpu0 = processCpu(broker.pid)!;
      const opened = now();
      try {
        await clients.open({ url: broker.url, ca: pki.caPem, certs: certs.slice(held, n), count: n - held, wait: WAIT, concurrency: 16 });
        await until(`${n} watchers held`, async () => (await writer.waiting()) === n, 300_000);
      } catch (err) {
        console.log(`[watch] could not hold ${n} watchers: ${(err as Error).message}`);
        break;
      }
      const openSeconds = (now() - opened) / 1000;
      const cpuPerOpen = (processCpu(broker.pid)! - cpu0) / (n - held);
      held = n;
      await sleep(2_000);
      const rssMb = memoryMb(broker.pid, 'VmRSS');
      const idle0 = processCpu(broker.pid)!;
      await sleep(sizes.idleSeconds * 1000);
      const idleCpuShare = (processCpu(broker.pid)! - idle0) / sizes.idleSeconds;
      const wake0 = processCpu(broker.pid)!;
      const { latency } = await changeRounds(clients, writer, writer, n, sizes.changes, `step ${n}`);
      const cpuPerWake = (processCpu(broker.pid)! - wake0) / (n * sizes.changes);
      const previous = steps[steps.length - 1];
      const step = {
        watchers: n,
        openSeconds,
        cpuPerOpen,
        rssMb,
        rssPerThousandMb: (rssMb - rssIdleMb) / (n / 1000),
        rssSlopePerThousandMb: previous ? (rssMb - previous.rssMb) / ((n - previous.watchers) / 1000) : undefined,
        idleCpuShare,
        latency,
        cpuPerWake,
      };
      steps.push(step);
      console.log(
        `[watch] ${n} waiting: RSS ${rssMb.toFixed(0)} MB (${step.rssPerThousandMb.toFixed(1)} MB per 1,000), change → watcher p50 ${msOf(latency.p50)} p99 ${msOf(latency.p99)}, ${(cpuPerWake * 1000).toFixed(3)} ms CPU per wake`,
      );
    }

    // Every watcher hangs up at once, twice: what the broker keeps.
    const heldMemory = memoryOf(broker.pid);
    const hungUp = now();
    await clients.hangUp();
    await until('every waiter dropped', async () => (await writer.waiting()) === 0, 60_000);
    const dropMs = now() - hungUp;
    await sleep(SETTLE_MS);
    const after = memoryOf(broker.pid);
    console.log(`[watch] ${held} hung up: dropped in ${dropMs.toFixed(0)} ms; RSS ${memText(heldMemory)} → ${memText(after)}`);
    await clients.open({ url: broker.url, ca: pki.caPem, certs: certs.slice(0, held), count: held, wait: WAIT, concurrency: 16 });
    await until(`${held} watchers held again`, async () => (await writer.waiting()) === held, 300_000);
    await clients.hangUp();
    await until('every waiter dropped again', async () => (await writer.waiting()) === 0, 60_000);
    await sleep(SETTLE_MS);
    const afterSecondRound = memoryOf(broker.pid);
    console.log(`[watch] after a second round: RSS ${memText(afterSecondRound)}`);
    const stats = await clients.stats();
    writer.close();
    onOther.close();
    for (const s of started.splice(0)) await s.stop();

    // The same number of idle mTLS connections on a bare Node https server.
    const bareServer: ServerProcess = await startBareServer(pki);
    started.push(bareServer);
    const bareIdle = memoryOf(bareServer.pid);
    const bareClients = WatchClients.start();
    clientsList.push(bareClients);
    await bareClients.open({
      url: bareServer.url,
      path: '/',
      ca: pki.caPem,
      certs: certs.slice(0, held),
      count: held,
      wait: WAIT,
      concurrency: 16,
      idle: true,
    });
    await sleep(2_000);
    const bareHeld = memoryOf(bareServer.pid);
    console.log(`[watch] bare https server, ${held} idle mTLS connections: RSS ${memText(bareIdle)} → ${memText(bareHeld)}`);
    await bareClients.hangUp();
    return {
      rssIdleMb,
      steps,
      crossBroker,
      hangUp: { watchers: held, dropMs, held: heldMemory, after, afterSecondRound },
      idle,
      bare: { connections: held, idle: bareIdle, held: bareHeld },
      clientRssMb: stats.rssMb,
      errors: stats.errors,
      failures: stats.failures,
      held,
      target,
    };
  } finally {
    // Each part stopped whatever another one does (a broker left running outlives the bench).
    for (const c of clientsList) {
      try {
        c.close();
      } catch {
        /* already gone */
      }
    }
    for (const s of started) await s.stop().catch(() => undefined);
    await store.drop().catch((err) => console.error(`[watch] could not drop the store: ${(err as Error).message}`));
  }
}

export function reportWatch(r: WatchResult): void {
  const lat = (l: Latency) => `${msOf(l.p50)} / ${msOf(l.p99)}`;
  const rows: Row[] = [
    ...r.steps.map((s) => ({
      figure: `change → waiting watcher p50 / p99, ${s.watchers.toLocaleString('en')} waiting`,
      value: lat(s.latency),
      detail: `max ${msOf(s.latency.max)}, ${s.latency.changes} changes, PUT itself ${msOf(s.latency.publishMs)}`,
    })),
    {
      figure: `change on broker A → watcher on broker B p50 / p99, ${r.crossBroker.watchers.toLocaleString('en')} waiting`,
      value: lat(r.crossBroker),
      detail: `max ${msOf(r.crossBroker.max)} (NOTIFY between brokers)`,
    },
    ...r.steps.map((s) => ({
      figure: `broker RSS per 1,000 waiting watchers, ${s.watchers.toLocaleString('en')} waiting`,
      value: `${s.rssPerThousandMb.toFixed(1)} MB`,
      detail: `RSS ${s.rssMb.toFixed(0)} MB, idle ${r.rssIdleMb.toFixed(0)} MB${s.rssSlopePerThousandMb === undefined ? '' : `; ${s.rssSlopePerThousandMb.toFixed(1)} MB per 1,000 more since the step before`}`,
    })),
    ...r.steps.map((s) => ({
      figure: `broker CPU, ${s.watchers.toLocaleString('en')} waiting`,
      value: `${(s.cpuPerWake * 1000).toFixed(3)} ms/wake`,
      detail: `${(s.cpuPerOpen * 1000).toFixed(2)} ms to open one (handshake, view, hold); ${(s.idleCpuShare * 100).toFixed(1)} % of a core while they wait; opened in ${s.openSeconds.toFixed(1)} s`,
    })),
    {
      figure: `${r.hangUp.watchers.toLocaleString('en')} watchers hang up at once`,
      value: `${r.hangUp.dropMs.toFixed(0)} ms`,
      detail: `until no waiter is left; RSS held ${memText(r.hangUp.held)}, ${SETTLE_MS / 1000} s after ${memText(r.hangUp.after)}, after a second round ${memText(r.hangUp.afterSecondRound)}; idle ${memText(r.idle)}`,
    },
    {
      figure: `bare https server, ${r.bare.connections.toLocaleString('en')} idle mTLS connections`,
      value: `${((r.bare.held.rss - r.bare.idle.rss) / (r.bare.connections / 1000)).toFixed(1)} MB per 1,000`,
      detail: `RSS ${memText(r.bare.idle)} → ${memText(r.bare.held)}: what a connection costs Node before any broker code`,
    },
    {
      figure: 'waiting watchers held on 2 cores',
      value: r.held.toLocaleString('en'),
      target: `≥ ${r.target.toLocaleString('en')}`,
      verdict: r.held >= r.target ? 'met' : 'MISSED',
      detail: `watcher process RSS ${r.clientRssMb.toFixed(0)} MB; failed held requests: ${Object.keys(r.failures).length ? JSON.stringify(r.failures) : 'none'}${r.errors.length ? `; errors: ${r.errors.join('; ')}` : ''}`,
    },
  ];
  printTable('== watch: GET /v1/facts?wait= (one broker on PostgreSQL, watchers in another process) ==', rows);
}
