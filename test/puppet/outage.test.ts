/**
 * Broker unreachable: a node with a cached view goes on with it (a warning says how old it
 * is), its gates stay open and nothing is withdrawn; a node without a cache sees no facts
 * and its gated roles wait, the rest of its run applied, nothing failed (its gate's report
 * waits for the broker, with one warning). Failover to a second URL.
 */

import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import {
  type BrokerProcess,
  EXAMPLES_DIR,
  explain,
  freePort,
  type PuppetNode,
  PuppetWorld,
  puppetRuntimes,
  runInPairs,
  succeeded,
} from './support';

const SITE = { file: path.join(EXAMPLES_DIR, 'site.pp') };
const DB = 'db.outage.test';
const MQ = 'mq.outage.test';
const KS = 'keystone.outage.test';
const FRESH = 'fresh.outage.test';
// A reader gated on the database (its own role: keystone.url has one exporter).
const freshCode = (dir: string) => ({
  code: `
  include exportfact
  if exportfact::gate('role::reader', ['db.keystone_url']) {
    file { '${dir}/reader.conf': content => exportfact::value('db.keystone_url') }
  }`,
});

for (const puppet of puppetRuntimes()) {
  describe(`puppet module: broker unreachable (${puppet.label})`, function () {
    this.timeout(600000);
    let world: PuppetWorld | undefined;
    let broker: BrokerProcess;
    let n: Record<string, PuppetNode>;

    before(async function () {
      this.timeout(1800000); // the Puppet 8 chroot is built once per machine
      world = await PuppetWorld.start('outage', [DB, MQ, KS, FRESH], { puppet });
      broker = world.broker;
      const roles: Record<string, string[]> = { [DB]: ['database'], [MQ]: ['mq'], [KS]: ['keystone'], [FRESH]: [] };
      n = {};
      for (const name of [DB, MQ, KS, FRESH]) n[name] = world.node(name, { 'kickstack::roles': roles[name] });
      for (const r of await runInPairs([n[DB], n[MQ]], SITE)) expect(succeeded(r), explain(r)).to.equal(true);
      const ks = await n[KS].apply(SITE);
      expect(succeeded(ks), explain(ks)).to.equal(true);
      expect(fs.existsSync(path.join(n[KS].serviceRoot, 'keystone.conf'))).to.equal(true);
    });

    after(() => world?.close());

    describe('while the broker is down', () => {
      before(async () => {
        await broker.stop();
      });

      it('a node with a cache goes on with it, says how old it is, keeps its gates open and withdraws nothing', async () => {
        const conf = fs.readFileSync(path.join(n[KS].serviceRoot, 'keystone.conf'), 'utf8');
        const r = await n[KS].apply(SITE);
        // The run goes on; only the publishing resource fails (it cannot reach the broker).
        expect(r.code, explain(r)).to.be.oneOf([4, 6]);
        expect(r.output).to.match(/Warning: exportfact: broker unreachable, using the cached view from \S+ \(\d+[smhd] old\)/);
        expect(r.output).to.match(
          /Exportfact_fact\[keystone\.url\].*exportfact: cannot publish keystone\.url: exportfact broker unreachable/,
        );
        expect(r.output).to.not.include('waits for');
        expect(r.output).to.not.include('withdrew');
        expect(fs.readFileSync(path.join(n[KS].serviceRoot, 'keystone.conf'), 'utf8')).to.equal(conf);
      });

      it('a node without a cache sees no exportfact facts; its gated role waits and its run fails nothing', async () => {
        const r = await n[FRESH].apply(freshCode(n[FRESH].dir));
        // A read-only node: its gate's report waits for the broker with one warning, so an outage
        // does not turn every reader's run red.
        expect(r.code, explain(r)).to.be.oneOf([0, 2]);
        expect(
          r.lines.filter((l) => l.startsWith('Error:')),
          explain(r),
        ).to.have.length(0);
        expect(r.output).to.match(/Warning: exportfact: gates not reported this run: exportfact broker unreachable/);
        expect(r.output).to.include('Warning: exportfact: broker unreachable and no cached view');
        expect(r.output).to.include('exportfact: role::reader waits for db.keystone_url (absent) (exportfact view from none)');
        expect(fs.existsSync(n[FRESH].cacheFile)).to.equal(false);
      });

      it('a database node that cannot publish does not withdraw either', async () => {
        const r = await n[DB].apply(SITE);
        expect(r.code, explain(r)).to.be.oneOf([4, 6]);
        expect(r.output).to.not.include('withdrew');
      });
    });

    describe('when the broker is back', () => {
      before(async () => {
        await broker.start();
      });

      it('nothing was withdrawn: the cached node is steady and the fresh node opens its gate', async () => {
        const ks = await n[KS].apply(SITE);
        expect(ks.code, explain(ks)).to.equal(0);
        const fresh = await n[FRESH].apply(freshCode(n[FRESH].dir));
        expect(succeeded(fresh), explain(fresh)).to.equal(true);
        expect(fresh.output).to.not.include('waits for');
        expect(fs.readFileSync(path.join(n[FRESH].dir, 'reader.conf'), 'utf8')).to.equal('mysql://db.outage.test/keystone');
      });

      it('fails over to the next URL when the first does not answer', async () => {
        const dead = `https://127.0.0.1:${await freePort()}`;
        n[KS].setBroker([dead, broker.url], { connect_timeout: 1 });
        const r = await n[KS].apply(SITE);
        expect(r.code, explain(r)).to.equal(0);
        expect(r.output).to.not.include('broker unreachable');
      });
    });
  });
}
