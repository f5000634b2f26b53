// Someone who can write the database rewrites the audit trail for real (no rollback), as the
// probe did: alter an entry, recompute the chain, delete the signed heads in the database,
// delete a sighting. `audit verify` must notice through what is kept outside the database,
// and the broker must never sign the rewritten chain.
import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { recomputeChain } from '../support/audit-chain';
import { READ_ALL_SECRETS, startTestBroker, type TestBroker } from '../support/broker';
import { pgStoreConfigs } from '../support/pg';
import { eventually } from '../support/wait';

const CANARY = 'tamper-canary-5520';

describe('audit trail against a database writer (real tampering)', function () {
  this.timeout(120_000);
  for (const storeCase of pgStoreConfigs('audit_tamper')) {
    describe(`on the ${storeCase.label} store`, () => {
      let t: TestBroker;
      let deviceFile: string;
      let headsFile: string;

      /** A fresh broker with some history and a signed head, for one destructive test. */
      async function brokerWithHistory(): Promise<TestBroker> {
        await t?.close();
        await storeCase.cleanup();
        t = await startTestBroker({ store: await storeCase.config(), policy: READ_ALL_SECRETS, auditDevice: true });
        deviceFile = t.config.audit.deviceFile!;
        headsFile = t.config.audit.headsFile;
        const alice = t.client(t.pki.clients.alice);
        const bob = t.client(t.pki.clients.bob);
        await alice.put('/v1/facts/db/password', { value: CANARY, sensitive: true });
        await bob.get('/v1/secrets/db/password');
        await alice.put('/v1/facts/db/url', { value: 'mysql://db1/nova' });
        await alice.put('/v1/facts/db/port', { value: 3306 });
        expect(await t.broker.audit.signHead()).to.not.equal(undefined);
        return t;
      }
      after(async () => {
        await t?.close();
        await storeCase.cleanup();
      });

      it('finds an intact trail intact, with its heads outside the database and its device', async () => {
        await brokerWithHistory();
        await t.broker.auditService.log.appendNow({ actor: { kind: 'admin', name: 'tester' }, action: 'test.after_head' });
        const report = await t.broker.auditService.verify();
        expect(report.problems).to.deep.equal([]);
        expect(report.external_heads).to.be.at.least(1);
        expect(report.sightings).to.deep.equal({ covered: 1, uncovered: 0 });
        // The device copies every committed entry (it follows the chain within a second).
        await eventually(
          'the device holds every entry',
          async () => (await t.broker.auditService.verify()).device_entries >= report.events,
        );
        expect(fs.readFileSync(deviceFile, 'utf8')).to.not.include(CANARY);
        expect(fs.statSync(headsFile).mode & 0o777).to.equal(0o600);
      });

      it('catches an entry altered, the chain recomputed and every head in the database deleted', async () => {
        await brokerWithHistory();
        const store = t.broker.store;
        await store.query(
          "UPDATE audit_events SET actor = 'someone-else.test' WHERE action = 'fact.create' AND category = 'db' AND name = 'url'",
        );
        const { rows } = await store.query<{ seq: number }>("SELECT seq FROM audit_events WHERE actor = 'someone-else.test'");
        await recomputeChain(store, rows[0].seq);
        await store.query('DELETE FROM audit_heads');
        const headsBefore = fs.readFileSync(headsFile, 'utf8');

        const report = await t.broker.auditService.verify();
        expect(report.ok).to.equal(false);
        expect(report.problems.map((p) => p.kind)).to.include('recomputed');
        expect(report.problems.find((p) => p.kind === 'recomputed')?.message).to.match(/kept outside the database/);
        expect(report.problems.map((p) => p.kind)).to.include('device_mismatch');
        // Nothing was signed: not by verify, not by the periodic signing.
        expect(await t.broker.audit.signHead()).to.equal(undefined);
        expect(t.broker.audit.integrity).to.match(/no longer has the hash signed before|does not follow/);
        expect(fs.readFileSync(headsFile, 'utf8')).to.equal(headsBefore);
        expect((await store.query('SELECT 1 FROM audit_heads')).rowCount).to.equal(0);
      });

      it('catches a tail cut after the last head in the database was deleted too', async () => {
        await brokerWithHistory();
        const store = t.broker.store;
        const { rows } = await store.query<{ seq: number; prev_hash: Buffer }>(
          'SELECT seq, prev_hash FROM audit_events ORDER BY seq DESC LIMIT 1',
        );
        await store.query('DELETE FROM audit_events WHERE seq = $1', [rows[0].seq]);
        await store.query('UPDATE audit_chain SET seq = $1, hash = $2', [rows[0].seq - 1, rows[0].prev_hash]);
        await store.query('DELETE FROM audit_heads');
        const report = await t.broker.auditService.verify();
        expect(report.problems.map((p) => p.kind)).to.include('truncated');
        expect(report.problems.find((p) => p.kind === 'truncated')?.message).to.match(/kept outside the database|audit device/);
      });

      it("catches a deleted sighting, and one inserted behind the broker's back", async () => {
        await brokerWithHistory();
        const store = t.broker.store;
        await store.query("DELETE FROM secret_sightings WHERE certname = 'bob.test'");
        const deleted = await t.broker.auditService.verify();
        expect(deleted.problems.map((p) => p.kind)).to.deep.equal(['sighting_deleted']);
        expect(deleted.problems[0].message).to.match(/sighting of production\/db\.password version 1 by bob\.test/);
        // An invented sighting pointing at an entry that recorded something else.
        const { rows } = await store.query<{ seq: number }>(
          "SELECT seq FROM audit_events WHERE action = 'fact.create' ORDER BY seq LIMIT 1",
        );
        await store.query(
          `INSERT INTO secret_sightings (fact_id, exporter, version, certname, audit_seq)
           SELECT fact_id, exporter, version, 'carol.test', $1 FROM secret_versions LIMIT 1`,
          [rows[0].seq],
        );
        const inserted = await t.broker.auditService.verify();
        expect(inserted.problems.map((p) => p.kind)).to.include('sighting_unrecorded');
      });

      it('keeps working on a chain that is intact again, after a restart with the same heads file', async () => {
        await brokerWithHistory();
        const config = t.config;
        await t.close();
        // Same files, same store: the heads file is read back and signing goes on from it.
        t = await startTestBroker({
          store: config.store,
          policy: READ_ALL_SECRETS,
          auditDevice: true,
          reuseDir: path.dirname(config.audit.keyFile),
        });
        await t.client(t.pki.clients.alice).put('/v1/facts/db/host', { value: 'db1' });
        expect(await t.broker.audit.signHead()).to.not.equal(undefined);
        const report = await t.broker.auditService.verify();
        expect(report.problems).to.deep.equal([]);
      });
    });
  }
});
