import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { READ_ALL_SECRETS, startTestBrokerOn, type TestBroker } from '../support/broker';
import type { Client } from '../support/client';
import { skipPg } from '../support/pg';
import { eventually } from '../support/wait';

const CANARY = 'canary-9f2c-Sekr1t';
const ADMIN = { kind: 'admin', name: 'test-admin' } as const;

/** Every file under dir, as one buffer: to prove a value is nowhere in plaintext. */
function readTree(dir: string): Buffer {
  const parts: Buffer[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) parts.push(fs.readFileSync(path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name)));
  }
  return Buffer.concat(parts);
}

for (const backend of ['embedded', 'postgres'] as const)
  describe(`secrets (${backend} store)`, function () {
    this.timeout(120_000);
    let t: TestBroker;
    let db: { url: string; drop(): Promise<void> } | undefined;
    let dataDir: string | undefined;
    let alice: Client;
    let bob: Client;
    let carol: Client;

    before(async function () {
      if (backend === 'postgres' && skipPg()) return this.skip();
      ({ t, db, dataDir } = await startTestBrokerOn(backend, 'secrets', { graceSeconds: 2, policy: READ_ALL_SECRETS }));
      alice = t.client(t.pki.clients.alice);
      bob = t.client(t.pki.clients.bob);
      carol = t.client(t.pki.clients.carol);
    });
    after(async () => {
      await t?.close();
      await db?.drop();
    });

    it('creates the keyring on first start with mode 0600 and says where in the log', () => {
      const stat = fs.statSync(t.config.keyring.file);
      expect(stat.mode & 0o777).to.equal(0o600);
      expect(t.logs.text).to.contain('no keyring found: created a new one');
      expect(t.logs.text).to.contain(t.config.keyring.file);
    });

    it('seals a published sensitive value: readable over the API, absent from the store in plaintext', async () => {
      const p = await alice.put('/v1/facts/db/password', { value: CANARY, sensitive: true });
      expect(p.status).to.equal(201);
      const r = await bob.get('/v1/secrets/db/password');
      expect(r.json).to.include({ value: CANARY, version: p.json.version });
      const { rows } = await t.broker.store.query<{ ciphertext: Buffer; key_id: string; state: string }>(
        'SELECT ciphertext, key_id, state FROM secret_versions',
      );
      expect(rows).to.have.length(1);
      expect(rows[0].ciphertext.includes(Buffer.from(CANARY))).to.equal(false);
      const { rows: values } = await t.broker.store.query<{ value: unknown }>('SELECT value FROM fact_values');
      expect(JSON.stringify(values)).to.not.contain(CANARY);
      const { rows: history } = await t.broker.store.query<{ value: unknown }>('SELECT value FROM fact_history');
      expect(JSON.stringify(history)).to.not.contain(CANARY);
    });

    it('does not make a new version when the same secret is published again', async () => {
      const again = await alice.put('/v1/facts/db/password', { value: CANARY, sensitive: true });
      expect(again.json.changed).to.equal(false);
    });

    it('refuses to open a ciphertext moved to another row', async () => {
      await alice.put('/v1/facts/db/other', { value: 'other-secret', sensitive: true });
      // Copy db.password's sealed bytes over db.other's: same key, different address.
      await t.broker.store.query(
        `UPDATE secret_versions dst SET nonce = src.nonce, ciphertext = src.ciphertext, key_id = src.key_id
           FROM secret_versions src JOIN facts fs ON fs.id = src.fact_id AND fs.name = 'password'
          WHERE dst.fact_id = (SELECT id FROM facts WHERE category = 'db' AND name = 'other' AND environment = 'production')`,
      );
      const r = await bob.get('/v1/secrets/db/other');
      expect(r.status).to.equal(500);
      expect(r.json.error.code).to.equal('secret_undecryptable');
      expect(r.text).to.not.contain(CANARY);
    });

    it('generates a secret once: 100 concurrent requests from several nodes get one value', async () => {
      const nodes = [alice, bob, carol];
      const replies = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          nodes[i % 3].request('POST', '/v1/secrets/keystone/db_password/generate', { body: { length: 24, alphabet: 'alnum' } }),
        ),
      );
      const values = new Set(replies.map((r) => r.json.value));
      expect(values.size).to.equal(1);
      expect(replies.filter((r) => r.status === 201)).to.have.length(1);
      expect(replies.filter((r) => r.status === 200)).to.have.length(99);
      const [value] = [...values] as string[];
      expect(value).to.match(/^[A-Za-z0-9]{24}$/);
      const { rows } = await t.broker.store.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM secret_versions s JOIN facts f ON f.id = s.fact_id WHERE f.category = 'keystone' AND f.name = 'db_password'",
      );
      expect(rows[0].n).to.equal(1);
    });

    it('shows a generated secret in the view with its version, never its value', async () => {
      const view = await carol.get('/v1/facts');
      expect(view.json.secrets.keystone.db_password.version).to.be.a('number');
      const value = (await carol.get('/v1/secrets/keystone/db_password')).json.value;
      expect(view.text).to.not.contain(value);
    });

    it('never lets a node publish over, or withdraw, a generated secret', async () => {
      const put = await alice.put('/v1/facts/keystone/db_password', { value: 'mine', sensitive: true });
      expect(put.status).to.equal(409);
      expect(put.json.error.code).to.equal('secret_generated');
      const del = await alice.delete('/v1/facts/keystone/db_password');
      expect(del.status).to.equal(404);
      const prune = await alice.request('POST', '/v1/exports/prune', { body: { keep: [] } });
      expect(prune.status).to.equal(200);
      expect((await bob.get('/v1/secrets/keystone/db_password')).status).to.equal(200);
      // republish what the prune withdrew, for the tests below
      await alice.put('/v1/facts/db/password', { value: CANARY, sensitive: true });
    });

    it('rotates: readers get the new current, the previous stays readable by pin for the grace period, then is destroyed', async () => {
      const before = (await bob.get('/v1/secrets/keystone/db_password')).json;
      const rotated = await t.broker.services.secrets.rotate(ADMIN, 'production', 'keystone', 'db_password', { pending: false });
      expect(rotated.version).to.be.greaterThan(before.version);
      const now = (await bob.get('/v1/secrets/keystone/db_password')).json;
      expect(now.version).to.equal(rotated.version);
      expect(now.value).to.not.equal(before.value);
      const pinned = await bob.get(`/v1/secrets/keystone/db_password?version=${before.version}`);
      expect(pinned.json).to.include({ value: before.value, state: 'previous' });
      // Grace is 2 s in this suite; past it the pin is refused, and the sweeper (every 200 ms) destroys the row.
      const row = async () =>
        (
          await t.broker.store.query<{ state: string; ciphertext: Buffer | null }>(
            "SELECT s.state, s.ciphertext FROM secret_versions s JOIN facts f ON f.id = s.fact_id WHERE f.name = 'db_password' AND s.version = $1",
            [before.version],
          )
        ).rows[0];
      await eventually('the previous version destroyed after its grace', async () => (await row()).state === 'destroyed');
      expect((await bob.get(`/v1/secrets/keystone/db_password?version=${before.version}`)).status).to.equal(404);
      const rows = [await row()];
      expect(rows[0]).to.deep.equal({ state: 'destroyed', ciphertext: null });
    });

    it('keeps a pending version out of readers’ way until it is promoted', async () => {
      const current = (await bob.get('/v1/secrets/keystone/db_password')).json;
      const pending = await t.broker.services.secrets.rotate(ADMIN, 'production', 'keystone', 'db_password', {
        pending: true,
        value: 'given-by-admin',
      });
      expect((await bob.get('/v1/secrets/keystone/db_password')).json.version).to.equal(current.version);
      expect((await alice.get(`/v1/secrets/keystone/db_password?version=${pending.version}`)).json).to.include({
        value: 'given-by-admin',
        state: 'pending',
      });
      await t.broker.services.secrets.promote(ADMIN, 'production', 'keystone', 'db_password', pending.version);
      expect((await bob.get('/v1/secrets/keystone/db_password')).json).to.include({ version: pending.version, value: 'given-by-admin' });
    });

    it('refuses an admin rotation of a node-published secret: that node rotates it', async () => {
      const err = await t.broker.services.secrets.rotate(ADMIN, 'production', 'db', 'password', { pending: false }).catch((e) => e);
      expect(err.code).to.equal('secret_owned_by_node');
    });

    it('records sightings per node and version, and tells who has not fetched the current version', async () => {
      await t.broker.services.secrets.rotate(ADMIN, 'production', 'keystone', 'db_password', { pending: false });
      await bob.get('/v1/secrets/keystone/db_password');
      await bob.get('/v1/secrets/keystone/db_password');
      const status = await t.broker.services.secrets.status('production', 'keystone', 'db_password');
      const current = status.versions.find((v) => v.state === 'current')!;
      const bobSeen = current.seen_by.find((s) => s.certname === t.pki.clients.bob.certname)!;
      expect(bobSeen.count).to.equal(2);
      expect(status.not_yet_current).to.include.members([t.pki.clients.alice.certname, t.pki.clients.carol.certname]);
      expect(status.not_yet_current).to.not.include(t.pki.clients.bob.certname);
    });

    it('validates generate requests', async () => {
      for (const [body, field] of [
        [{ length: 4 }, 'length'],
        [{ length: 'long' }, 'length'],
        [{ alphabet: 'a' }, 'alphabet'],
        [{ colour: 'red' }, 'colour'],
      ] as const) {
        const r = await alice.request('POST', '/v1/secrets/gen/bad/generate', { body });
        expect(r.status).to.equal(400);
        expect(r.json.error.message).to.contain(field);
      }
      expect((await alice.get('/v1/secrets/gen/bad')).status).to.equal(404);
      const pin = await alice.get('/v1/secrets/db/password?version=abc');
      expect(pin.status).to.equal(400);
      expect(pin.json.error.message).to.contain('version');
    });

    it('keeps the canary out of the logs and, on disk, out of the store', async () => {
      expect(t.logs.text).to.not.contain(CANARY);
      if (backend === 'postgres') {
        const dump = execFileSync('pg_dump', ['--data-only', db!.url], { maxBuffer: 256 * 1024 * 1024 });
        expect(dump.length).to.be.greaterThan(1000);
        expect(dump.includes(Buffer.from(CANARY))).to.equal(false);
        expect(dump.includes(Buffer.from('given-by-admin'))).to.equal(false);
      } else {
        await t.broker.store.query('CHECKPOINT');
        const files = readTree(dataDir!);
        expect(files.includes(Buffer.from(CANARY))).to.equal(false);
      }
    });
  });
