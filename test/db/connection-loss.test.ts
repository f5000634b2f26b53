import type https from 'node:https';
import { expect } from 'chai';
import type pg from 'pg';
import { startTestBroker, type TestBroker, tempDir } from '../support/broker';
import { type ServeProcess, startServe } from '../support/cli';
import { Client, type Reply } from '../support/client';
import { skipPg } from '../support/pg';
import { PgCluster } from '../support/pg-cluster';
import { getTestPki, type TestCert, type TestPki } from '../support/pki';
import { serveTlsArgs } from '../support/tls-files';
import { sleep } from '../support/wait';

/** One PUT of the storm, as the client saw it. */
interface Outcome {
  worker: number;
  certname: string;
  name: string;
  value: string;
  sensitive: boolean;
  startedAt: number;
  endedAt: number;
  status: number; // 0: no HTTP answer at all (connection refused or reset)
  code?: string;
  retryAfter?: string;
  version?: number;
  transportError?: string;
}

/**
 * The broker's PostgreSQL connections are cut while it serves writes: by pg_terminate_backend
 * on a cluster of this suite's own, so the machine's shared server is never touched.
 */
describe('PostgreSQL connections dropping under load (own cluster, real mTLS)', function () {
  this.timeout(240_000);
  let cluster: PgCluster;
  let pki: TestPki;

  before(async function () {
    if (skipPg()) return this.skip(); // EXPORTFACT_SKIP_PG: no PostgreSQL at all, not even its binaries
    pki = await getTestPki();
    cluster = await PgCluster.create({ label: 'connloss' });
  });
  after(() => cluster?.destroy());

  describe('the pool, under concurrent PUTs', () => {
    const database = 'storm';
    let serve: ServeProcess | undefined;
    let exitCode: number | null | undefined;
    const outcomes: Outcome[] = [];
    let terminated = 0;
    let lastTermination = 0;

    before(async () => {
      const url = await cluster.createDatabase(database);
      const dir = tempDir('storm');
      // A broker process of its own: if a database error ends it, the test sees the exit.
      serve = await startServe([...serveTlsArgs(pki, dir, { crl: true }), '--listen', '127.0.0.1:0', '--database-url', url], {
        timeoutMs: 60_000,
      });
      serve.child.once('exit', (code, signal) => (exitCode = code ?? (signal as unknown as number)));

      const certs: TestCert[] = [pki.clients.alice, pki.clients.bob, pki.clients.carol];
      let running = true;
      const workers = Array.from({ length: 9 }, async (_, worker) => {
        const cert = certs[worker % certs.length];
        const client = new Client(serve!.url, pki.caBundlePem, cert);
        let agent: https.Agent = client.keepAliveAgent();
        // Odd workers publish secrets: sealing and fingerprinting happen while the transaction is open.
        const sensitive = worker % 2 === 1;
        for (let k = 0; running && exitCode === undefined; k++) {
          const name = `w${worker}_${k % 4}`;
          const value = `value-${worker}-${k}`;
          const startedAt = Date.now();
          let reply: Reply | undefined;
          let transportError: string | undefined;
          try {
            reply = await client.put(`/v1/facts/storm/${name}`, { value, sensitive }, { agent });
          } catch (err) {
            transportError = (err as Error).message;
            agent.destroy();
            agent = client.keepAliveAgent();
          }
          outcomes.push({
            worker,
            certname: cert.certname,
            name,
            value,
            sensitive,
            startedAt,
            endedAt: Date.now(),
            status: reply?.status ?? 0,
            code: reply?.json?.error?.code,
            retryAfter: reply?.headers['retry-after'] as string | undefined,
            version: reply?.json?.version,
            transportError,
          });
        }
        agent.destroy();
      });

      // The storm: every backend of the broker's database, pool and LISTEN alike, cut again and again.
      const stormEnds = Date.now() + 8_000;
      await sleep(500);
      while (Date.now() < stormEnds && exitCode === undefined) {
        terminated += await cluster.terminateBackends(database);
        lastTermination = Date.now();
        await sleep(150 + Math.random() * 150);
      }
      // Load goes on after the storm, so recovery shows in the same stream of requests.
      await sleep(3_000);
      running = false;
      await Promise.all(workers);
    });

    after(async () => {
      if (serve && exitCode === undefined) await serve.stop('SIGKILL');
    });

    it('keeps the broker process alive', () => {
      expect(exitCode, `the broker exited; its output ends:\n${serve?.output().slice(-1500)}`).to.equal(undefined);
      expect(terminated, 'backends terminated').to.be.greaterThan(10);
      expect(serve!.output()).not.to.match(/Unhandled|uncaught/i);
    });

    it('answers every request 2xx or 503 store_unavailable with Retry-After, and some were cut mid-write', () => {
      const ok = outcomes.filter((o) => o.status === 200 || o.status === 201);
      const unavailable = outcomes.filter((o) => o.status === 503);
      const other = outcomes.filter((o) => !ok.includes(o) && !unavailable.includes(o));
      const describe = (o: Outcome) => `${o.status} ${o.code ?? o.transportError ?? ''}`;
      expect([...new Set(other.map(describe))], 'answers other than 2xx/503').to.deep.equal([]);
      expect([...new Set(unavailable.map((o) => o.code))]).to.deep.equal(['store_unavailable']);
      for (const o of unavailable) expect(Number(o.retryAfter), 'Retry-After seconds').to.be.greaterThan(0);
      expect(unavailable.length, 'requests cut by the storm').to.be.greaterThan(0);
      expect(ok.length).to.be.greaterThan(unavailable.length);
      const firstOkAfter = Math.min(...ok.filter((o) => o.startedAt >= lastTermination).map((o) => o.endedAt));
      console.log(
        `      storm: ${terminated} backends terminated, ${outcomes.length} PUTs: ${ok.length} 2xx, ${unavailable.length} 503 store_unavailable; ` +
          `first 2xx of a PUT started after the last termination: ${firstOkAfter - lastTermination} ms after it`,
      );
    });

    it('recovers by itself: every request started a second after the storm succeeds', async () => {
      const after = outcomes.filter((o) => o.startedAt > lastTermination + 1_000);
      expect(after.length).to.be.greaterThan(20);
      expect(after.filter((o) => o.status !== 200 && o.status !== 201).map((o) => `${o.status} ${o.code}`)).to.deep.equal([]);
      // And a fresh client, a fresh connection, a read and a write.
      const alice = new Client(serve!.url, pki.caBundlePem, pki.clients.alice);
      expect((await alice.put('/v1/facts/storm/after', { value: 'calm' })).status).to.equal(201);
      expect((await alice.get('/v1/facts/storm')).json.facts.storm.after).to.equal('calm');
    });

    it('loses nothing it acknowledged', async () => {
      const acknowledged = outcomes.filter((o) => o.status === 200 || o.status === 201);
      await cluster.withClient(async (db: pg.Client) => {
        const { rows } = await db.query<{ name: string; exporter: string; version: number; value: unknown; sealed: boolean }>(
          `SELECT f.name, h.exporter, h.version, h.value,
                  EXISTS (SELECT 1 FROM secret_versions s WHERE s.fact_id = f.id AND s.exporter = h.exporter AND s.version = h.version) AS sealed
             FROM fact_history h JOIN facts f ON f.id = h.fact_id
            WHERE f.environment = 'production' AND f.category = 'storm' AND h.action IN ('create', 'change')`,
        );
        const stored = new Map(rows.map((r) => [`${r.exporter} ${r.name} ${r.version}`, r]));
        const lost = acknowledged.filter((o) => {
          const row = stored.get(`${o.certname} ${o.name} ${o.version}`);
          return !row || (o.sensitive ? !row.sealed : row.value !== o.value);
        });
        expect(lost.map((o) => `${o.certname} ${o.name} v${o.version}`)).to.deep.equal([]);
      }, database);
      expect(acknowledged.length).to.be.greaterThan(50);
    });

    it('shuts down cleanly afterwards', async () => {
      expect(await serve!.stop('SIGTERM')).to.equal(0);
      serve = undefined;
    });
  });

  describe('the LISTEN connection that keeps view versions fresh', () => {
    const database = 'listen';
    let first: TestBroker; // serves the reads under test
    let second: TestBroker; // another broker on the same database: the writer
    let reader: Client;
    let writer: Client;

    before(async () => {
      const url = await cluster.createDatabase(database);
      first = await startTestBroker({ store: { kind: 'postgres', url } });
      second = await startTestBroker({ store: { kind: 'postgres', url } });
      reader = first.client(pki.clients.bob);
      writer = second.client(pki.clients.alice);
    });
    after(async () => {
      await first?.close();
      await second?.close();
    });

    const publish = async (value: number) => expect((await writer.put('/v1/facts/probe/value', { value })).status).to.be.oneOf([200, 201]);
    const read = (etag?: string) => reader.get('/v1/facts/probe', etag ? { headers: { 'If-None-Match': etag } } : {});
    /** Reads until the first broker shows `value` (a notification takes a moment); returns its ETag and how long it took. */
    async function readUntil(value: number, withinMs: number, etag?: string): Promise<{ etag: string; ms: number }> {
      const started = Date.now();
      for (;;) {
        const r = await read(etag);
        if (r.status === 200 && r.json.facts.probe?.value === value) return { etag: r.headers.etag as string, ms: Date.now() - started };
        if (Date.now() - started > withinMs)
          throw new Error(`the first broker still answers ${r.status} ${r.text} after ${withinMs} ms (wanted value ${value})`);
        await sleep(100);
      }
    }
    const listeners = () => cluster.backendPids(database, 'exportfact-listen');

    it('serves a change made while its LISTEN backend was cut, and listens again after', async () => {
      await publish(1);
      const { etag: before } = await readUntil(1, 5_000);
      expect((await read(before)).status, 'fresh tag answered from the cache').to.equal(304);

      expect(await cluster.terminateBackends(database, 'exportfact-listen')).to.be.greaterThanOrEqual(2);
      await publish(2);
      const r = await read(before);
      expect(r.status, 'a 304 here would be the old version').to.equal(200);
      expect(r.json.facts.probe.value).to.equal(2);

      // Back on its own: a new LISTEN session, and notifications flow again.
      for (let i = 0; (await listeners()).length < 2; i++) {
        expect(i, 'LISTEN sessions re-established').to.be.lessThan(100);
        await sleep(100);
      }
      for (let i = 0; !first.logs.text.includes('LISTEN for view changes back'); i++) {
        expect(i, 'the first broker listening again').to.be.lessThan(100);
        await sleep(100);
      }
      const { etag } = await readUntil(2, 5_000);
      expect((await read(etag)).status).to.equal(304);
      await publish(3);
      await readUntil(3, 5_000, etag);
    });

    it('gives up a LISTEN connection that stops answering, so no stale 304 outlives it by more than seconds', async () => {
      await publish(4);
      const { etag } = await readUntil(4, 5_000);
      expect((await read(etag)).status).to.equal(304);
      // A backend that is alive but silent: the connection neither errors nor ends (as when a
      // server host vanishes), notifications just stop.
      const pids = await listeners();
      expect(pids.length).to.be.greaterThanOrEqual(2);
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      try {
        await publish(5);
        const { ms } = await readUntil(5, 20_000, etag);
        console.log(`      a silent LISTEN connection was given up and the change served after ${ms} ms`);
        expect(ms).to.be.lessThan(10_000);
      } finally {
        for (const pid of pids) process.kill(pid, 'SIGCONT');
      }
      // And it listens again on a new connection.
      for (let i = 0; (await listeners()).filter((pid) => !pids.includes(pid)).length < 2; i++) {
        expect(i, 'LISTEN sessions re-established').to.be.lessThan(150);
        await sleep(100);
      }
      const { etag: next } = await readUntil(5, 5_000);
      await publish(6);
      await readUntil(6, 5_000, next);
    });
  });

  describe('the whole server going away', () => {
    const database = 'outage';
    let broker: TestBroker;
    let alice: Client;

    before(async () => {
      const url = await cluster.createDatabase(database);
      broker = await startTestBroker({ store: { kind: 'postgres', url } });
      alice = broker.client(pki.clients.alice);
    });
    after(() => broker?.close());

    it('answers 503 store_unavailable while the server is down (killed), and serves again once it is back, with no restart of its own', async () => {
      expect((await alice.put('/v1/facts/outage/before', { value: 'kept' })).status).to.equal(201);
      await cluster.kill();
      const down = await alice.put('/v1/facts/outage/during', { value: 'refused' });
      expect(down.status).to.equal(503);
      expect(down.json.error.code).to.equal('store_unavailable');
      expect(Number(down.headers['retry-after'])).to.be.greaterThan(0);
      expect((await alice.get('/v1/facts/outage')).status).to.equal(503);
      expect((await alice.get('/v1/ready')).status).to.equal(503);

      await cluster.start(); // crash recovery, as after a power cut
      const back = Date.now();
      let reply = await alice.put('/v1/facts/outage/after', { value: 'back' });
      for (let i = 0; reply.status === 503 && i < 100; i++) {
        await sleep(100);
        reply = await alice.put('/v1/facts/outage/after', { value: 'back' });
      }
      expect(reply.status, reply.text).to.equal(201);
      console.log(`      served again ${Date.now() - back} ms after the server was back`);
      expect((await alice.get('/v1/facts/outage')).json.facts.outage).to.deep.equal({ before: 'kept', after: 'back' });
      expect((await alice.get('/v1/ready')).status).to.equal(200);
    });
  });
});
