// Gates reported by nodes and the deployment picture built from them (real mTLS, both stores):
// who waits on what, who could publish it, root causes first; edges coloured by state.

import fs from 'node:fs';
import { expect } from 'chai';
import { issueAdminToken } from '../../src/admin/token';
import { startTestBroker, type TestBroker } from '../support/broker';
import { runCli } from '../support/cli';
import type { Client } from '../support/client';
import { pgStoreConfigs } from '../support/pg';

const gate = (open: boolean, requires: string[], missing: string[] = open ? [] : requires) => ({
  open,
  requires: requires.map((r) => ({ category: r.split('.')[0], name: r.split('.')[1] })),
  missing: missing.map((r) => ({ category: r.split('.')[0], name: r.split('.')[1] })),
});

describe('gates and the deployment graph', function () {
  this.timeout(120_000);
  for (const storeCase of pgStoreConfigs('graph')) {
    describe(`on the ${storeCase.label} store`, () => {
      let t: TestBroker;
      let admin: Client;
      let database: Client; // alice, pp_role db
      let keystone: Client; // bob, pp_role keystone
      let compute: Client; // carol, pp_role web
      const graph = async () => (await admin.get('/admin/v1/graph')).json;

      before(async () => {
        t = await startTestBroker({ store: await storeCase.config(), admin: { certnames: ['ops.admin.test'] } });
        admin = t.adminClient(await t.pki.issueClientCert({ certname: 'ops.admin.test' }));
        database = t.client(t.pki.clients.alice);
        keystone = t.client(t.pki.clients.bob);
        compute = t.client(t.pki.clients.carol);
      });
      after(async () => {
        await t?.close();
        await storeCase.cleanup();
      });

      it("takes a node's gate reports, and refuses bad ones with 400 naming the field", async () => {
        const r = await keystone.put('/v1/gates/role%3A%3Akeystone', gate(false, ['db.keystone_url']));
        expect([r.status, r.json]).to.deep.equal([200, { name: 'role::keystone', open: false, changed: true }]);
        expect((await keystone.put('/v1/gates/role%3A%3Akeystone', gate(false, ['db.keystone_url']))).json.changed).to.equal(false);
        expect((await keystone.get('/v1/gates')).json.gates.map((g: { name: string }) => g.name)).to.deep.equal(['role::keystone']);
        expect((await keystone.put('/v1/gates/x', { open: 'yes', requires: [] })).json.error.message).to.match(/^field open: /);
        expect(
          (await keystone.put('/v1/gates/x', { open: true, requires: [{ category: 'DB', name: 'url' }] })).json.error.message,
        ).to.match(/^field requires\.0\.category: /);
        expect((await keystone.put('/v1/gates/x', { open: true, requires: [], value: 'secret' })).json.error.message).to.equal(
          'unknown field "value"',
        );
        expect((await keystone.put('/v1/gates/a%00b', gate(true, []))).json.error.code).to.equal('invalid_name');
      });

      it('lists waits root causes first: what nobody exports before nodes that wait on waiting nodes', async () => {
        // keystone once exported keystone.url (so it could again), and now waits for the database.
        await keystone.put('/v1/facts/keystone/url', { value: 'http://ks:5000' });
        await keystone.delete('/v1/facts/keystone/url');
        await compute.put('/v1/gates/role%3A%3Acompute', gate(false, ['keystone.url']));
        const g = await graph();
        expect(g.waits.map((w: { certname: string; depth: number }) => [w.certname, w.depth])).to.deep.equal([
          ['bob.test', 0],
          ['carol.test', 1],
        ]);
        expect(g.waits[0].missing).to.deep.equal([{ fact: 'db.keystone_url', min: 1, have: 0, exporters: [], nobody_exports: true }]);
        expect(g.waits[1].missing[0].exporters).to.deep.equal(['bob.test']);
        expect(g.waits[0].role).to.equal('keystone');
        const need = g.edges.find((e: { to: string }) => e.to === 'bob.test');
        expect(need).to.deep.include({ from: null, fact: 'db.keystone_url', state: 'waiting', gate: 'role::keystone' });
      });

      it('turns an edge satisfied when the fact appears, and shows the gate opening on the timeline', async () => {
        await database.put('/v1/facts/db/keystone_url', { value: 'mysql://db/keystone' });
        let g = await graph();
        expect(g.edges.find((e: { to: string }) => e.to === 'bob.test')).to.deep.include({ from: 'alice.test', state: 'satisfied' });
        // Until keystone's next run the gate is still closed, but it is no longer a cause: it is
        // listed last, ready, and compute (behind it) is a root cause of its own no more.
        expect(g.waits.map((w: { certname: string; ready: boolean }) => [w.certname, w.ready])).to.deep.equal([
          ['carol.test', false],
          ['bob.test', true],
        ]);
        await keystone.put('/v1/gates/role%3A%3Akeystone', gate(true, ['db.keystone_url']));
        g = await graph();
        expect(g.waits.map((w: { certname: string }) => w.certname)).to.deep.equal(['carol.test']);
        expect(g.timeline.map((e: { certname: string; gate: string }) => [e.certname, e.gate])).to.deep.include([
          'bob.test',
          'role::keystone',
        ]);
        expect(JSON.stringify(g)).to.not.include('mysql://db/keystone'); // names only, never values
      });

      it('marks a need stale when its exporter is deactivated, and conflicted when another node was refused it', async () => {
        const other = t.client(
          await t.pki.issueClientCert({ certname: `other.${storeCase.label}.test`, extensions: { pp_environment: 'production' } }),
        );
        expect((await other.put('/v1/facts/db/keystone_url', { value: 'mysql://other' })).status).to.equal(409);
        expect((await graph()).edges.find((e: { to: string }) => e.to === 'bob.test').state).to.equal('conflict');
        await t.broker.audit.flushRefusals();
        await admin.request('POST', '/admin/v1/nodes/alice.test/deactivate', { body: {} });
        await t.client(t.pki.clients.carol).get('/v1/facts'); // someone else's request changes nothing for alice
        const stale = (await graph()).facts.find((f: { fact: string }) => f.fact === 'db.keystone_url');
        expect(stale.exporters).to.deep.equal([{ certname: 'alice.test', state: 'deactivated', version: 1 }]);
        await database.get('/v1/facts'); // alice comes back
      });

      it('prunes the gates a catalog no longer has', async () => {
        await compute.put('/v1/gates/old%20gate', gate(true, []));
        const r = await compute.request('POST', '/v1/gates/prune', { body: { keep: ['role::compute'] } });
        expect(r.json.removed).to.deep.equal(['old gate']);
        expect((await compute.get('/v1/gates')).json.gates.map((g: { name: string }) => g.name)).to.deep.equal(['role::compute']);
      });

      it('needs graph:read (403 without, 401 with nothing), and answers an unknown environment with an empty graph', async () => {
        const key = fs.readFileSync(t.config.admin!.signingKeyFile, 'utf8');
        const auditOnly = await issueAdminToken(key, { subject: 'ops', scopes: ['audit:read'] });
        const graphReader = await issueAdminToken(key, { subject: 'ops', scopes: ['graph:read'] });
        expect((await t.adminClient().get('/admin/v1/graph', { headers: { Authorization: `Bearer ${auditOnly}` } })).status).to.equal(403);
        expect((await t.adminClient().get('/admin/v1/graph')).status).to.equal(401);
        const empty = await t
          .adminClient()
          .get('/admin/v1/graph?environment=nowhere', { headers: { Authorization: `Bearer ${graphReader}` } });
        expect(empty.status).to.equal(200);
        expect(empty.json).to.deep.include({ environment: 'nowhere', nodes: [], facts: [], edges: [], waits: [] });
      });

      it('exportfact waits and exportfact graph --format dot, from the command line', async function () {
        if (storeCase.label !== 'embedded') return this.skip(); // the command is the same on both stores
        const token = await issueAdminToken(fs.readFileSync(t.config.admin!.signingKeyFile, 'utf8'), {
          subject: 'ops',
          scopes: ['graph:read'],
        });
        const env = { EXPORTFACT_ADMIN_TOKEN: token, EXPORTFACT_ADMIN_URL: t.broker.adminUrl!, EXPORTFACT_ADMIN_CA: t.config.tls.ca };
        const waits = await runCli(['waits'], { env });
        expect(waits.code, waits.stderr).to.equal(0);
        expect(waits.stdout).to.match(/^NODE\s+ROLE\s+GATE\s+WAITS FOR\s+WHO COULD PUBLISH IT\s+SINCE\s+CAUSE/);
        expect(waits.stdout).to.match(/carol\.test\s+web\s+role::compute\s+keystone\.url\s+bob\.test\s+\S+\s+root/);
        const dot = await runCli(['graph', '--format', 'dot'], { env });
        expect(dot.stdout).to.match(/^digraph "exportfact production" \{/);
        expect(dot.stdout).to.include('"fact keystone.url" -> "carol.test" [color=darkorange, label="waiting"];');
      });
    });
  }
});
