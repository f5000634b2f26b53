/**
 * Three brokers on one PostgreSQL database (same keyring, same CA, each its own port and
 * working folder), six agents running real `puppet apply` with the module's fact and an
 * `exportfact.yaml` URL list in a different order per agent, so the load is spread. One
 * broker is killed with `kill -9` while the agents run: no run fails (each fails over to the
 * next URL), nothing acknowledged is lost, and every reader ends with the same view.
 * Puppet 7 only: what is under test is the brokers and the module's failover, not Puppet.
 */

import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { createTestDatabase, pgAvailable, skipPg } from '../support/pg';
import {
  BrokerProcess,
  DevCa,
  explain,
  freePort,
  makeModulepath,
  PuppetNode,
  type RunResult,
  removeTempDir,
  runCli,
  runInPairs,
  succeeded,
  tempDir,
} from './support';

const AGENTS = [1, 2, 3, 4, 5, 6].map((i) => `fleet${i}.brokers.test`);
const short = (certname: string) => certname.split('.')[0];

// Each agent publishes one value per node and a single fact of its own, waits for the whole
// fleet, and writes its view of the fleet as sorted lines (to compare readers).
const MANIFEST = {
  code: `
  include exportfact
  $round = lookup('fleet::round')
  $me = $trusted['certname']
  exportfact_fact { 'fleet.member': value => "\${me} round \${round}", multi => true }
  exportfact_fact { "fleet.\${me.split('\\.')[0]}": value => $round }
  if exportfact::gate('fleet::all', ['fleet.member>=${AGENTS.length}']) {
    file { "\${settings::confdir}/fleet.txt": content => "the whole fleet is there\\n" }
  }
  $view = $facts.dig('exportfact', 'fleet').lest || { {} }
  $lines = $view.keys.sort.map |$k| {
    $v = $view[$k]
    $v ? { Hash => "\${k} = \${v.keys.sort.map |$n| { $v[$n] }.join(', ')}", default => "\${k} = \${v}" }
  }
  file { "\${settings::confdir}/view.txt": content => "\${lines.join("\\n")}\\n" }`,
};

describe('puppet module: three brokers on one PostgreSQL, one killed with kill -9 mid-run (Puppet 7)', function () {
  this.timeout(600000);
  let root: string;
  let db: { url: string; drop(): Promise<void> } | undefined;
  let brokers: BrokerProcess[] = [];
  const agents: PuppetNode[] = [];
  const view = (a: PuppetNode) => fs.readFileSync(path.join(a.confdir, 'view.txt'), 'utf8');
  const round = async (r: number): Promise<RunResult[]> => {
    for (const a of agents) a.updateHiera({ 'fleet::round': r });
    return runInPairs(agents, MANIFEST);
  };

  before(async function () {
    if (skipPg()) this.skip();
    const down = await pgAvailable();
    if (down) throw new Error(`PostgreSQL is needed (EXPORTFACT_SKIP_PG=1 skips this): ${down}`);
    root = tempDir('brokers');
    db = await createTestDatabase('puppet_brokers');
    const ca = await DevCa.init(path.join(root, 'ca'), AGENTS);
    // One keyring for all: brokers sharing a database must hold the same keys.
    const keyringFile = path.join(root, 'keyring.json');
    const k = await runCli(['keys', 'init', '--keyring', keyringFile]);
    expect(k.code, k.stderr).to.equal(0);
    const keyring = fs.readFileSync(keyringFile, 'utf8');
    // Started together: migrations are serialised in the database.
    brokers = await Promise.all(
      [0, 1, 2].map(async (i) =>
        BrokerProcess.start(ca, path.join(root, `broker${i}`, 'data'), undefined, {
          databaseUrl: db!.url,
          keyring,
          adminPort: await freePort(),
        }),
      ),
    );
    const modulepath = makeModulepath(root);
    AGENTS.forEach((name, i) => {
      const a = new PuppetNode(name, root, ca, modulepath);
      // Agent i asks broker i % 3 first, then the others in turn.
      const urls = [0, 1, 2].map((k) => brokers[(i + k) % 3].url);
      a.setup(urls, { 'fleet::round': 1 }, { connect_timeout: 1 });
      agents.push(a);
    });
  });

  after(async () => {
    await Promise.all(brokers.map((b) => b.stop()));
    await db?.drop();
    removeTempDir(root);
  });

  it('spreads the agents over the three brokers', async () => {
    for (const r of await round(1)) expect(succeeded(r), explain(r)).to.equal(true);
    brokers.forEach((b, i) => {
      const served = new Set(
        b
          .requests()
          .filter((q) => q.url === '/v1/facts')
          .map((q) => q.certname),
      );
      expect([...served].sort(), `broker ${i}`).to.deep.equal([AGENTS[i], AGENTS[i + 3]]);
    });
  });

  it('loses no run and no write when a broker is killed with kill -9 while the agents run', async () => {
    const [victim, next] = brokers;
    const since = next.requests().length;
    // Killed the moment it has acknowledged the first publish of the new round: in the middle
    // of that agent's run (its other fact, its gate and its withdrawal are still to come).
    const killed = victim.killOn((q) => q.method === 'PUT' && q.url === '/v1/facts/fleet/member' && q.status < 300);
    const results = await round(2);
    const hit = await killed;
    for (const r of results) expect(succeeded(r), explain(r)).to.equal(true);
    // That agent went on with the next URL within the same run, and the others that asked
    // the dead broker first did too.
    const failedOver = next.requests().slice(since);
    expect(
      failedOver.some((q) => q.certname === hit.certname && q.method === 'PUT'),
      `${hit.certname} on broker 1`,
    ).to.equal(true);
    expect(failedOver.some((q) => q.certname === AGENTS[3] && q.url === '/v1/facts')).to.equal(true);
    console.log(
      `      broker 0 killed right after acknowledging ${hit.method} ${hit.url} of ${hit.certname}; ` +
        `it went on with broker 1 (${failedOver
          .filter((q) => q.certname === hit.certname)
          .map((q) => `${q.method} ${q.url}`)
          .join(', ')})`,
    );
  });

  it('every reader then has the same view, with every acknowledged value of the last round', async () => {
    const results = await round(2);
    for (const r of results) expect(succeeded(r), explain(r)).to.equal(true);
    const expected = [...AGENTS.map((a) => `${short(a)} = 2`), `member = ${AGENTS.map((a) => `${a} round 2`).join(', ')}`].sort();
    const views = agents.map(view);
    for (const [i, v] of views.entries()) expect(v, AGENTS[i]).to.equal(`${expected.join('\n')}\n`);
    // And every agent's gate opened, whichever broker took its report.
    for (const a of agents) expect(fs.existsSync(path.join(a.confdir, 'fleet.txt')), a.name).to.equal(true);
    const graph = await brokers[2].adminCli(['graph', '--format', 'json'], { token: await brokers[2].adminToken(['graph:read']) });
    expect(graph.code, graph.stderr).to.equal(0);
    const gates = JSON.parse(graph.stdout).gates as { certname: string; name: string; open: boolean }[];
    expect(gates.map((g) => `${g.certname} ${g.name} ${g.open}`).sort()).to.deep.equal(AGENTS.map((a) => `${a} fleet::all true`));
  });

  it('the killed broker, started again, serves the same view', async () => {
    await brokers[0].start();
    const r = await agents[0].apply(MANIFEST);
    expect(r.code, explain(r)).to.equal(0); // nothing to change: the same view, every gate and fact in sync
    expect(brokers[0].requests().some((q) => q.url === '/v1/facts' && q.certname === AGENTS[0])).to.equal(true);
  });
});
