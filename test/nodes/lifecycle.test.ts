// Node lifecycle over the real API (mTLS, both stores): deactivated, revoked and expired nodes
// leave every reader's view at once, their single facts are free for another exporter, they
// come back on their next request, and purge deletes their facts but keeps the audit trail.
import fs from 'node:fs';
import { expect } from 'chai';
import { startTestBroker, type TestBroker } from '../support/broker';
import type { Client } from '../support/client';
import { pgStoreConfigs } from '../support/pg';
import type { TestCert } from '../support/pki';
import { eventually, sleep } from '../support/wait';

const PROD = { pp_environment: 'production' };

describe('node lifecycle', function () {
  this.timeout(120_000);
  for (const storeCase of pgStoreConfigs('lifecycle')) {
    describe(`on the ${storeCase.label} store`, () => {
      let t: TestBroker;
      let admin: Client;
      let reader: Client;
      /** A fresh node per test, so tests do not depend on each other. */
      let n = 0;
      const node = async (): Promise<{ cert: TestCert; client: Client }> => {
        const cert = await t.pki.issueClientCert({ certname: `node${n++}.${storeCase.label}.test`, extensions: PROD });
        return { cert, client: t.client(cert) };
      };
      const view = async () => (await reader.get('/v1/facts')).json;
      const events = async (action: string) =>
        (await t.broker.auditService.events({ action, limit: 100 })).map((e) => ({ actor: e.actor, detail: e.detail }));

      before(async () => {
        t = await startTestBroker({
          store: await storeCase.config(),
          admin: { certnames: ['ops.admin.test'] },
          nodes: { ttlSeconds: 2, purgeTtlSeconds: 0 },
        });
        admin = t.adminClient(await t.pki.issueClientCert({ certname: 'ops.admin.test' }));
        reader = t.client(t.pki.clients.bob);
      });
      after(async () => {
        await t?.close();
        await storeCase.cleanup();
      });

      it('a node an admin deactivates leaves every view at once (new ETag), and another node takes over its single fact', async () => {
        const { cert: old, client: oldClient } = await node();
        const { cert: newCert, client: newcomer } = await node();
        expect((await oldClient.put('/v1/facts/lc/db_url', { value: 'mysql://old' })).status).to.equal(201);
        expect((await oldClient.put('/v1/facts/lc/hosts', { value: 'old-host', multi: true })).status).to.equal(201);
        expect((await newcomer.put('/v1/facts/lc/db_url', { value: 'mysql://new' })).json.error.code).to.equal('fact_owned_by_other');
        const before = await reader.get('/v1/facts');

        const r = await admin.request('POST', `/admin/v1/nodes/${old.certname}/deactivate`, { body: { reason: 'decommissioned' } });
        expect([r.status, r.json]).to.deep.equal([200, { certname: old.certname, state: 'deactivated' }]);
        const after = await reader.get('/v1/facts', { headers: { 'If-None-Match': before.headers.etag as string } });
        expect(after.status, 'the ETag changed').to.equal(200);
        expect(after.json.facts.lc?.db_url).to.equal(undefined);
        expect(after.json.per_node.lc?.hosts?.[old.certname]).to.equal(undefined);

        const takeover = await newcomer.put('/v1/facts/lc/db_url', { value: 'mysql://new' });
        expect(takeover.status, takeover.text).to.equal(201);
        expect((await view()).facts.lc.db_url).to.equal('mysql://new');
        expect(await events('fact.take_over')).to.deep.include({ actor: newCert.certname, detail: { from: old.certname } });
        expect((await events('node.deactivate')).map((e) => e.detail)).to.deep.include({
          certname: old.certname,
          reason: 'decommissioned',
        });
        const shown = await admin.get(`/admin/v1/nodes/${old.certname}`);
        expect(shown.json).to.deep.include({ state: 'deactivated', state_reason: 'decommissioned' });
        expect(shown.json.exports.map((e: { name: string }) => e.name)).to.deep.equal(['hosts']); // db_url was taken over
      });

      it('a deactivated node that makes a request is active again, with its per-node facts back', async () => {
        const { cert, client } = await node();
        await client.put('/v1/facts/lc/back', { value: 'here', multi: true });
        await admin.request('POST', `/admin/v1/nodes/${cert.certname}/deactivate`, { body: {} });
        expect((await view()).per_node.lc?.back?.[cert.certname]).to.equal(undefined);
        // Its own next request (here a read) reactivates it before it is answered.
        expect((await client.get('/v1/exports')).status).to.equal(200);
        expect((await view()).per_node.lc.back[cert.certname]).to.equal('here');
        expect((await admin.get(`/admin/v1/nodes/${cert.certname}`)).json.state).to.equal('active');
        expect((await events('node.reactivate')).map((e) => e.actor)).to.include(cert.certname);
      });

      it('a node publishing while it is deactivated is reactivated by that publish (documented choice)', async () => {
        const { cert, client } = await node();
        await client.put('/v1/facts/lc/racing', { value: 1 });
        await admin.request('POST', `/admin/v1/nodes/${cert.certname}/deactivate`, { body: {} });
        const r = await client.put('/v1/facts/lc/racing', { value: 2 });
        expect(r.status).to.equal(200);
        expect((await view()).facts.lc.racing).to.equal(2);
      });

      it('a node not seen for the node TTL expires, and comes back on its next request', async () => {
        const { cert, client } = await node();
        await client.put('/v1/facts/lc/idle', { value: 'idle-value' });
        await t.broker.services.nodes.flush();
        await sleep(2500); // the TTL of this broker is 2 s
        await t.broker.services.lifecycle.sweep();
        expect((await admin.get(`/admin/v1/nodes/${cert.certname}`)).json.state).to.equal('expired');
        expect((await view()).facts.lc?.idle).to.equal(undefined);
        expect((await admin.get('/admin/v1/nodes?state=expired')).json.nodes.map((x: { certname: string }) => x.certname)).to.include(
          cert.certname,
        );
        await client.get('/v1/facts');
        expect((await view()).facts.lc.idle).to.equal('idle-value');
      });

      it('a revoked certificate deactivates its node when the CRL listing it is loaded; its fact is free', async () => {
        const { cert, client } = await node();
        const { client: newcomer } = await node();
        await client.put('/v1/facts/lc/revoked_url', { value: 'mysql://revoked' });
        await t.broker.services.nodes.flush();
        fs.writeFileSync(t.config.tls.crl!, await t.pki.crlBundleRevoking([cert.serial]));
        await eventually(
          'the node is deactivated',
          async () => (await admin.get(`/admin/v1/nodes/${cert.certname}`)).json.state === 'deactivated',
          10_000,
        );
        expect((await admin.get(`/admin/v1/nodes/${cert.certname}`)).json.state_reason).to.equal('certificate revoked');
        expect((await view()).facts.lc?.revoked_url).to.equal(undefined);
        expect((await newcomer.put('/v1/facts/lc/revoked_url', { value: 'mysql://replacement' })).status).to.equal(201);
        // The revoked node cannot come back: it cannot authenticate.
        expect((await client.get('/v1/facts')).json.error.code).to.equal('certificate_revoked');
        expect((await admin.get(`/admin/v1/nodes/${cert.certname}`)).json.state).to.equal('deactivated');
      });

      it("purge deletes a node's facts for good and keeps the audit trail; 404 for a node nobody knows", async () => {
        const { cert, client } = await node();
        await client.put('/v1/facts/lc/purged', { value: 'gone-soon' });
        await client.put('/v1/facts/lc/purged_secret', { value: 'purge-canary', sensitive: true });
        const r = await admin.request('POST', `/admin/v1/nodes/${cert.certname}/purge`, { body: {} });
        expect([r.status, r.json]).to.deep.equal([200, { certname: cert.certname, withdrawn: 2 }]);
        expect((await admin.get(`/admin/v1/nodes/${cert.certname}`)).json.error.code).to.equal('node_not_found');
        const { rows } = await t.broker.store.query<{ n: number }>('SELECT count(*)::int AS n FROM fact_values WHERE exporter = $1', [
          cert.certname,
        ]);
        expect(rows[0].n).to.equal(0);
        const { rows: sealed } = await t.broker.store.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM secret_versions WHERE exporter = $1 AND state <> 'destroyed'",
          [cert.certname],
        );
        expect(sealed[0].n).to.equal(0);
        const created = await t.broker.auditService.events({ actor: cert.certname, action: 'fact.create', limit: 10 });
        expect(created.map((e) => e.name).sort()).to.deep.equal(['purged', 'purged_secret']);
        expect((await events('node.purge')).map((e) => e.detail)).to.deep.include({ certname: cert.certname, withdrawn: 2 });
        for (const path of ['/admin/v1/nodes/nobody.test/deactivate', '/admin/v1/nodes/nobody.test/purge']) {
          const unknown = await admin.request('POST', path, { body: {} });
          expect([unknown.status, unknown.json.error.code]).to.deep.equal([404, 'node_not_found']);
        }
      });

      it('the node routes need nodes:read / nodes:write and check their input', async () => {
        expect((await admin.get('/admin/v1/nodes?state=gone')).json.error.message).to.match(/^field state: /);
        expect((await admin.request('POST', '/admin/v1/nodes/Bad%20Name/deactivate', { body: {} })).json.error.code).to.equal(
          'invalid_name',
        );
        expect(
          (await admin.request('POST', '/admin/v1/nodes/x.test/deactivate', { body: { reason: 'x', extra: 1 } })).json.error.message,
        ).to.equal('unknown field "extra"');
        // The agent port lists nodes of the caller's environment with their states.
        const nodes = (await reader.get('/v1/nodes')).json.nodes as { certname: string; state: string }[];
        expect(nodes.every((x) => ['active', 'deactivated', 'expired'].includes(x.state))).to.equal(true);
      });
    });
  }
});
