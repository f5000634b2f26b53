// Watch: GET /v1/facts?wait=… with If-None-Match holds the request until the caller's view
// changes (200) or the wait ends (304). Real mTLS, on both stores.
import fs from 'node:fs';
import tls from 'node:tls';
import { expect } from 'chai';
import { MAX_WAIT_MS, parseWait } from '../../src/facts/view-waiters';
import { startTestBroker, type TestBroker } from '../support/broker';
import type { Client, Reply } from '../support/client';
import { pgStoreConfigs } from '../support/pg';
import { eventually, sleep } from '../support/wait';

/** A request and when it ended, measured from when it was sent. */
async function timed(request: Promise<Reply>): Promise<{ reply: Reply; ms: number; endedAt: number }> {
  const started = performance.now();
  const reply = await request;
  const endedAt = performance.now();
  return { reply, ms: endedAt - started, endedAt };
}

/** The value of one sample of the broker's Prometheus text. */
async function metric(client: Client, name: string): Promise<number> {
  const text = (await client.get('/metrics')).text;
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`no ${name} in /metrics`);
  return Number(m[1]);
}

const POLICY_V1 = `rules:
  - name: everyone reads
    allow: read
    facts: ["*.*"]
`;
const POLICY_V2 = `rules:
  - name: nobody reads web facts
    deny: read
    facts: ["web.*"]
  - name: everyone reads the rest
    allow: read
    facts: ["*.*"]
`;

for (const storeCase of pgStoreConfigs('watch')) {
  describe(`watch: GET /v1/facts?wait= (${storeCase.label} store, real mTLS)`, function () {
    this.timeout(60_000);
    let t: TestBroker;
    let alice: Client; // publishes
    let bob: Client; // watches
    let n = 0;
    const publish = async (value: unknown, category = 'db', name = 'url') =>
      expect((await alice.put(`/v1/facts/${category}/${name}`, { value })).status).to.be.oneOf([200, 201]);
    const currentTag = async (path = '/v1/facts') => (await bob.get(path)).headers.etag as string;
    const watch = (etag: string, wait: string, path = '/v1/facts') =>
      bob.get(`${path}?wait=${wait}`, { headers: { 'If-None-Match': etag } });

    before(async () => {
      t = await startTestBroker({ store: await storeCase.config(), policy: POLICY_V1 });
      alice = t.client(t.pki.clients.alice);
      bob = t.client(t.pki.clients.bob);
      await publish('first');
    });
    after(async () => {
      await t?.close();
      await storeCase.cleanup();
    });

    it('holds a request whose tag is current and answers 200 with the new view as soon as a publish lands', async () => {
      const etag = await currentTag();
      const woken = timed(watch(etag, '30s'));
      await eventually('the request is held', () => t.broker.services.viewVersions.waiters.waiting === 1, 5_000, 10);
      await sleep(200); // held, not answered: it is still waiting after a while
      expect(t.broker.services.viewVersions.waiters.waiting).to.equal(1);
      const published = performance.now();
      await publish(`changed ${++n}`);
      const { reply, endedAt } = await woken;
      const wakeMs = endedAt - published;
      console.log(`      the waiter answered ${wakeMs.toFixed(1)} ms after the publish was sent (wait 30 s)`);
      expect(reply.status, reply.text).to.equal(200);
      expect(reply.headers.etag).to.not.equal(etag);
      expect(reply.json.facts.db.url).to.equal(`changed ${n}`);
      expect(wakeMs).to.be.below(2_000);
      expect(t.broker.services.viewVersions.waiters.waiting).to.equal(0);
      expect(await metric(bob, 'exportfact_watch_woken_total')).to.be.at.least(1);
    });

    it('holds a request that arrives on a kept-alive connection before the previous answer is finished (pipelined), and answers it', async () => {
      // Two requests written at once on one TLS connection: the second is read while the first
      // response is still going out, when Node has not given it a response socket yet. It was
      // taken for a client that had gone and never answered (a watcher in a tight loop hit it).
      const etag = await currentTag();
      const url = new URL(t.broker.url);
      const socket = tls.connect({
        host: url.hostname,
        port: Number(url.port),
        ca: t.pki.caBundlePem,
        cert: t.pki.clients.bob.certPem,
        key: t.pki.clients.bob.keyPem,
        servername: 'localhost',
      });
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString('utf8')));
      try {
        await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
        const head = (extra: string) => `GET /v1/facts${extra} HTTP/1.1\r\nHost: localhost\r\n`;
        socket.write(`${head('')}\r\n${head('?wait=30s')}If-None-Match: ${etag}\r\n\r\n`);
        await eventually('the second request is held', () => t.broker.services.viewVersions.waiters.waiting === 1, 5_000, 10);
        await publish(`pipelined ${++n}`);
        // The first body runs straight into the second status line: count them anywhere.
        await eventually('both answered', () => (received.match(/HTTP\/1\.1 200 /g) ?? []).length === 2, 10_000, 10);
        expect(received).to.contain(`pipelined ${n}`);
      } finally {
        socket.destroy();
      }
    });

    it('answers at once with 200 when the tag is already stale (no change between two calls is missed)', async () => {
      const stale = await currentTag();
      await publish(`changed ${++n}`); // lands between the watcher's two calls
      const { reply, ms } = await timed(watch(stale, '30s'));
      expect(reply.status).to.equal(200);
      expect(reply.json.facts.db.url).to.equal(`changed ${n}`);
      expect(ms).to.be.below(2_000);
    });

    it('answers 304 with the same tag once the wait ends with nothing changed, after the wait plus at most 1/16 of it', async () => {
      const etag = await currentTag();
      const timeouts = await metric(bob, 'exportfact_watch_timeouts_total');
      const { reply, ms } = await timed(watch(etag, '1500ms'));
      expect(reply.status).to.equal(304);
      expect(reply.headers.etag).to.equal(etag);
      expect(reply.text).to.equal('');
      expect(ms).to.be.at.least(1_490);
      expect(ms).to.be.below(1_500 + 1_500 / 16 + 500);
      expect(await metric(bob, 'exportfact_watch_timeouts_total')).to.equal(timeouts + 1);
      expect(await metric(bob, 'exportfact_watch_waiting')).to.equal(0);
    });

    it('spreads the ends of equal waits over 1/16 of the wait (jitter)', async () => {
      const etag = await currentTag();
      // Connections opened first, so each time measured is the hold, not a handshake.
      const agents = Array.from({ length: 12 }, () => bob.keepAliveAgent());
      await Promise.all(agents.map((agent) => bob.get('/v1/ready', { agent })));
      const ends = await Promise.all(
        agents.map((agent) => timed(bob.get('/v1/facts?wait=2s', { agent, headers: { 'If-None-Match': etag } }))),
      );
      for (const a of agents) a.destroy();
      for (const e of ends) expect(e.reply.status).to.equal(304);
      const ms = ends.map((e) => e.ms);
      const spread = Math.max(...ms) - Math.min(...ms);
      console.log(`      12 waits of 2 s ended over ${spread.toFixed(0)} ms (jitter up to 125 ms)`);
      expect(Math.min(...ms)).to.be.at.least(1_990);
      expect(Math.max(...ms)).to.be.below(2_000 + 125 + 200);
      expect(spread).to.be.above(10); // twelve draws from 0–125 ms all within 10 ms: about 1e-11
    });

    it('holds GET /v1/facts/{category} the same way and answers with that category', async () => {
      const etag = await currentTag('/v1/facts/db');
      const woken = timed(watch(etag, '30s', '/v1/facts/db'));
      await eventually('the request is held', () => t.broker.services.viewVersions.waiters.waiting === 1, 5_000, 10);
      await publish(`changed ${++n}`);
      const { reply } = await woken;
      expect(reply.status).to.equal(200);
      expect(reply.json.facts).to.deep.equal({ db: { url: `changed ${n}` } });
    });

    it('ends the wait when the policy changes the caller’s view (its tag names the policy)', async () => {
      await publish('visible', 'web', 'vip');
      const etag = await currentTag();
      expect((await bob.get('/v1/facts')).json.facts.web.vip).to.equal('visible');
      const woken = timed(watch(etag, '30s'));
      await eventually('the request is held', () => t.broker.services.viewVersions.waiters.waiting === 1, 5_000, 10);
      fs.writeFileSync(t.config.policy!.file, POLICY_V2);
      const { reply, ms } = await woken;
      expect(reply.status).to.equal(200);
      expect(reply.json.facts.web).to.equal(undefined);
      expect(ms).to.be.below(10_000);
      fs.writeFileSync(t.config.policy!.file, POLICY_V1);
      await eventually('the first policy back', async () => (await bob.get('/v1/facts')).json.facts.web?.vip === 'visible');
    });

    it('ignores wait without If-None-Match, and with If-None-Match: * (answered at once)', async () => {
      const plain = await timed(bob.get('/v1/facts?wait=30s'));
      expect(plain.reply.status).to.equal(200);
      expect(plain.ms).to.be.below(2_000);
      const star = await timed(bob.get('/v1/facts?wait=30s', { headers: { 'If-None-Match': '*' } }));
      expect(star.reply.status).to.equal(304);
      expect(star.ms).to.be.below(2_000);
    });

    it('answers wait=0 at once (a plain conditional GET)', async () => {
      const { reply, ms } = await timed(watch(await currentTag(), '0'));
      expect(reply.status).to.equal(304);
      expect(ms).to.be.below(2_000);
    });

    describe('a malformed wait: 400 invalid_query naming wait, and nothing changes', () => {
      const cases: [string, string, RegExp][] = [
        ['not a number', 'wait=soon', /wait must be a duration like 30s/],
        ['hours', 'wait=1h', /wait must be a duration/],
        ['negative', 'wait=-5s', /wait must be a duration/],
        ['a fraction', 'wait=1.5s', /wait must be a duration/],
        ['empty', 'wait=', /wait must be a duration/],
        ['too many digits', 'wait=9999999999', /wait must be a duration/],
        ['given twice', 'wait=5s&wait=10s', /wait is given more than once/],
        ['a misspelt parameter', 'wiat=60s', /unknown query parameter "wiat" \(only wait is known\)/],
      ];
      for (const [label, query, message] of cases) {
        it(`${label} (${query})`, async () => {
          const etag = await currentTag();
          for (const path of ['/v1/facts', '/v1/facts/db']) {
            const { reply, ms } = await timed(bob.get(`${path}?${query}`, { headers: { 'If-None-Match': etag } }));
            expect(reply.status, reply.text).to.equal(400);
            expect(reply.json.error.code).to.equal('invalid_query');
            expect(reply.json.error.message).to.match(message);
            expect(ms).to.be.below(2_000);
          }
          expect(t.broker.services.viewVersions.waiters.waiting).to.equal(0);
          expect(await currentTag()).to.equal(etag);
        });
      }
    });
  });
}

describe('watch: waits and the broker’s request timeout', function () {
  this.timeout(30_000);
  let t: TestBroker;
  before(async () => {
    t = await startTestBroker({ requestTimeoutMs: 1_000 });
  });
  after(() => t?.close());

  it('holds a request longer than --request-timeout (that timeout is for receiving the request, not for the answer)', async () => {
    const bob = t.client(t.pki.clients.bob);
    const etag = (await bob.get('/v1/facts')).headers.etag as string;
    const { reply, ms } = await timed(bob.get('/v1/facts?wait=3s', { headers: { 'If-None-Match': etag } }));
    expect(reply.status).to.equal(304);
    expect(ms).to.be.at.least(2_990);
  });

  it('answers held requests at once with 304 when the broker shuts down, so watchers move to another broker', async () => {
    const other = await startTestBroker();
    const bob = other.client(other.pki.clients.bob);
    const etag = (await bob.get('/v1/facts')).headers.etag as string;
    const held = timed(bob.get('/v1/facts?wait=60s', { headers: { 'If-None-Match': etag } }));
    await eventually('the request is held', () => other.broker.services.viewVersions.waiters.waiting === 1, 5_000, 10);
    const closing = performance.now();
    const closed = other.close();
    const { reply, endedAt } = await held;
    await closed;
    expect(reply.status).to.equal(304);
    expect(endedAt - closing).to.be.below(1_000);
  });
});

describe('watch: the wait parameter', () => {
  it('reads 30s, 5m, 500ms and plain seconds, and cuts waits longer than 300 s to 300 s', () => {
    expect(parseWait({ wait: '30s' })).to.equal(30_000);
    expect(parseWait({ wait: '5m' })).to.equal(300_000);
    expect(parseWait({ wait: '500ms' })).to.equal(500);
    expect(parseWait({ wait: '45' })).to.equal(45_000);
    expect(parseWait({ wait: '10m' })).to.equal(MAX_WAIT_MS);
    expect(parseWait({ wait: '999999999' })).to.equal(MAX_WAIT_MS);
    expect(parseWait({})).to.equal(undefined);
  });
});
