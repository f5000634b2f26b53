/**
 * The class exportfact::agent: a node without exportfact.yaml gets it from its catalog, and
 * finds the broker with it in that very run (its publishes are ordered after the file) and in
 * every run after (its facts). On Puppet 7 and on Puppet 8.
 */

import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { type BrokerProcess, explain, freePort, type PuppetNode, PuppetWorld, puppetRuntimes, succeeded } from './support';

const NODE = 'fresh.agent-class.test';

for (const puppet of puppetRuntimes()) {
  describe(`puppet module: exportfact::agent writes exportfact.yaml (${puppet.label})`, function () {
    this.timeout(600000);
    let world: PuppetWorld | undefined;
    let broker: BrokerProcess;
    let node: PuppetNode;
    let dead: string;
    // The fact comes first in the manifest: only its autorequire puts it after the file.
    const code = () => ({
      code: `
      include exportfact
      exportfact_fact { 'demo.hello': value => 'world' }
      class { 'exportfact::agent':
        urls            => ['${dead}', '${broker.url}'],
        connect_timeout => 2,
        read_timeout    => 5,
      }
      notify { "seen \${exportfact::value('demo.hello', 'nothing')} from \${facts.dig('exportfact_status', 'source')}": }`,
    });

    before(async function () {
      this.timeout(1800000); // the Puppet 8 chroot is built once per machine
      world = await PuppetWorld.start('agent-class', [NODE], { puppet });
      broker = world.broker;
      dead = `https://127.0.0.1:${await freePort()}`; // failover: the first broker does not answer
      node = world.node(NODE);
      fs.rmSync(path.join(node.confdir, 'exportfact.yaml')); // a node nobody configured by hand
    });

    after(() => world?.close());

    it('the first run writes the file and already publishes through it', async () => {
      const r = await node.apply(code());
      expect(succeeded(r), explain(r)).to.equal(true);
      expect(r.output).to.match(/File\[.*exportfact\.yaml\]\/ensure: defined content/);
      expect(r.output).to.match(/Exportfact_fact\[demo\.hello\]\/ensure: published "world"/);
      // Its facts were resolved before the file existed: no broker, nothing seen yet.
      expect(r.output).to.include('seen nothing from none');
      const written = fs.readFileSync(path.join(node.confdir, 'exportfact.yaml'), 'utf8');
      expect(written).to.include(`  - "${broker.url}"`);
      expect(written).to.match(/^connect_timeout: 2$/m);
    });

    it('the next run reads the broker with it, and changes nothing', async () => {
      const r = await node.apply(code());
      expect(r.code, explain(r)).to.equal(2); // only the notify
      expect(r.output).to.include('seen world from broker');
      expect(r.output).to.not.match(/exportfact\.yaml\]/);
    });
  });
}
