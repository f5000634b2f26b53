/**
 * A node deactivated by an admin (the CLI, over the admin API with an admin certificate)
 * vanishes from a reader's facts in the reader's next `puppet apply` run: its configuration
 * file is rewritten without the dead backend, `exportfact_status['removed']` (and
 * `['removed_exporters']` for a per-node fact) name what left for that run only, and a new
 * node takes over the dead node's single fact without a 409. On Puppet 7 and on Puppet 8.
 */

import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { type BrokerProcess, explain, freePort, type PuppetNode, PuppetWorld, puppetRuntimes, succeeded } from './support';

const OLD = 'old.lifecycle.test';
const WEB2 = 'web2.lifecycle.test';
const READER = 'reader.lifecycle.test';
const NEW = 'new.lifecycle.test';
const ADMIN = 'admin.lifecycle.test'; // an admin certificate: never runs Puppet

const exporter = (url?: string) => ({
  code: `
  include exportfact
  exportfact_fact { 'web.backend': value => $trusted['certname'], multi => true }
  ${url ? `exportfact_fact { 'svc.url': value => '${url}' }` : ''}`,
});

// The reader lists every backend in a configuration file, and keeps what exportfact_status
// said left its view in this run.
const reader = (dir: string) => ({
  code: `
  include exportfact
  $backends = exportfact::value('web.backend', {}).keys.sort.join(' ')
  $status = $facts['exportfact_status']
  file { '${dir}/lb.conf':
    content => "svc = \${exportfact::value('svc.url', 'none')}\\nbackends = \${backends}\\n",
  }
  $gone = $status.dig('removed_exporters').lest || { {} }.map |$fact, $nodes| { "\${fact}: \${nodes.join(' ')}" }
  file { '${dir}/removed.txt':
    content => "removed = \${($status.dig('removed').lest || { [] }).join(' ')}\\nremoved_exporters = \${gone.join('; ')}\\n",
  }`,
});

for (const puppet of puppetRuntimes()) {
  describe(`puppet module: a deactivated node leaves its readers' facts (${puppet.label})`, function () {
    this.timeout(600000);
    let world: PuppetWorld | undefined;
    let broker: BrokerProcess;
    const n: Record<string, PuppetNode> = {};
    const read = (file: string) => fs.readFileSync(path.join(n[READER].dir, file), 'utf8');
    const runReader = async () => {
      const r = await n[READER].apply(reader(n[READER].dir));
      expect(succeeded(r), explain(r)).to.equal(true);
      return r;
    };

    before(async function () {
      this.timeout(1800000); // the Puppet 8 chroot is built once per machine
      const options = { adminPort: await freePort(), adminCertnames: [ADMIN] };
      world = await PuppetWorld.start('lifecycle', [OLD, WEB2, READER, NEW, ADMIN], { puppet, broker: options });
      broker = world.broker;
      for (const name of [OLD, WEB2, READER, NEW]) n[name] = world.node(name);
    });

    after(() => world?.close());

    it("the reader first lists both backends and the old node's service; nothing has left its view", async () => {
      for (const [node, code] of [
        [OLD, exporter('http://old.lifecycle.test:80')],
        [WEB2, exporter()],
      ] as const) {
        const r = await n[node].apply(code);
        expect(succeeded(r), explain(r)).to.equal(true);
      }
      await runReader();
      expect(read('lb.conf')).to.equal(`svc = http://old.lifecycle.test:80\nbackends = ${OLD} ${WEB2}\n`);
      expect(read('removed.txt')).to.equal('removed = \nremoved_exporters = \n');
    });

    it("deactivated by an admin, the old node leaves the reader's facts in its next run, which says what left", async () => {
      const d = await broker.adminCli(['nodes', 'deactivate', OLD, '--reason', 'decommissioned (lifecycle test)'], { certname: ADMIN });
      expect(d.code, d.stderr).to.equal(0);
      const listed = await broker.adminCli(['nodes', 'list', '--state', 'deactivated', '--json'], { certname: ADMIN });
      expect(JSON.parse(listed.stdout).nodes.map((x: { certname: string }) => x.certname)).to.deep.equal([OLD]);

      const r = await runReader();
      expect(r.code, explain(r)).to.equal(2); // the configuration was rewritten
      expect(read('lb.conf')).to.equal(`svc = none\nbackends = ${WEB2}\n`);
      expect(read('removed.txt')).to.equal(`removed = svc.url\nremoved_exporters = web.backend: ${OLD}\n`);
    });

    it('says so for that run only', async () => {
      await runReader();
      expect(read('removed.txt')).to.equal('removed = \nremoved_exporters = \n');
      const steady = await runReader();
      expect(steady.code, explain(steady)).to.equal(0);
    });

    it("a new node takes the dead node's single fact over without a 409, and the reader follows", async () => {
      const r = await n[NEW].apply({ code: "include exportfact\nexportfact_fact { 'svc.url': value => 'http://new.lifecycle.test:80' }" });
      expect(r.code, explain(r)).to.equal(2);
      expect(r.output).to.match(/Exportfact_fact\[svc\.url\]\/ensure: published "http:\/\/new\.lifecycle\.test:80"/);
      expect(r.output).to.not.include('409');
      await runReader();
      expect(read('lb.conf')).to.equal(`svc = http://new.lifecycle.test:80\nbackends = ${WEB2}\n`);
      expect(read('removed.txt')).to.equal('removed = \nremoved_exporters = \n');
    });
  });
}
