// The agent's side (issue 14, item 4): what the Puppet module adds to a Puppet run, on the
// agent, against a real broker (`exportfact serve`, embedded store) whose view holds 200 or
// 10,000 facts for the node.
//
// - `puppet facts show` with the module on the modulepath (its fact asks the broker) and
//   without it;
// - `puppet apply` of the Kickstack compute role (examples/site.pp, the node converged
//   first, so each measured run is a steady one) against the same two files written by a
//   plain manifest without the module (what the role amounts to once its gate is open);
// - the compute role against a broker that does not answer (a listener that accepts and never
//   replies; a port that refuses), the node having a cached view: the added wall time should
//   be one connect_timeout, and the listener counts the connections the run opened.
//
// Wall time of the `puppet` process, its CPU (user + system) and peak RSS (`/usr/bin/time`),
// each variant run `reps` times interleaved with the others; medians. Host Puppet (Debian 12:
// Puppet 7) with the machine's own Facter settings (no facter.conf here).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { StoreConfig } from '../src/config/serve-config';
import { openStore } from '../src/db/open-store';
import { DevCa, EXAMPLES_DIR, makeModulepath, PuppetNode } from '../test/puppet/support';
import type { Pki } from './certs';
import { median, printTable, type Row } from './report';
import { type BrokerProcess, startBroker } from './servers';

export const AGENT_SIZES = {
  full: { reps: 3, views: [200, 10_000] },
  quick: { reps: 1, views: [200] },
};
export type AgentSizes = (typeof AGENT_SIZES)['full'];

/** The target of issue 14: at most this much wall time added to a run at 200 facts. */
const ADDED_TARGET_MS = 150;
const ENVIRONMENT = 'bench';
const COMPUTE = 'compute.agent.bench';
const NOVA = 'nova.agent.bench';
const MQ = 'mq1.agent.bench';
/** exportfact.yaml's defaults, as a node without settings has them. */
const CONNECT_TIMEOUT = 3;
const READ_TIMEOUT = 5;
const SITE = path.join(EXAMPLES_DIR, 'site.pp');
// The facts the compute role reads, published by their nodes (added to the bulk-loaded ones).
const ROLE_FACTS = 3;

/** One measured `puppet` process. */
interface Sample {
  wallMs: number;
  /** user + system CPU of the process and its children. */
  cpuMs: number;
  peakRssMb: number;
}

interface Variant {
  name: string;
  samples: Sample[];
}

export interface AgentViewResult {
  facts: number;
  factsWith: Variant;
  factsWithout: Variant;
  applyWith: Variant;
  applyNoTopLevel: Variant;
  applyWithout: Variant;
}

export interface AgentResult {
  reps: number;
  views: AgentViewResult[];
  silent: Variant & { accepted: number[] };
  refused: Variant;
  normal: Variant;
  loadBefore: number[];
  loadAfter: number[];
}

/** Accepts TCP connections and never sends a byte; counts them. */
class SilentListener {
  accepted = 0;
  private readonly sockets: net.Socket[] = [];
  private readonly server = net.createServer((s) => {
    this.accepted++;
    this.sockets.push(s);
    s.on('error', () => {});
  });
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `https://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function closedPortUrl(): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(`https://127.0.0.1:${port}`));
    });
  });
}

/** The node's certificate and key from the dev CA's ssldir. */
function nodeCert(ca: DevCa, node: string) {
  const dir = ca.ssldir(node);
  return {
    certname: node,
    certPem: fs.readFileSync(path.join(dir, 'certs', `${node}.pem`), 'utf8'),
    keyPem: fs.readFileSync(path.join(dir, 'private_keys', `${node}.pem`), 'utf8'),
  };
}

/** PUT /v1/facts/{category}/{name} as a node publishes it (not measured). */
function publish(url: string, ca: DevCa, node: string, key: string, value: unknown, multi: boolean): Promise<void> {
  const cert = nodeCert(ca, node);
  const [category, name] = key.split('.');
  const body = JSON.stringify({ value, multi, sensitive: false });
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${url}/v1/facts/${category}/${name}`,
      {
        method: 'PUT',
        ca: fs.readFileSync(path.join(ca.dir, 'ca.pem')),
        cert: cert.certPem,
        key: cert.keyPem,
        agent: false,
        headers: { 'Content-Type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => ((res.statusCode ?? 0) < 300 ? resolve() : reject(new Error(`PUT ${key}: ${res.statusCode} ${text}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs `puppet ARGS` for a node under /usr/bin/time: wall time and peak RSS. */
async function timedPuppet(node: PuppetNode, args: string[], okCodes: number[]): Promise<Sample> {
  const timeFile = path.join(node.dir, 'time.txt');
  // The machine's own Facter settings, not the tests' facter.conf: its blocklist makes Facter
  // match every custom fact against each blocked name on every look-up (see docs/performance.md).
  const env = { ...process.env };
  const started = process.hrtime.bigint();
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', timeFile, 'puppet', ...args], {
      env,
      cwd: node.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c ?? -1, output: out }));
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (!okCodes.includes(code)) throw new Error(`puppet ${args[0]} for ${node.name} exited ${code}:\n${output.slice(-3000)}`);
  const [maxRssKb, user, system] = (fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number);
  return { wallMs, cpuMs: (user + system) * 1000, peakRssMb: maxRssKb / 1024 };
}

const factsShow = (node: PuppetNode, modulepath: string) =>
  timedPuppet(node, ['facts', 'show', '--confdir', node.confdir, '--modulepath', modulepath, '--render-as', 'json'], [0]);

const apply = (node: PuppetNode, modulepath: string, manifest: string, okCodes = [0]) =>
  timedPuppet(
    node,
    ['apply', '--confdir', node.confdir, '--modulepath', modulepath, '--detailed-exitcodes', '--color=false', manifest],
    okCodes,
  );

/**
 * `count` single facts with distinct names (c000.f00000 …), published by one other node, in one
 * transaction before the broker starts (as bench/store.ts does, whose names repeat per category:
 * here every name is distinct, so each one can become a top-level fact, the costly case).
 */
async function loadFacts(dataDir: string, count: number): Promise<void> {
  const store = await openStore({ kind: 'embedded', dataDir } as StoreConfig);
  try {
    await store.transaction(async (tx) => {
      await tx.query('INSERT INTO environments (name, view_version) VALUES ($1, 1)', [ENVIRONMENT]);
      await tx.query(
        `INSERT INTO facts (environment, category, name, multi, sensitive, version)
         SELECT $1, 'c' || lpad((i / 1000)::text, 3, '0'), 'f' || lpad(i::text, 5, '0'), false, false, 1
           FROM generate_series(0, $2::int - 1) AS i`,
        [ENVIRONMENT, count],
      );
      await tx.query(
        `INSERT INTO fact_values (fact_id, exporter, value, version)
         SELECT id, 'writer.agent.bench', jsonb_build_object('host', 'node-' || id || '.example.com', 'port', 5432,
                'url', 'postgres://svc@node-' || id || '.example.com:5432/app'), 1
           FROM facts WHERE environment = $1`,
        [ENVIRONMENT],
      );
      await tx.query(
        `INSERT INTO fact_history (fact_id, version, exporter, action, value)
         SELECT v.fact_id, 1, v.exporter, 'create', v.value FROM fact_values v JOIN facts f ON f.id = v.fact_id
          WHERE f.environment = $1`,
        [ENVIRONMENT],
      );
    });
  } finally {
    await store.close();
  }
}

/** A manifest writing what the compute role writes once converged, without the module. */
function plainManifest(node: PuppetNode, file: string): string {
  const conf = path.join(node.serviceRoot, 'nova-compute.conf');
  const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  fs.writeFileSync(
    file,
    [
      `file { ${quote(node.serviceRoot)}: ensure => directory }`,
      `file { ${quote(conf)}: ensure => file, content => ${quote(fs.readFileSync(conf, 'utf8'))} }`,
      '',
    ].join('\n'),
  );
  return file;
}

/** One broker whose view for the compute node holds `facts` facts, and the node converged against it. */
async function prepareView(root: string, ca: DevCa, modulepath: string, facts: number, tag: string) {
  const dir = path.join(root, tag);
  const dataDir = path.join(dir, 'data');
  await loadFacts(dataDir, facts - ROLE_FACTS);
  const pki = {
    label: 'P-256',
    caFile: path.join(ca.dir, 'ca.pem'),
    caPem: fs.readFileSync(path.join(ca.dir, 'ca.pem'), 'utf8'),
    crlFile: path.join(ca.dir, 'crl.pem'),
    server: { cert: path.join(ca.dir, 'server.pem'), key: path.join(ca.dir, 'server_key.pem') },
    client: () => Promise.reject(new Error('the agent bench issues no certificates')),
  } as Pki;
  const broker: BrokerProcess = await startBroker({
    pki,
    store: { dataDir },
    probe: nodeCert(ca, COMPUTE),
    logFile: path.join(dir, 'broker.log'),
    dir: path.join(dir, 'broker'),
  });
  await publish(broker.url, ca, NOVA, 'nova.api_url', 'http://nova.agent.bench:8774/v2.1', false);
  await publish(broker.url, ca, MQ, 'mq.rpc_backend', 'rabbitmq', true);
  await publish(broker.url, ca, MQ, 'rabbitmq.host', 'mq1.agent.bench', true);
  const node = new PuppetNode(COMPUTE, dir, ca, modulepath);
  node.setup(broker.url, { 'kickstack::roles': ['compute'] }, { connect_timeout: CONNECT_TIMEOUT, read_timeout: READ_TIMEOUT });
  // Converge (the gate opens in the first run), then one more so the measured runs are steady.
  await apply(node, modulepath, SITE, [0, 2]);
  await apply(node, modulepath, SITE, [0]);
  if (!fs.existsSync(path.join(node.serviceRoot, 'nova-compute.conf')))
    throw new Error(`the compute role did not converge against the ${facts}-fact view`);
  return { broker, node, plain: plainManifest(node, path.join(dir, 'plain.pp')) };
}

export async function runAgent(opts: { tmp: string; sizes: AgentSizes }): Promise<AgentResult> {
  const loadBefore = os.loadavg();
  const root = path.join(opts.tmp, 'agent');
  fs.mkdirSync(root, { recursive: true });
  const ca = await DevCa.init(
    path.join(root, 'ca'),
    [COMPUTE, NOVA, MQ].map((n) => `${n}:pp_environment=${ENVIRONMENT}`),
  );
  const modulepath = makeModulepath(root);
  const empty = path.join(root, 'no-modules');
  fs.mkdirSync(empty);
  const views: AgentViewResult[] = [];
  const prepared: Awaited<ReturnType<typeof prepareView>>[] = [];
  const listener = new SilentListener();
  const silentUrl = await listener.listen();
  const refusedUrl = await closedPortUrl();
  const variant = (name: string): Variant => ({ name, samples: [] });
  const silent = { ...variant('compute role, broker silent'), accepted: [] as number[] };
  const refused = variant('compute role, broker refusing');
  const normal = variant('compute role, broker answering');
  try {
    for (const facts of opts.sizes.views) {
      console.log(`agent: a ${facts}-fact view, the compute node converging…`);
      prepared.push(await prepareView(root, ca, modulepath, facts, `view-${facts}`));
      views.push({
        facts,
        factsWith: variant('puppet facts show, with the module'),
        factsWithout: variant('puppet facts show, without'),
        applyWith: variant('puppet apply compute role'),
        applyNoTopLevel: variant('puppet apply compute role, top_level_facts: false'),
        applyWithout: variant('puppet apply, same files, no module'),
      });
    }
    const first = prepared[0];
    const settings = { connect_timeout: CONNECT_TIMEOUT, read_timeout: READ_TIMEOUT };
    for (let rep = 0; rep < opts.sizes.reps; rep++) {
      console.log(`agent: repetition ${rep + 1} of ${opts.sizes.reps}`);
      for (let i = 0; i < views.length; i++) {
        const { node, plain } = prepared[i];
        const v = views[i];
        v.factsWith.samples.push(await factsShow(node, modulepath));
        v.factsWithout.samples.push(await factsShow(node, empty));
        v.applyWith.samples.push(await apply(node, modulepath, SITE));
        node.setBroker(prepared[i].broker.url, { ...settings, top_level_facts: false });
        v.applyNoTopLevel.samples.push(await apply(node, modulepath, SITE));
        node.setBroker(prepared[i].broker.url, settings);
        v.applyWithout.samples.push(await apply(node, empty, plain));
      }
      // The 200-fact node with its cached view: the broker answering, silent, refusing.
      const node = first.node;
      normal.samples.push(await apply(node, modulepath, SITE));
      node.setBroker(silentUrl, settings);
      const before = listener.accepted;
      // The run goes on with the cached view; its gates go unreported (a warning), nothing fails.
      silent.samples.push(await apply(node, modulepath, SITE, [0, 2]));
      silent.accepted.push(listener.accepted - before);
      node.setBroker(refusedUrl, settings);
      refused.samples.push(await apply(node, modulepath, SITE, [0, 2]));
      node.setBroker(first.broker.url, settings);
    }
  } finally {
    await listener.close();
    for (const p of prepared) await p.broker.stop();
  }
  return { reps: opts.sizes.reps, views, silent, refused, normal, loadBefore, loadAfter: os.loadavg() };
}

const wall = (v: Variant) => median(v.samples.map((s) => s.wallMs));
const rss = (v: Variant) => median(v.samples.map((s) => s.peakRssMb));
const cpu = (v: Variant) => median(v.samples.map((s) => s.cpuMs));
const fmt = (msValue: number) => `${msValue.toFixed(0)} ms`;
const added = (a: Variant, b: Variant) => {
  const d = wall(a) - wall(b);
  return `${d >= 0 ? '+' : ''}${d.toFixed(0)} ms`;
};
const addedMb = (a: Variant, b: Variant) => {
  const d = rss(a) - rss(b);
  return `${d >= 0 ? '+' : ''}${d.toFixed(1)} MB`;
};

export function reportAgent(r: AgentResult): void {
  const rows: Row[] = [];
  for (const v of r.views) {
    const at200 = v.facts === 200;
    for (const [what, a, b] of [
      ['puppet facts show', v.factsWith, v.factsWithout],
      ['puppet apply (compute role)', v.applyWith, v.applyWithout],
      ['puppet apply (compute role, top_level_facts: false)', v.applyNoTopLevel, v.applyWithout],
    ] as const) {
      const d = wall(a) - wall(b);
      rows.push({
        figure: `${what}, ${v.facts} facts: added wall`,
        value: added(a, b),
        target: at200 ? `≤ ${ADDED_TARGET_MS} ms` : '',
        verdict: at200 ? (d <= ADDED_TARGET_MS ? 'met' : 'MISSED') : '',
        detail: `${fmt(wall(a))} with, ${fmt(wall(b))} without`,
      });
      // CPU is what a loaded machine does not blur: the wall figures move by hundreds of ms with the load.
      rows.push({
        figure: `${what}, ${v.facts} facts: added CPU`,
        value: `${cpu(a) - cpu(b) >= 0 ? '+' : ''}${(cpu(a) - cpu(b)).toFixed(0)} ms`,
        target: at200 ? `≤ ${ADDED_TARGET_MS} ms` : '',
        verdict: at200 ? (cpu(a) - cpu(b) <= ADDED_TARGET_MS ? 'met' : 'MISSED') : '',
        detail: `${fmt(cpu(a))} with, ${fmt(cpu(b))} without (user + system)`,
      });
      rows.push({
        figure: `${what}, ${v.facts} facts: added peak RSS`,
        value: addedMb(a, b),
        detail: `${rss(a).toFixed(1)} MB with, ${rss(b).toFixed(1)} MB without`,
      });
    }
  }
  // Before the memo a silent broker cost a timeout per request (the fact, the gate prefetch…):
  // one connection per run and less than two timeouts added say it costs one, whatever the load.
  const silentAdded = wall(r.silent) - wall(r.normal);
  const onePerRun = r.silent.accepted.every((n) => n === 1);
  rows.push({
    figure: `${r.silent.name} (cached view): added wall`,
    value: added(r.silent, r.normal),
    target: `one connect_timeout (${CONNECT_TIMEOUT} s)`,
    verdict: onePerRun && silentAdded < 2 * CONNECT_TIMEOUT * 1000 ? 'met' : 'MISSED',
    detail: `${fmt(wall(r.silent))} vs ${fmt(wall(r.normal))} answering; connections per run: ${r.silent.accepted.join(', ')}`,
  });
  // A refused connection is immediate: no timeout at all.
  rows.push({
    figure: `${r.refused.name} (cached view): added wall`,
    value: added(r.refused, r.normal),
    target: `< connect_timeout (${CONNECT_TIMEOUT} s)`,
    verdict: wall(r.refused) - wall(r.normal) < CONNECT_TIMEOUT * 1000 ? 'met' : 'MISSED',
    detail: `${fmt(wall(r.refused))} vs ${fmt(wall(r.normal))} answering`,
  });
  printTable(
    `== the agent's side: what the module adds to a Puppet run (median of ${r.reps}; load ${r.loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${r.loadAfter.map((l) => l.toFixed(2)).join(' ')} after) ==`,
    rows,
  );
}
