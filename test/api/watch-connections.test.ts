// Watch: what becomes of held requests whose connection ends. A client that disconnects is
// dropped at once (thousands at once leave no waiter and no memory behind); a client whose
// certificate is revoked has its held connection cut when the CRL reloads. Real mTLS.
import fs from 'node:fs';
import https from 'node:https';
import v8 from 'node:v8';
import vm from 'node:vm';
import { expect } from 'chai';
import { startTestBroker, type TestBroker } from '../support/broker';
import type { TestCert } from '../support/pki';
import { eventually, sleep } from '../support/wait';
import { WatchClients } from '../support/watch-clients';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Heap and resident memory of this process (broker and clients both live here), after a full collection. */
async function memory(): Promise<{ heapMb: number; rssMb: number }> {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(50);
  }
  const m = process.memoryUsage();
  return { heapMb: m.heapUsed / 2 ** 20, rssMb: m.rss / 2 ** 20 };
}

async function metric(t: TestBroker, name: string): Promise<number> {
  const text = (await t.client(t.pki.clients.bob).get('/metrics')).text;
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
}

/** A held GET whose outcome is recorded; destroy() is the client hanging up. */
function heldRequest(t: TestBroker, cert: TestCert, etag: string, wait = '120s') {
  const outcome: { status?: number; error?: string } = {};
  const req = https.get(
    `${t.broker.url}/v1/facts?wait=${wait}`,
    { ca: t.pki.caBundlePem, cert: cert.certPem, key: cert.keyPem, agent: false, headers: { 'If-None-Match': etag } },
    (res) => {
      outcome.status = res.statusCode;
      res.resume();
    },
  );
  req.on('error', (err: NodeJS.ErrnoException) => (outcome.error = err.code ?? err.message));
  return { req, outcome };
}

describe('watch: held connections that end (real mTLS)', function () {
  this.timeout(180_000);
  let t: TestBroker;
  const waiting = () => t.broker.services.viewVersions.waiters.waiting;
  const etagOf = async (cert: TestCert) => (await t.client(cert).get('/v1/facts')).headers.etag as string;

  before(async () => {
    t = await startTestBroker();
    expect((await t.client(t.pki.clients.alice).put('/v1/facts/db/url', { value: 'x' })).status).to.equal(201);
  });
  after(() => t?.close());

  it('cuts the held request of a client whose certificate is revoked when the CRL reloads, and only that one', async () => {
    const doomed = await t.pki.issueClientCert({ certname: 'doomed-watcher.test', extensions: { pp_environment: 'production' } });
    const gone = await metric(t, 'exportfact_watch_gone_total');
    const cut = heldRequest(t, doomed, await etagOf(doomed));
    const kept = heldRequest(t, t.pki.clients.bob, await etagOf(t.pki.clients.bob), '20s');
    await eventually('both requests are held', () => waiting() === 2, 5_000, 10);

    const reloaded = performance.now();
    fs.writeFileSync(t.config.tls.crl!, await t.pki.crlBundleRevoking([doomed.serial]));
    await eventually('the revoked client’s connection is cut', () => cut.outcome.error !== undefined, 10_000, 10);
    console.log(
      `      the revoked client's held request was cut ${(performance.now() - reloaded).toFixed(0)} ms after the CRL file changed`,
    );
    expect(cut.outcome.status, 'never answered').to.equal(undefined);
    expect(cut.outcome.error).to.be.oneOf(['ECONNRESET', 'socket hang up']);
    await eventually('its waiter is dropped', () => waiting() === 1, 2_000, 10);
    expect(await metric(t, 'exportfact_watch_gone_total')).to.equal(gone + 1);
    expect(kept.outcome, 'the other client is still held').to.deep.equal({});
    kept.req.destroy();
    await eventually('no waiter left', () => waiting() === 0, 2_000, 10);
    fs.writeFileSync(t.config.tls.crl!, t.pki.crlBundlePem);
  });

  it('drops 1,000 held requests whose clients disconnect at once: no waiter left, memory back to its baseline', async () => {
    const N = 1_000;
    // The watchers live in a process of their own: what is measured here is the broker's memory.
    const clients = WatchClients.start();
    const certs = [t.pki.clients.bob, t.pki.clients.carol, t.pki.clients.alice];
    /** N held requests, then all hung up at once; memory measured while held and once dropped. */
    const round = async () => {
      const gone = await metric(t, 'exportfact_watch_gone_total');
      const opened = performance.now();
      await clients.open({ url: t.broker.url, ca: t.pki.caBundlePem, certs, count: N, wait: '120s', concurrency: 16 });
      await eventually(`${N} requests are held`, () => waiting() === N, 120_000, 20);
      const openSeconds = (performance.now() - opened) / 1000;
      expect(await metric(t, 'exportfact_watch_waiting')).to.equal(N);
      const peak = await memory();
      const hungUp = performance.now();
      await clients.hangUp();
      await eventually('every waiter is dropped', () => waiting() === 0, 10_000, 5);
      const dropMs = performance.now() - hungUp;
      expect(await metric(t, 'exportfact_watch_waiting')).to.equal(0);
      expect(await metric(t, 'exportfact_watch_gone_total')).to.equal(gone + N);
      t.logs.lines.length = 0; // the test's copy of the request log is not the broker's memory
      return { peak, after: await memory(), openSeconds, dropMs };
    };
    try {
      // RSS is not given back to the system, it is reused: the first rounds size the allocator's
      // pools, and a leak shows as growth from round to round after that (10 MB per round when
      // the peer certificate was read with getPeerX509Certificate).
      const rounds = [];
      for (let i = 0; i < 5; i++) rounds.push(await round());
      expect((await clients.stats()).errors).to.deep.equal([]);
      const base = rounds[2].after;
      const last = rounds[4];
      console.log(
        `      ${N} held (opened in ${last.openSeconds.toFixed(1)} s), all dropped ${last.dropMs.toFixed(0)} ms after hanging up; ` +
          `broker heap while held / after, per round: ${rounds.map((r) => `${r.peak.heapMb.toFixed(1)}/${r.after.heapMb.toFixed(1)}`).join(', ')} MB; ` +
          `RSS: ${rounds.map((r) => `${r.peak.rssMb.toFixed(0)}/${r.after.rssMb.toFixed(0)}`).join(', ')} MB`,
      );
      // Holding them cost memory, and all of it came back.
      expect(last.peak.heapMb - last.after.heapMb, 'held requests take memory (else this measures nothing)').to.be.above(5);
      // Over two rounds (2,000 connections): under 0.75 KB of heap and 4 KB of RSS kept per connection.
      expect(last.after.heapMb - base.heapMb).to.be.below(1.5);
      expect(last.after.rssMb - base.rssMb).to.be.below(8);
    } finally {
      clients.close();
    }
  });
});
