/**
 * The Kickstack-like example (puppet-module/examples), on Puppet 7 and on Puppet 8: roles
 * applied in the worst order converge in as many runs as the chain is deep; the gates show
 * what they wait for in the run and the report; switching the message queue replaces the old
 * facts and dependents follow; a role removed from a node is withdrawn, and its gate forgotten;
 * roles stacked on one node converge in depth runs too.
 */

import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { EXAMPLES_DIR, explain, type PuppetNode, PuppetWorld, puppetRuntimes, type RunResult, runGroups, succeeded } from './support';

const SITE = { file: path.join(EXAMPLES_DIR, 'site.pp') };
const DEPTH = 4; // database/mq -> keystone -> nova_api -> compute

const ROLES: Record<string, string[]> = {
  'compute.kickstack.test': ['compute'],
  'nova.kickstack.test': ['nova_api'],
  'keystone.kickstack.test': ['keystone'],
  'mq1.kickstack.test': ['mq'],
  'mq2.kickstack.test': ['mq'],
  'db.kickstack.test': ['database'],
};
// Worst order: every node runs before the nodes it depends on. Only nodes that do not
// depend on each other share a step (run concurrently), so the order is never a race.
const WORST_ORDER = Object.keys(ROLES);
const WORST_STEPS = [
  ['compute.kickstack.test'],
  ['nova.kickstack.test'],
  ['keystone.kickstack.test'],
  ['mq1.kickstack.test', 'mq2.kickstack.test'],
  ['db.kickstack.test'],
];
const ALL_IN_ONE = 'allinone.kickstack.test';

function conf(node: PuppetNode, file: string): string | undefined {
  const p = path.join(node.serviceRoot, file);
  return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : undefined;
}

for (const puppet of puppetRuntimes()) {
  describe(`puppet module: the Kickstack-like example (${puppet.label})`, function () {
    this.timeout(900000);
    let world: PuppetWorld | undefined;
    let nodes: Record<string, PuppetNode>;
    let worst: PuppetNode[][];
    const round = async (): Promise<RunResult[]> => {
      const results = await runGroups(worst, SITE);
      for (const r of results) expect(succeeded(r), explain(r)).to.equal(true);
      return results;
    };

    before(async function () {
      this.timeout(1800000); // the Puppet 8 chroot is built once per machine
      world = await PuppetWorld.start('kickstack', [...WORST_ORDER, `${ALL_IN_ONE}:pp_environment=stacked`], { puppet });
      nodes = {};
      for (const name of [...WORST_ORDER, ALL_IN_ONE])
        nodes[name] = world.node(name, { 'kickstack::roles': ROLES[name] ?? ['database', 'mq', 'keystone', 'nova_api', 'compute'] });
      worst = WORST_STEPS.map((step) => step.map((n) => nodes[n]));
    });

    after(() => world?.close());

    it(`converges in ${DEPTH} runs per node in the worst order, each gate saying what it waits for`, async () => {
      const compute = nodes['compute.kickstack.test'];
      let rounds = 0;
      let first: RunResult[] = [];
      while (conf(compute, 'nova-compute.conf') === undefined && rounds < DEPTH + 3) {
        const results = await round();
        if (rounds === 0) first = results;
        rounds++;
      }
      console.log(`      worst order: converged in ${rounds} rounds (${rounds * WORST_ORDER.length} agent runs)`);
      expect(rounds).to.equal(DEPTH);

      const c1 = first.find((r) => r.node === 'compute.kickstack.test')!;
      expect(c1.output).to.include('exportfact: kickstack::role::compute waits for nova.api_url (absent), mq.rpc_backend (absent)');
      const k1 = first.find((r) => r.node === 'keystone.kickstack.test')!;
      expect(k1.output).to.include('kickstack::role::keystone waits for db.keystone_url (absent)');

      expect(conf(nodes['keystone.kickstack.test'], 'keystone.conf')).to.equal(
        [
          '# managed by Puppet (kickstack example)',
          'database = mysql://db.kickstack.test/keystone',
          'rpc_backend = rabbitmq',
          'mq_hosts = mq1.kickstack.test,mq2.kickstack.test',
          '',
        ].join('\n'),
      );
      expect(conf(compute, 'nova-compute.conf')).to.include('nova_api = http://nova.kickstack.test:8774/v2.1');
    });

    it('is then steady: another round changes nothing', async () => {
      const results = await round();
      for (const r of results) expect(r.code, explain(r)).to.equal(0);
    });

    it("records a waiting gate in the agent's report", async () => {
      const fresh = nodes[ALL_IN_ONE];
      const r = await fresh.apply(SITE);
      expect(succeeded(r), explain(r)).to.equal(true);
      const report = fresh.lastReport();
      expect(report).to.include('kickstack::role::keystone waits for db.keystone_url (absent)');
    });

    it('roles stacked on one node converge in depth runs too', async () => {
      // The all-in-one node (its own environment) had one run in the test above.
      const aio = nodes[ALL_IN_ONE];
      let runs = 1;
      while (conf(aio, 'nova-compute.conf') === undefined && runs < DEPTH + 3) {
        const r = await aio.apply(SITE);
        expect(succeeded(r), explain(r)).to.equal(true);
        runs++;
      }
      expect(runs).to.equal(DEPTH);
      // Environments are separate: the stacked cloud sees its own database.
      expect(conf(aio, 'keystone.conf')).to.include('database = mysql://allinone.kickstack.test/keystone');
    });

    it('switching rpc_backend on the queue nodes replaces their facts; dependents reconfigure in their next run', async () => {
      for (const mq of ['mq1.kickstack.test', 'mq2.kickstack.test']) nodes[mq].updateHiera({ 'kickstack::rpc_backend': 'qpid' });
      const switched = await round();
      for (const mq of ['mq1.kickstack.test', 'mq2.kickstack.test']) {
        const r = switched.find((x) => x.node === mq)!;
        expect(r.output, explain(r)).to.match(/withdrew rabbitmq\.host/);
        expect(r.output).to.match(/Exportfact_fact\[qpid\.host\]\/ensure: published ".*" \(per-node\)/);
      }
      // Dependents ran before the queue nodes in that round; no gate closed meanwhile.
      for (const r of switched) expect(r.output).to.not.include('waits for');
      await round();
      for (const [name, file] of [
        ['keystone.kickstack.test', 'keystone.conf'],
        ['nova.kickstack.test', 'nova-api.conf'],
        ['compute.kickstack.test', 'nova-compute.conf'],
      ]) {
        const text = conf(nodes[name], file)!;
        expect(text, name).to.include('rpc_backend = qpid');
        expect(text, name).to.include('mq_hosts = mq1.kickstack.test,mq2.kickstack.test');
      }
    });

    it('a role removed from a node is withdrawn; its dependents wait again from their next run', async () => {
      const nova = nodes['nova.kickstack.test'];
      nova.updateHiera({ 'kickstack::roles': [] });
      const r = await nova.apply(SITE);
      expect(succeeded(r), explain(r)).to.equal(true);
      expect(r.output).to.match(/withdrew nova\.api_url/);
      // Its gate went with the role: the broker forgets it (and so does the deployment picture).
      expect(r.output).to.match(/forgot the gate reports kickstack::role::nova_api/);
      const c = await nodes['compute.kickstack.test'].apply(SITE);
      expect(succeeded(c), explain(c)).to.equal(true);
      expect(c.output).to.include('kickstack::role::compute waits for nova.api_url (absent)');
    });
  });
}
