// A database outage (a PostgreSQL cluster of the test's own, stopped and started; never the
// machine's shared one): views and 304s go on from memory, marked stale; writes, generates
// and secret reads answer 503 store_unavailable with Retry-After within an agent's read
// timeout; when the database is back the broker serves fresh data by itself, and nothing it
// acknowledged is lost.
import type https from 'node:https';
import { expect } from 'chai';
import { READ_ALL_SECRETS, startTestBroker, type TestBroker } from '../support/broker';
import type { Client } from '../support/client';
import { skipPg } from '../support/pg';
import { PgCluster } from '../support/pg-cluster';
import { eventually } from '../support/wait';

/** The module's default read timeout: no answer may take longer while the database is away. */
const AGENT_READ_TIMEOUT_MS = 5000;

describe('a database outage (own cluster, real mTLS)', function () {
  this.timeout(180_000);
  let cluster: PgCluster;
  let t: TestBroker;
  let alice: Client;
  let bob: Client;
  let agent: https.Agent;

  before(async function () {
    if (skipPg()) return this.skip();
    cluster = await PgCluster.create({ label: 'outage' });
    t = await startTestBroker({
      store: { kind: 'postgres', url: await cluster.createDatabase('outage') },
      policy: READ_ALL_SECRETS,
      admin: { certnames: ['ops.admin.test'] },
    });
    alice = t.client(t.pki.clients.alice);
    bob = t.client(t.pki.clients.bob);
    agent = bob.keepAliveAgent();
    expect((await alice.put('/v1/facts/db/url', { value: 'mysql://before' })).status).to.equal(201);
    expect((await alice.put('/v1/facts/db/password', { value: 'pw-before', sensitive: true })).status).to.equal(201);
  });
  after(async () => {
    agent?.destroy();
    await t?.close();
    await cluster?.destroy();
  });

  const timed = async <T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> => {
    const start = Date.now();
    const value = await fn();
    return { value, ms: Date.now() - start };
  };

  it('with the database down: the known view, and its 304, come from memory marked stale; health says degraded', async () => {
    const before = await bob.get('/v1/facts', { agent });
    expect(before.json.facts.db.url).to.equal('mysql://before');
    await cluster.stop('immediate');
    // Until the broker notices (its LISTEN heartbeat, within 6 s), the version it holds is current as far as it knows.
    await eventually(
      'the broker marks its view stale',
      async () => (await bob.get('/v1/facts', { agent })).headers['exportfact-stale'] !== undefined,
      15_000,
      250,
    );

    const { value: view, ms } = await timed(() => bob.get('/v1/facts', { agent }));
    expect(view.status, view.text).to.equal(200);
    expect(view.json.facts.db.url).to.equal('mysql://before');
    expect(view.headers['exportfact-stale']).to.match(/database unreachable/);
    expect(ms).to.be.below(AGENT_READ_TIMEOUT_MS);
    const notModified = await bob.get('/v1/facts', { agent, headers: { 'If-None-Match': before.headers.etag as string } });
    expect(notModified.status).to.equal(304);
    expect((await bob.get('/v1/health', { agent })).json).to.deep.equal({ status: 'degraded' });
    expect((await bob.get('/v1/ready', { agent })).status).to.equal(503);
  });

  it('with the database down: publish, generate and secret reads get 503 store_unavailable with Retry-After, in time', async () => {
    for (const request of [
      () => alice.put('/v1/facts/db/url', { value: 'mysql://during' }),
      () => bob.request('POST', '/v1/secrets/nova/db_password/generate', { body: {} }),
      () => bob.get('/v1/secrets/db/password'),
    ]) {
      const { value: r, ms } = await timed(request);
      expect([r.status, r.json?.error?.code], r.text).to.deep.equal([503, 'store_unavailable']);
      expect(r.headers['retry-after']).to.equal('5');
      expect(r.text).to.not.include('pw-before');
      expect(ms).to.be.below(AGENT_READ_TIMEOUT_MS);
    }
  });

  it('once the database is back, the broker reconnects by itself and serves fresh data; nothing acknowledged was lost', async () => {
    await cluster.start();
    await eventually(
      'a publish succeeds again',
      async () => (await alice.put('/v1/facts/db/url', { value: 'mysql://after' })).status === 200,
      30_000,
      250,
    );
    const fresh = await bob.get('/v1/facts', { agent });
    expect(fresh.headers['exportfact-stale']).to.equal(undefined);
    expect(fresh.json.facts.db.url).to.equal('mysql://after');
    expect((await bob.get('/v1/secrets/db/password')).json.value).to.equal('pw-before');
    expect((await bob.get('/v1/health', { agent })).json).to.deep.equal({ status: 'ok' });
    // The write refused during the outage did not happen; the ones acknowledged did.
    const history = await t.broker.auditService.events({ category: 'db', name: 'url', limit: 10 });
    expect(history.map((e) => e.action)).to.deep.equal(['fact.change', 'fact.create']);
  });
});
