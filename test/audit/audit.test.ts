import { expect } from 'chai';
import { AuditQueries } from '../../src/audit/audit-queries';
import { pruneAuditChain, type VerifyReport, verifyAuditChain } from '../../src/audit/audit-verify';
import { leakFingerprints } from '../../src/cli/audit-command';
import type { Queryable, Store } from '../../src/db/store';
import { Keyring } from '../../src/secrets/keyring';
import { recomputeChain } from '../support/audit-chain';
import { READ_ALL_SECRETS, startTestBroker, startTestBrokerOn, type TestBroker } from '../support/broker';
import type { Client } from '../support/client';
import { createTestDatabase, skipPg } from '../support/pg';

const ADMIN = { kind: 'admin', name: 'auditor-test' } as const;
const LEAK = 'leaky-Value-7731';

class Rollback extends Error {}

/** Runs fn on a tampered copy of the chain: inside a transaction that is always rolled back. */
async function tampered(store: Store, keys: Buffer[], tamper: (tx: Queryable) => Promise<void>): Promise<VerifyReport> {
  let report: VerifyReport | undefined;
  await store
    .transaction(async (tx) => {
      await tamper(tx);
      report = await verifyAuditChain(tx, { trustedKeys: keys });
      throw new Rollback();
    })
    .catch((e) => {
      if (!(e instanceof Rollback)) throw e;
    });
  return report!;
}

for (const backend of ['embedded', 'postgres'] as const)
  describe(`audit (${backend} store)`, function () {
    this.timeout(120_000);
    let t: TestBroker;
    let db: { url: string; drop(): Promise<void> } | undefined;
    let alice: Client;
    let bob: Client;
    let carol: Client;
    let q: AuditQueries;
    let v1: number;

    before(async function () {
      if (backend === 'postgres' && skipPg()) return this.skip();
      ({ t, db } = await startTestBrokerOn(backend, 'audit', { policy: READ_ALL_SECRETS }));
      alice = t.client(t.pki.clients.alice);
      bob = t.client(t.pki.clients.bob);
      carol = t.client(t.pki.clients.carol);
      q = new AuditQueries(t.broker.store);

      // The scripted history.
      v1 = (await alice.put('/v1/facts/db/password', { value: LEAK, sensitive: true })).json.version;
      await bob.get('/v1/secrets/db/password');
      await bob.get('/v1/secrets/db/password');
      await carol.get('/v1/secrets/db/password');
      await alice.put('/v1/facts/db/password', { value: 'second-value', sensitive: true });
      await bob.get('/v1/secrets/db/password');
      await alice.put('/v1/facts/db/url', { value: 'mysql://db1/nova' });
      await alice.delete('/v1/facts/db/url');
      await carol.request('POST', '/v1/secrets/nova/db_password/generate', { body: {} });
      await t.broker.services.secrets.rotate(ADMIN, 'production', 'nova', 'db_password', { pending: false });
      await t.broker.services.secrets.show(ADMIN, 'production', 'nova', 'db_password');
      await t.broker.audit.signHead();
    });
    after(async () => {
      await t?.close();
      await db?.drop();
    });

    it('answers who saw a secret, per version', async () => {
      const seen = await q.whoSaw('production', 'db', 'password');
      const byVersion = (v: number) =>
        seen
          .filter((s) => s.version === v)
          .map((s) => `${s.certname}:${s.count}`)
          .sort();
      expect(byVersion(v1)).to.deep.equal([`${t.pki.clients.bob.certname}:2`, `${t.pki.clients.carol.certname}:1`].sort());
      expect(byVersion(v1 + 1)).to.deep.equal([`${t.pki.clients.bob.certname}:1`]);
    });

    it('answers what a node saw', async () => {
      const seen = await q.nodeSaw(t.pki.clients.carol.certname);
      expect(seen.map((s) => `${s.category}.${s.name}@${s.version}`).sort()).to.deep.equal(
        [
          `db.password@${v1}`,
          ...(await q.whoSaw('production', 'nova', 'db_password'))
            .filter((s) => s.certname === t.pki.clients.carol.certname)
            .map((s) => `nova.db_password@${s.version}`),
        ].sort(),
      );
    });

    it('answers which nodes have not fetched the current version', async () => {
      const stale = await q.notCurrent('production', 'db', 'password');
      expect(stale.map((s) => s.certname)).to.deep.equal([t.pki.clients.carol.certname]);
      expect(stale[0].newest_version).to.equal(v1);
    });

    it('records every change with who, what, when and version, and never a value', async () => {
      const events = await q.events({ limit: 1000 });
      const summary = events.map((e) => `${e.actor_kind}:${e.action}:${e.category ?? ''}.${e.name ?? ''}`);
      expect(summary).to.include.members([
        `node:fact.create:db.password`,
        `node:fact.change:db.password`,
        `node:fact.create:db.url`,
        `node:fact.withdraw:db.url`,
        `node:secret.generate:nova.db_password`,
        `node:secret.sighting:db.password`,
        `node:secret.sighting:nova.db_password`,
        `admin:secret.rotate:nova.db_password`,
        `admin:admin.secret.read:nova.db_password`,
      ]);
      expect(events.find((e) => e.action === 'secret.rotate')?.actor).to.equal('auditor-test');
      const { rows } = await t.broker.store.query('SELECT * FROM audit_events');
      expect(JSON.stringify(rows)).to.not.contain(LEAK).and.not.contain('second-value');
      const byFact = await q.events({ category: 'db', name: 'url', limit: 10 });
      expect(byFact.map((e) => e.action)).to.deep.equal(['fact.withdraw', 'fact.create']);
      const byActor = await q.events({ actor: t.pki.clients.carol.certname, limit: 10 });
      // Carol's first reading of each secret version is an entry too (after the generate, she read it).
      expect(byActor.map((e) => e.action)).to.deep.equal(['secret.sighting', 'secret.generate', 'secret.sighting']);
      const future = await q.events({ since: new Date(Date.now() + 60_000), limit: 10 });
      expect(future).to.deep.equal([]);
    });

    it('counts repeated refusals of one node instead of appending each', async () => {
      const before = (await q.events({ action: 'access.refused', limit: 100 })).length;
      for (let i = 0; i < 20; i++) expect((await bob.put('/v1/facts/db/password', { value: 'x', sensitive: true })).status).to.equal(409);
      await t.broker.audit.flushRefusals();
      const refusals = await q.events({ action: 'access.refused', actor: t.pki.clients.bob.certname, limit: 100 });
      expect(refusals.length - before).to.equal(2);
      expect(refusals.map((r) => [r.action, r.count])).to.deep.include.members([
        ['access.refused', 1],
        ['access.refused.repeated', 19],
      ]);
    });

    it('finds who received a leaked value, without decrypting anything', async () => {
      const keyring = Keyring.load(t.config.keyring.file);
      const matches = await q.leaked((await leakFingerprints(keyring, `${LEAK}\n`)).map((h) => Buffer.from(h, 'hex')));
      expect(matches).to.have.length(1);
      expect(matches[0]).to.include({ category: 'db', name: 'password', version: v1, state: 'previous' });
      expect(matches[0].received_by.map((r) => r.certname).sort()).to.deep.equal(
        [t.pki.clients.bob.certname, t.pki.clients.carol.certname].sort(),
      );
      expect(await q.leaked((await leakFingerprints(keyring, 'never-used')).map((h) => Buffer.from(h, 'hex')))).to.deep.equal([]);
    });

    describe('verify', () => {
      const keys = () => t.broker.trustedAuditKeys;

      it('finds an intact chain intact', async () => {
        const report = await verifyAuditChain(t.broker.store, { trustedKeys: keys() });
        expect(report.problems).to.deep.equal([]);
        expect(report.ok).to.equal(true);
        expect(report.events).to.be.at.least(8);
      });

      it('names an altered entry', async () => {
        const r = await tampered(t.broker.store, keys(), (tx) =>
          tx.query("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 3").then(() => undefined),
        );
        expect(r.ok).to.equal(false);
        expect(r.problems[0]).to.include({ seq: 3, kind: 'altered' });
      });

      it('names a deleted entry', async () => {
        const r = await tampered(t.broker.store, keys(), (tx) => tx.query('DELETE FROM audit_events WHERE seq = 4').then(() => undefined));
        expect(r.problems[0]).to.include({ seq: 4, kind: 'missing' });
      });

      it('names reordered entries', async () => {
        const r = await tampered(t.broker.store, keys(), async (tx) => {
          await tx.query('UPDATE audit_events SET seq = -5 WHERE seq = 5');
          await tx.query('UPDATE audit_events SET seq = 5 WHERE seq = 6');
          await tx.query('UPDATE audit_events SET seq = 6 WHERE seq = -5');
        });
        expect(r.problems[0].seq).to.equal(5);
        expect(r.problems[0].kind).to.be.oneOf(['altered', 'out_of_order']);
      });

      it('catches a chain recomputed after a change, by the signed head', async () => {
        const r = await tampered(t.broker.store, keys(), async (tx) => {
          await tx.query("UPDATE audit_events SET actor = 'forged' WHERE seq = 2");
          // Recompute every hash from entry 2 on, as someone with write access could.
          await recomputeChain(tx, 2);
        });
        expect(r.ok).to.equal(false);
        // Entry 2 is Bob's first sighting: the sightings check sees that it no longer says who saw it.
        expect(r.problems.map((p) => p.kind)).to.deep.equal(['recomputed', 'sighting_deleted']);
        expect(r.problems[0].seq).to.equal(1);
        expect(r.problems[0].message).to.match(/between 1 and \d+ was changed and the hashes recomputed/);
      });

      it('catches a cut-off tail', async () => {
        await t.broker.audit.signHead();
        const r = await tampered(t.broker.store, keys(), async (tx) => {
          const { rows } = await tx.query<{ seq: number; prev_hash: Buffer }>(
            'SELECT seq, prev_hash FROM audit_events ORDER BY seq DESC LIMIT 1',
          );
          await tx.query('DELETE FROM audit_events WHERE seq = $1', [rows[0].seq]);
          await tx.query('UPDATE audit_chain SET seq = $1, hash = $2', [rows[0].seq - 1, rows[0].prev_hash]);
        });
        expect(r.problems.map((p) => p.kind)).to.include('truncated');
      });

      it('keeps verifying from a signed anchor after old entries are pruned', async () => {
        await t.broker.audit.signHead();
        const pruned = await pruneAuditChain(t.broker.store, new Date(Date.now() + 1000), t.broker.trustedAuditKeys[0]);
        expect(pruned.pruned).to.be.at.least(8);
        await alice.put('/v1/facts/after/prune', { value: 1 });
        const report = await verifyAuditChain(t.broker.store, { trustedKeys: keys() });
        expect(report.problems).to.deep.equal([]);
        expect(report.first_seq).to.equal(pruned.anchor_seq! + 1);
        const untrusted = await verifyAuditChain(t.broker.store, { trustedKeys: [Buffer.alloc(32, 1)] });
        expect(untrusted.problems[0].kind).to.equal('bad_signature');
      });
    });

    it('answers 503 audit_unavailable, not 500, and changes nothing when the event of a change cannot be written', async () => {
      await t.broker.store.query(
        `CREATE FUNCTION refuse_events() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit disk full'; END $$`,
      );
      await t.broker.store.query('CREATE TRIGGER refuse BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_events()');
      try {
        for (const r of [
          await alice.put('/v1/facts/db/refused', { value: 'x' }),
          await bob.request('POST', '/v1/secrets/db/refused_pw/generate', { body: {} }),
        ]) {
          expect([r.status, r.json.error.code]).to.deep.equal([503, 'audit_unavailable']);
        }
        expect((await alice.get('/v1/facts')).json.facts.db?.refused).to.equal(undefined);
      } finally {
        await t.broker.store.query('DROP TRIGGER refuse ON audit_events');
        await t.broker.store.query('DROP FUNCTION refuse_events()');
      }
    });

    it('fails closed: no secret is handed out when its sighting cannot be written, other reads go on', async () => {
      await t.broker.store.query(
        `CREATE FUNCTION refuse_sightings() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit disk full'; END $$`,
      );
      await t.broker.store.query(
        'CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON secret_sightings FOR EACH ROW EXECUTE FUNCTION refuse_sightings()',
      );
      try {
        const secret = await bob.get('/v1/secrets/db/password');
        expect(secret.status).to.equal(503);
        expect(secret.json.error.code).to.equal('audit_unavailable');
        expect(secret.text).to.not.contain('second-value');
        expect((await bob.get('/v1/facts')).status).to.equal(200);
      } finally {
        await t.broker.store.query('DROP TRIGGER refuse ON secret_sightings');
        await t.broker.store.query('DROP FUNCTION refuse_sightings()');
      }
      expect((await bob.get('/v1/secrets/db/password')).status).to.equal(200);
    });
  });

describe('audit: two brokers appending at once on one PostgreSQL', function () {
  this.timeout(120_000);
  it('keep one chain', async function () {
    if (skipPg()) this.skip();
    const db = await createTestDatabase('auditrace');
    const a = await startTestBroker({ store: { kind: 'postgres', url: db.url } });
    const b = await startTestBroker({ store: { kind: 'postgres', url: db.url } });
    try {
      const ca = a.client(a.pki.clients.alice);
      const cb = b.client(b.pki.clients.bob);
      await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? ca : cb).put(`/v1/facts/race/f${i}`, { value: i })));
      const { rows } = await a.broker.store.query<{ seq: number }>('SELECT seq FROM audit_events ORDER BY seq');
      expect(rows.map((r) => r.seq)).to.deep.equal(Array.from({ length: rows.length }, (_, i) => i + 1));
      expect(rows.length).to.be.at.least(60);
      await a.broker.audit.signHead();
      await b.broker.audit.signHead();
      const report = await verifyAuditChain(a.broker.store, { trustedKeys: [...a.broker.trustedAuditKeys, ...b.broker.trustedAuditKeys] });
      expect(report.problems).to.deep.equal([]);
    } finally {
      await b.close();
      await a.close();
      await db.drop();
    }
  });
});
