// Watch with two brokers on one PostgreSQL: a publish on one wakes the requests held on the
// other (NOTIFY), and a broker that cannot LISTEN polls the database instead of holding its
// waiters on a version it cannot see move. Real mTLS, real PostgreSQL.
import { expect } from 'chai';
import { DEAF_POLL_MS } from '../../src/facts/view-waiters';
import { startTestBroker, type TestBroker } from '../support/broker';
import type { Client, Reply } from '../support/client';
import { ListenBlocker } from '../support/listen-blocker';
import { createTestDatabase, skipPg } from '../support/pg';
import { eventually, sleep } from '../support/wait';

describe('watch across two brokers on one PostgreSQL (real mTLS)', function () {
  this.timeout(90_000);
  let db: { url: string; drop(): Promise<void> };
  let relay: ListenBlocker;
  let a: TestBroker; // where alice publishes
  let b: TestBroker; // where bob waits; its PostgreSQL connections go through the relay
  let alice: Client;
  let bob: Client;
  let aliceOnB: Client;
  let n = 0;

  before(async function () {
    if (skipPg()) return this.skip();
    db = await createTestDatabase('watch_brokers');
    a = await startTestBroker({ store: { kind: 'postgres', url: db.url } });
    relay = await ListenBlocker.start(db.url);
    b = await startTestBroker({ store: { kind: 'postgres', url: relay.url } });
    alice = a.client(a.pki.clients.alice);
    aliceOnB = b.client(b.pki.clients.alice);
    bob = b.client(b.pki.clients.bob);
    expect((await alice.put('/v1/facts/db/url', { value: 'first' })).status).to.equal(201);
  });
  after(async () => {
    await b?.close();
    await a?.close();
    await relay?.close();
    await db?.drop();
  });

  const waiting = () => b.broker.services.viewVersions.waiters.waiting;
  /** Bob's current tag on B, once B shows `value` (a notification takes a moment). */
  async function tagShowing(value: string): Promise<string> {
    let etag = '';
    await eventually(`broker B shows ${value}`, async () => {
      const r = await bob.get('/v1/facts');
      etag = r.headers.etag as string;
      return r.json.facts.db?.url === value;
    });
    return etag;
  }
  /** Holds bob's request on B; `held` resolves with the reply and when it arrived (wrapped: an async function would await it). */
  async function hold(etag: string, wait = '60s'): Promise<{ held: Promise<{ reply: Reply; at: number }> }> {
    const before = waiting();
    const held = bob
      .get(`/v1/facts?wait=${wait}`, { headers: { 'If-None-Match': etag } })
      .then((reply) => ({ reply, at: performance.now() }));
    await eventually('the request is held on broker B', () => waiting() === before + 1, 5_000, 10);
    return { held };
  }

  it('a publish on broker A wakes a request held on broker B', async () => {
    const etag = await tagShowing('first');
    const { held } = await hold(etag);
    const sent = performance.now();
    const value = `from A ${++n}`;
    expect((await alice.put('/v1/facts/db/url', { value })).status).to.equal(200);
    const { reply, at } = await held;
    console.log(`      broker B's waiter answered ${(at - sent).toFixed(1)} ms after the publish on A was sent`);
    expect(reply.status).to.equal(200);
    expect(reply.json.facts.db.url).to.equal(value);
    expect(at - sent).to.be.below(2_000);
  });

  describe('while broker B cannot LISTEN', () => {
    before(async () => {
      relay.block();
      await eventually('B has lost its LISTEN connection', () => b.logs.text.includes('LISTEN for view changes lost'), 10_000, 50);
    });
    after(async () => {
      relay.unblock();
      await eventually('B listens again', () => b.logs.text.includes('LISTEN for view changes back'), 60_000, 100);
    });

    it('keeps holding while nothing changes (its polls find the same version)', async () => {
      const etag = await tagShowing(`from A ${n}`);
      const { reply } = await (await hold(etag, '5s')).held;
      expect(reply.status).to.equal(304);
    });

    it(`still wakes B's waiter on a publish on A, within its poll interval (${DEAF_POLL_MS} ms)`, async () => {
      const etag = await tagShowing(`from A ${n}`);
      const { held } = await hold(etag);
      await sleep(DEAF_POLL_MS + 500); // a poll or two with nothing new: still held
      expect(waiting()).to.equal(1);
      const sent = performance.now();
      const value = `from A ${++n}`;
      expect((await alice.put('/v1/facts/db/url', { value })).status).to.equal(200);
      const { reply, at } = await held;
      console.log(`      with LISTEN down, B's waiter answered ${(at - sent).toFixed(0)} ms after the publish on A`);
      expect(reply.status).to.equal(200);
      expect(reply.json.facts.db.url).to.equal(value);
      expect(at - sent).to.be.below(DEAF_POLL_MS + 1_500);
      expect(b.logs.text).to.not.include('LISTEN for view changes back'); // it was the poll, not a reconnection
    });

    it('wakes B’s waiter at once on a publish on B itself (its own commit)', async () => {
      const etag = await tagShowing(`from A ${n}`);
      const { held } = await hold(etag);
      const sent = performance.now();
      const value = `from B ${++n}`;
      expect((await aliceOnB.put('/v1/facts/db/url', { value })).status).to.equal(200);
      const { reply, at } = await held;
      expect(reply.status).to.equal(200);
      expect(reply.json.facts.db.url).to.equal(value);
      expect(at - sent).to.be.below(1_000);
    });
  });

  describe('once LISTEN is back', () => {
    it('wakes B’s waiters by NOTIFY again once LISTEN is back', async () => {
      const etag = await tagShowing(`from B ${n}`);
      const { held } = await hold(etag);
      const sent = performance.now();
      const value = `from A ${++n}`;
      expect((await alice.put('/v1/facts/db/url', { value })).status).to.equal(200);
      const { reply, at } = await held;
      expect(reply.status).to.equal(200);
      expect(reply.json.facts.db.url).to.equal(value);
      expect(at - sent).to.be.below(1_000);
    });
  });
});
