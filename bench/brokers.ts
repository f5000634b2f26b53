// Several brokers on one PostgreSQL (issue 12): agent syncs per second (fresh mutual-TLS
// handshake + GET /v1/facts of a 200-fact view, as an agent run does) with every agent on one
// broker, and with the same agents spread over three brokers of one database. The phases are
// interleaved, `reps` times each, with the same load generator and the same lanes.
//
// What it shows on a given machine: whether a second and third broker add capacity (they do
// when the first broker's single Node thread is the limit and cores are free) or only share
// the same cores. On 2 cores with the load generator beside them, the handshake work of the
// load generator competes with the brokers for the same CPUs, so the ratio is the floor.
import os from 'node:os';
import path from 'node:path';
import type { ClientCert, Pki } from './certs';
import { type Job, type JobResult, type LoadGenerator, requestOnce } from './load';
import { median, printTable, type Row, x } from './report';
import { type BrokerProcess, startBroker } from './servers';
import { bulkLoadFacts, createStore } from './store';

export const BROKERS_SIZES = {
  full: { reps: 3, seconds: 10, lanes: 12, nodes: 120, facts: 200 },
  quick: { reps: 1, seconds: 4, lanes: 12, nodes: 30, facts: 200 },
};
export type BrokersSizes = (typeof BROKERS_SIZES)['full'];

const ENV = 'brokers200';

export interface BrokersResult {
  /** Syncs per second, one entry per repetition. */
  oneBroker: number[];
  threeBrokers: number[];
  /** Median of the per-repetition ratios three ÷ one. */
  ratio: number;
  /** Share of each of the three brokers in the spread phase (requests answered), last repetition. */
  spread: number[];
  errors: string[];
  load: number[];
  cpus: number;
}

export async function runBrokers(o: {
  adminUrl: string;
  tmp: string;
  pki: Pki;
  load: LoadGenerator;
  sizes: BrokersSizes;
}): Promise<BrokersResult> {
  const { sizes, pki } = o;
  const dir = path.join(o.tmp, 'brokers');
  const store = await createStore('postgres', dir, o.adminUrl, 'brokers');
  const brokers: BrokerProcess[] = [];
  try {
    await bulkLoadFacts(store.serveArgs('seed'), ENV, sizes.facts);
    const nodes: ClientCert[] = [];
    for (let i = 0; i < sizes.nodes; i++) nodes.push(await pki.client(`node${i}.brokers.bench`, ENV));
    const keyring = path.join(dir, 'keyring.json');
    for (const name of ['a', 'b', 'c']) {
      brokers.push(
        await startBroker({
          pki,
          store: store.serveArgs(name),
          probe: nodes[0],
          logFile: path.join(dir, `broker-${name}.log`),
          dir: path.join(dir, name),
          keyring,
        }),
      );
    }
    // Every node seen once by every broker: the phases measure repeat syncs, not first contacts.
    for (const b of brokers) for (const n of nodes) await requestOnce(`${b.url}/v1/facts`, pki.caPem, n);

    const job = (url: string, lanes: number, clients: ClientCert[]): Job => ({
      url,
      path: '/v1/facts',
      mode: 'fresh',
      count: 1_000_000,
      durationMs: sizes.seconds * 1000,
      concurrency: lanes,
      ca: pki.caPem,
      clients,
    });
    const result: BrokersResult = { oneBroker: [], threeBrokers: [], ratio: 0, spread: [], errors: [], load: [], cpus: os.cpus().length };
    const perSecond = (rs: JobResult[]) => rs.reduce((n, r) => n + (r.statuses['200'] ?? 0), 0) / Math.max(...rs.map((r) => r.seconds));
    const ratios: number[] = [];
    for (let rep = 0; rep < sizes.reps; rep++) {
      console.log(`[brokers] repetition ${rep + 1}/${sizes.reps}: ${sizes.lanes} agents at once on one broker, then spread over three`);
      const one = await o.load.run(job(brokers[0].url, sizes.lanes, nodes));
      // The same lanes, a third on each broker; each broker sees its own third of the nodes.
      const third = Math.ceil(sizes.lanes / 3);
      const three = await Promise.all(
        brokers.map((b, i) =>
          o.load.run(
            job(
              b.url,
              third,
              nodes.filter((_, n) => n % 3 === i),
            ),
          ),
        ),
      );
      for (const r of [one, ...three]) result.errors.push(...r.errors);
      result.oneBroker.push(perSecond([one]));
      result.threeBrokers.push(perSecond(three));
      ratios.push(perSecond(three) / perSecond([one]));
      const total = three.reduce((n, r) => n + r.count, 0);
      result.spread = three.map((r) => r.count / total);
    }
    result.ratio = median(ratios);
    result.load = os.loadavg();
    result.errors = result.errors.slice(0, 5);
    return result;
  } finally {
    for (const b of brokers) await b.stop();
    await store.drop();
  }
}

export function reportBrokers(r: BrokersResult): void {
  const rows: Row[] = [
    {
      figure: 'agent syncs/s, every agent on one broker',
      value: median(r.oneBroker).toFixed(0),
      detail: r.oneBroker.map((v) => v.toFixed(0)).join(', '),
    },
    {
      figure: 'agent syncs/s, the same agents over three brokers',
      value: median(r.threeBrokers).toFixed(0),
      detail: r.threeBrokers.map((v) => v.toFixed(0)).join(', '),
    },
    { figure: 'three brokers ÷ one', value: x(r.ratio), detail: 'median of the per-repetition ratios' },
    { figure: 'share answered by each of the three', value: r.spread.map((s) => `${(s * 100).toFixed(0)} %`).join(' / ') },
  ];
  printTable(
    `Several brokers on one PostgreSQL (${r.cpus} CPUs, load generator beside them; load ${r.load.map((l) => l.toFixed(2)).join(' ')})`,
    rows,
  );
  if (r.errors.length) console.log(`errors: ${r.errors.join('; ')}`);
}
