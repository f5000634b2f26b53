import { expect } from 'chai';
import { READ_ALL_SECRETS, startTestBrokerOn, type TestBroker } from '../support/broker';
import type { Client } from '../support/client';
import { skipPg } from '../support/pg';

for (const backend of ['embedded', 'postgres'] as const)
  describe(`facts API (${backend} store, real mTLS)`, () => {
    let t: TestBroker;
    let db: { drop(): Promise<void> } | undefined;
    let alice: Client; // production, RSA
    let bob: Client; // production, EC
    let staging: Client;

    before(async function () {
      if (backend === 'postgres' && skipPg()) return this.skip();
      ({ t, db } = await startTestBrokerOn(backend, 'api', { policy: READ_ALL_SECRETS }));
      alice = t.client(t.pki.clients.alice);
      bob = t.client(t.pki.clients.bob);
      staging = t.client(t.pki.clients.staging);
    });
    after(async () => {
      await t?.close();
      await db?.drop();
    });

    describe('publishing', () => {
      it('answers 201 on create, 200 on change, and the same version without a new one when unchanged', async () => {
        const created = await alice.put('/v1/facts/db/url', { value: 'mysql://db1/nova' });
        expect(created.status).to.equal(201);
        expect(created.json).to.include({
          category: 'db',
          name: 'url',
          environment: 'production',
          changed: true,
          multi: false,
          sensitive: false,
        });
        const v1 = created.json.version;

        const same = await alice.put('/v1/facts/db/url', { value: 'mysql://db1/nova' });
        expect(same.status).to.equal(200);
        expect(same.json).to.include({ version: v1, changed: false });

        const changed = await alice.put('/v1/facts/db/url', { value: 'mysql://db2/nova' });
        expect(changed.status).to.equal(200);
        expect(changed.json).to.include({ version: v1 + 1, changed: true });
      });

      it('treats JSON objects with reordered keys as the same value', async () => {
        const a = await alice.put('/v1/facts/db/conf', { value: { host: 'db1', port: 3306 } });
        const b = await alice.put('/v1/facts/db/conf', { value: { port: 3306, host: 'db1' } });
        expect(b.json).to.include({ changed: false, version: a.json.version });
      });

      it('refuses a single fact exported by another node with 409 naming the exporter, and changes nothing', async () => {
        await alice.put('/v1/facts/keystone/endpoint', { value: 'http://alice:5000' });
        const r = await bob.put('/v1/facts/keystone/endpoint', { value: 'http://bob:5000' });
        expect(r.status).to.equal(409);
        expect(r.json.error.code).to.equal('fact_owned_by_other');
        expect(r.json.error.message).to.contain(t.pki.clients.alice.certname);
        const view = await bob.get('/v1/facts');
        expect(view.json.facts.keystone.endpoint).to.equal('http://alice:5000');
      });

      it('keeps one value per exporter for a per-node fact', async () => {
        expect((await alice.put('/v1/facts/mq/host', { value: '10.0.0.5', multi: true })).status).to.equal(201);
        expect((await bob.put('/v1/facts/mq/host', { value: '10.0.0.6', multi: true })).status).to.equal(201);
        const view = await alice.get('/v1/facts');
        expect(view.json.per_node.mq.host).to.deep.equal({
          [t.pki.clients.alice.certname]: '10.0.0.5',
          [t.pki.clients.bob.certname]: '10.0.0.6',
        });
        expect(view.json.facts.mq).to.equal(undefined);
      });

      it('refuses publishing with the other kind (409 fact_kind_conflict)', async () => {
        const r = await bob.put('/v1/facts/mq/host', { value: 'x' });
        expect(r.status).to.equal(409);
        expect(r.json.error.code).to.equal('fact_kind_conflict');
        const s = await alice.put('/v1/facts/db/url', { value: 'y', multi: true });
        expect(s.json.error.code).to.equal('fact_kind_conflict');
      });

      it('lets the kind change once every value is withdrawn', async () => {
        await alice.put('/v1/facts/kind/flip', { value: 1 });
        expect((await alice.delete('/v1/facts/kind/flip')).status).to.equal(200);
        const r = await bob.put('/v1/facts/kind/flip', { value: 2, multi: true });
        expect(r.status).to.equal(201);
        expect(r.json.multi).to.equal(true);
      });

      it('keeps environments apart: staging never sees or overwrites production', async () => {
        const r = await staging.put('/v1/facts/db/url', { value: 'mysql://staging-db/nova' });
        expect(r.status).to.equal(201);
        expect(r.json.environment).to.equal('staging');
        const prod = await alice.get('/v1/facts');
        expect(prod.json.facts.db.url).to.not.equal('mysql://staging-db/nova');
        const stag = await staging.get('/v1/facts');
        expect(stag.json.environment).to.equal('staging');
        expect(stag.json.facts).to.deep.equal({ db: { url: 'mysql://staging-db/nova' } });
      });
    });

    describe('reading', () => {
      it('never shows a sensitive value in the view, only its version', async () => {
        const p = await alice.put('/v1/facts/db/password', { value: 'canary-Secr3t-value', sensitive: true });
        expect(p.status).to.equal(201);
        const view = await bob.get('/v1/facts');
        expect(view.text).to.not.contain('canary-Secr3t-value');
        expect(view.json.secrets.db.password).to.deep.equal({ version: p.json.version });
        expect(view.json.facts.db.password).to.equal(undefined);
      });

      it('hands out a sensitive value on GET /v1/secrets with no-store caching', async () => {
        const r = await bob.get('/v1/secrets/db/password');
        expect(r.status).to.equal(200);
        expect(r.json).to.deep.include({ category: 'db', name: 'password', value: 'canary-Secr3t-value' });
        expect(r.headers['cache-control']).to.equal('no-store');
        const notSecret = await bob.get('/v1/secrets/db/url');
        expect(notSecret.status).to.equal(404);
        expect(notSecret.json.error.code).to.equal('secret_not_found');
      });

      it('never writes a fact value to the log', async () => {
        await alice.put('/v1/facts/log/probe', { value: 'log-canary-4711' });
        await bob.get('/v1/facts');
        expect(t.logs.text).to.not.contain('log-canary-4711');
        expect(t.logs.text).to.not.contain('canary-Secr3t-value');
        const line = t.logs.lines.map((l) => JSON.parse(l)).find((l) => l.url === '/v1/facts/log/probe');
        expect(line).to.include({ certname: t.pki.clients.alice.certname, method: 'PUT', route: '/facts/:category/:name', status: 201 });
        expect(line.ms).to.be.a('number');
      });

      it('answers 304 to If-None-Match with the current tag, and 200 with a new tag after a change', async () => {
        const first = await bob.get('/v1/facts');
        const etag = first.headers.etag as string;
        expect(etag).to.match(/^".+"$/);
        const again = await bob.get('/v1/facts', { headers: { 'If-None-Match': etag } });
        expect(again.status).to.equal(304);
        expect(again.text).to.equal('');
        await alice.put('/v1/facts/etag/probe', { value: Date.now() });
        const after = await bob.get('/v1/facts', { headers: { 'If-None-Match': etag } });
        expect(after.status).to.equal(200);
        expect(after.headers.etag).to.not.equal(etag);
        expect(after.json.facts.etag.probe).to.be.a('number');
      });

      it('serves one category with GET /v1/facts/{category}', async () => {
        const r = await bob.get('/v1/facts/db');
        expect(Object.keys(r.json.facts)).to.deep.equal(['db']);
        expect(r.json.secrets.db.password.version).to.be.a('number');
        const empty = await bob.get('/v1/facts/nothing_here');
        expect(empty.json).to.deep.include({ facts: {}, per_node: {}, secrets: {} });
      });

      it('lists nodes of the environment with first and last contact', async () => {
        const r = await alice.get('/v1/nodes');
        const names = r.json.nodes.map((n: { certname: string }) => n.certname);
        expect(names).to.include.members([t.pki.clients.alice.certname, t.pki.clients.bob.certname]);
        expect(names).to.not.include(t.pki.clients.staging.certname);
        const a = r.json.nodes.find((n: { certname: string }) => n.certname === t.pki.clients.alice.certname);
        expect(Date.parse(a.first_seen)).to.be.at.most(Date.parse(a.last_seen));
      });
    });

    describe('withdrawing', () => {
      it('withdraws only the caller’s own fact', async () => {
        await alice.put('/v1/facts/w/one', { value: 'a' });
        const denied = await bob.delete('/v1/facts/w/one');
        expect(denied.status).to.equal(404);
        expect(denied.json.error.code).to.equal('fact_not_found');
        const ok = await alice.delete('/v1/facts/w/one');
        expect(ok.status).to.equal(200);
        expect(ok.json.withdrawn).to.equal(true);
        expect((await bob.get('/v1/facts')).json.facts.w).to.equal(undefined);
        // Handing over: once withdrawn, another node may take the name.
        expect((await bob.put('/v1/facts/w/one', { value: 'b' })).status).to.equal(201);
      });

      it('keeps version numbers counting up without gaps across a withdrawal', async () => {
        const a = await alice.put('/v1/facts/w/two', { value: 1 });
        const d = await alice.delete('/v1/facts/w/two');
        const b = await alice.put('/v1/facts/w/two', { value: 2 });
        expect([d.json.version, b.json.version]).to.deep.equal([a.json.version + 1, a.json.version + 2]);
      });

      it('prunes what is not kept, in one call, and lists the caller’s exports', async () => {
        await bob.put('/v1/facts/p/keep', { value: 1 });
        await bob.put('/v1/facts/p/drop', { value: 2 });
        const before = await bob.get('/v1/exports');
        const keepAll = before.json.exports
          .filter((e: { name: string }) => e.name !== 'drop')
          .map(({ category, name }: { category: string; name: string }) => ({ category, name }));
        const r = await bob.request('POST', '/v1/exports/prune', { body: { keep: keepAll } });
        expect(r.status).to.equal(200);
        expect(r.json.withdrawn).to.deep.equal([{ category: 'p', name: 'drop' }]);
        const after = await bob.get('/v1/exports');
        expect(after.json.exports.map((e: { name: string }) => e.name))
          .to.include('keep')
          .and.not.include('drop');
        expect((await alice.get('/v1/facts')).json.facts.p).to.deep.equal({ keep: 1 });
      });
    });

    describe('bad requests change nothing and say what is wrong', () => {
      const cases: [string, string, string, Record<string, unknown>, number, string, RegExp][] = [
        [
          'malformed JSON',
          'PUT',
          '/v1/facts/bad/a',
          { rawBody: '{"value": ', headers: { 'Content-Type': 'application/json' } },
          400,
          'invalid_json',
          /JSON/,
        ],
        ['missing value', 'PUT', '/v1/facts/bad/a', { body: { sensitive: false } }, 400, 'invalid_body', /value/],
        ['null value', 'PUT', '/v1/facts/bad/a', { body: { value: null } }, 400, 'invalid_body', /value/],
        ['wrong type', 'PUT', '/v1/facts/bad/a', { body: { value: 1, sensitive: 'yes' } }, 400, 'invalid_body', /sensitive/],
        ['unknown field', 'PUT', '/v1/facts/bad/a', { body: { value: 1, owner: 'someone' } }, 400, 'invalid_body', /owner/],
        ['body not an object', 'PUT', '/v1/facts/bad/a', { body: [1, 2] }, 400, 'invalid_body', /object/],
        [
          'not JSON content type',
          'PUT',
          '/v1/facts/bad/a',
          { rawBody: 'value=1', headers: { 'Content-Type': 'text/plain' } },
          415,
          'unsupported_media_type',
          /Content-Type/,
        ],
        ['uppercase category', 'PUT', '/v1/facts/Bad/a', { body: { value: 1 } }, 400, 'invalid_name', /category/],
        ['name with a dash', 'PUT', '/v1/facts/bad/a-b', { body: { value: 1 } }, 400, 'invalid_name', /name/],
        ['name too long', 'PUT', `/v1/facts/bad/${'a'.repeat(65)}`, { body: { value: 1 } }, 400, 'invalid_name', /name.*64/],
        ['body too large', 'PUT', '/v1/facts/bad/a', { body: { value: 'x'.repeat(300 * 1024) } }, 413, 'body_too_large', /larger/],
        ['unknown route', 'GET', '/v1/nothing', {}, 404, 'route_not_found', /nothing/],
        [
          'wrong method',
          'POST',
          '/v1/facts/bad/a',
          { body: { value: 1 } },
          405,
          'method_not_allowed',
          /POST is not allowed on \/v1\/facts\/bad\/a; use PUT, DELETE/,
        ],
        ['path not valid percent-encoding', 'GET', '/v1/facts/%ZZ', {}, 400, 'invalid_path', /percent-encoding/],
        [
          'value nested too deep',
          'PUT',
          '/v1/facts/bad/a',
          { rawBody: `{"value": ${'['.repeat(5000)}${']'.repeat(5000)}}`, headers: { 'Content-Type': 'application/json' } },
          400,
          'invalid_body',
          /value: is nested deeper than 32/,
        ],
        [
          'body claimed gzip but is not',
          'PUT',
          '/v1/facts/bad/a',
          { rawBody: '{"value": 1}', headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' } },
          400,
          'bad_request',
          /header/,
        ],
        [
          'bad prune entry',
          'POST',
          '/v1/exports/prune',
          { body: { keep: [{ category: 'A', name: 'b' }] } },
          400,
          'invalid_body',
          /keep\.0\.category/,
        ],
      ];
      for (const [label, method, path, opts, status, code, message] of cases) {
        it(`${label}: ${status} ${code}`, async () => {
          const before = await alice.get('/v1/facts');
          const r = await alice.request(method, path, opts);
          expect(r.status).to.equal(status);
          expect(r.json.error.code).to.equal(code);
          expect(r.json.error.message).to.match(message);
          const after = await alice.get('/v1/facts');
          expect(after.headers.etag).to.equal(before.headers.etag);
        });
      }

      it('sends Allow with 405', async () => {
        const r = await alice.request('PATCH', '/v1/facts');
        expect(r.status).to.equal(405);
        expect(r.headers.allow).to.equal('GET');
      });
    });
  });
