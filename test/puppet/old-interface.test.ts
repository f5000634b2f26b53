/**
 * The old module's README example, unchanged, on the broker; fact removal; a leftover
 * old-module facts.d file; a single fact exported by two nodes; Sensitive refused; no
 * withdrawal in noop or tagged runs.
 */

import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { explain, type PuppetNode, PuppetWorld, puppetRuntimes, succeeded } from './support';

const ALICE = 'alice.example.test';
const BOB = 'bob.example.test';
const CAROL = 'carol.example.test';

const aliceCode = (extra = '') => `
  include exportfact
  exportfact::export { 'http_proxy_host':
    value    => '${ALICE}',
    category => 'http_proxy',
  }
  ${extra}`;

const bobCode = `
  include exportfact
  exportfact::import { 'http_proxy': }
  notify { 'seen': message => "proxy=\${facts['http_proxy_host']} via=\${facts.dig('exportfact', 'http_proxy', 'http_proxy_host')}" }`;

for (const puppet of puppetRuntimes()) {
  describe(`puppet module: the old interface on the broker (${puppet.label})`, function () {
    this.timeout(600000);
    let world: PuppetWorld | undefined;
    let alice: PuppetNode;
    let bob: PuppetNode;
    let carol: PuppetNode;

    before(async function () {
      this.timeout(1800000); // the Puppet 8 chroot is built once per machine
      world = await PuppetWorld.start('old', [ALICE, BOB, CAROL], { puppet });
      [alice, bob, carol] = [ALICE, BOB, CAROL].map((name) => world!.node(name));
    });

    after(() => world?.close());

    it("the old README example: the importer sees the value in its first run after the exporter's", async () => {
      // The importer runs first: nothing yet, and its run does not fail.
      const before = await bob.apply({ code: bobCode });
      expect(succeeded(before), explain(before)).to.equal(true);
      expect(before.output).to.include('proxy= via=');

      const a = await alice.apply({ code: aliceCode() });
      expect(succeeded(a), explain(a)).to.equal(true);
      expect(a.output).to.match(/Exportfact_fact\[http_proxy\.http_proxy_host\]\/ensure: published "alice\.example\.test"/);

      const b = await bob.apply({ code: bobCode });
      expect(succeeded(b), explain(b)).to.equal(true);
      expect(b.output).to.include(`proxy=${ALICE} via=${ALICE}`);
    });

    it('publishing the same value again changes nothing', async () => {
      const a = await alice.apply({ code: aliceCode() });
      expect(a.code, explain(a)).to.equal(0);
    });

    it('keeps the cache file private (0600) under vardir', async () => {
      const mode = fs.statSync(bob.cacheFile).mode & 0o777;
      expect(mode.toString(8)).to.equal('600');
    });

    it('a single fact exported by a second node fails that resource (naming the owner) and its dependents only', async () => {
      const c = await carol.apply({
        code: `
        include exportfact
        exportfact::export { 'http_proxy_host': value => 'carol', category => 'http_proxy' }
        -> file { '${path.join(carol.dir, 'after-export')}': ensure => file }
        file { '${path.join(carol.dir, 'independent')}': ensure => file }`,
      });
      expect(c.code, explain(c)).to.equal(6);
      expect(c.output).to.match(/another node already exports it.*alice\.example\.test/);
      expect(c.output).to.match(/after-export\]: Skipping because of failed dependencies/);
      expect(fs.existsSync(path.join(carol.dir, 'independent'))).to.equal(true);
      expect(fs.existsSync(path.join(carol.dir, 'after-export'))).to.equal(false);
      // Readers are not affected (the old module failed every reader's run here).
      const b = await bob.apply({ code: bobCode });
      expect(succeeded(b), explain(b)).to.equal(true);
      expect(b.output).to.include(`proxy=${ALICE}`);
    });

    it('refuses a Sensitive value instead of publishing the word "Sensitive"', async () => {
      const c = await carol.apply({
        code: `
        include exportfact
        exportfact::export { 'db_password': value => Sensitive('hunter2'), category => 'secretish' }`,
      });
      expect(c.code, explain(c)).to.equal(1);
      expect(c.output).to.include('refusing a Sensitive value');
      const typed = await carol.apply({
        code: `
        include exportfact
        exportfact_fact { 'secretish.db_password': value => Sensitive('hunter2') }
        file { '${path.join(carol.dir, 'still-applied')}': ensure => file }`,
      });
      expect(typed.code, explain(typed)).to.equal(6);
      expect(typed.output).to.include('refusing a Sensitive value');
      expect(typed.output).to.not.include('hunter2');
      expect(fs.existsSync(path.join(carol.dir, 'still-applied'))).to.equal(true);
    });

    it('removes a leftover old-module facts.d file, whose stale value never wins', async () => {
      fs.mkdirSync(bob.factsd, { recursive: true });
      const old = path.join(bob.factsd, 'http_proxy.txt');
      fs.writeFileSync(old, 'http_proxy_host=stale.example.test\nhttp_proxy_port=3128\n');
      const b = await bob.apply({ code: bobCode });
      expect(succeeded(b), explain(b)).to.equal(true);
      expect(b.output).to.include(`proxy=${ALICE}`);
      expect(b.output).to.match(/File\[.*http_proxy\.txt\]\/ensure: removed/);
      expect(fs.existsSync(old)).to.equal(false);
    });

    it('never withdraws in a noop run or a run limited by tags', async () => {
      const noop = await alice.apply({ code: 'include exportfact' }, ['--noop']);
      expect(succeeded(noop), explain(noop)).to.equal(true);
      // Puppet 7 words a noop change "current_value X, should be Y", Puppet 8 as the type does.
      expect(noop.output).to.match(/withdrawn: (current_value|would withdraw) .*http_proxy\.http_proxy_host.*\(noop\)/);
      const tagged = await alice.apply({ code: "include exportfact\nnotify { 'tagged': tag => 'only' }" }, ['--tags', 'only,exportfact']);
      expect(succeeded(tagged), explain(tagged)).to.equal(true);
      expect(tagged.output).to.not.include('withdrew');
      const b = await bob.apply({ code: bobCode });
      expect(b.output).to.include(`proxy=${ALICE}`);
    });

    it("a fact removed from the exporter's manifests is withdrawn, and readers stop seeing it in their next run", async () => {
      const a = await alice.apply({ code: 'include exportfact' });
      expect(succeeded(a), explain(a)).to.equal(true);
      expect(a.output).to.match(/withdrew http_proxy\.http_proxy_host/);
      const b = await bob.apply({ code: bobCode });
      expect(succeeded(b), explain(b)).to.equal(true);
      expect(b.output).to.include('proxy= via=');
    });
  });
}
