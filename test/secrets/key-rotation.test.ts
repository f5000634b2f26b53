import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import pino from 'pino';
import { auditFilesIn, openAudit } from '../../src/audit/open-audit';
import { migrate } from '../../src/db/migrate';
import { PgStore } from '../../src/db/pg-store';
import type { Caller } from '../../src/identity/caller';
import { KeyRotation } from '../../src/secrets/key-rotation';
import { addKeyToFile, Keyring } from '../../src/secrets/keyring';
import { openKeyring } from '../../src/secrets/keyring-bootstrap';
import { SecretVault } from '../../src/secrets/secret-vault';
import { createServices } from '../../src/services';
import { startTestBroker, type TestBroker, tempDir } from '../support/broker';
import { type ServeProcess, startServe } from '../support/cli';
import { createTestDatabase, skipPg } from '../support/pg';
import { getTestPki } from '../support/pki';
import { sealedVersions } from '../support/sealed';
import { serveTlsArgs } from '../support/tls-files';
import { sleep } from '../support/wait';

const quiet = pino({ level: 'silent' });
const node = (i: number): Caller => ({ certname: `node${i}.example.com`, environment: 'production', extensions: {} });

async function until<T>(ms: number, fn: () => Promise<T | undefined | false>): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await sleep(50);
  }
}

async function rowsPerKey(store: PgStore): Promise<Record<string, number>> {
  const { rows } = await store.query<{ key_id: string; n: number }>(
    'SELECT key_id, count(*)::int AS n FROM secret_versions WHERE key_id IS NOT NULL GROUP BY key_id',
  );
  return Object.fromEntries(rows.map((r) => [r.key_id, r.n]));
}

/** Every sealed value still opens under the keyring and equals what was written. */
async function assertAllOpen(store: PgStore, keyring: Keyring, expected: (name: string) => unknown): Promise<number> {
  const vault = new SecretVault(keyring, keyring.newestId);
  const rows = await sealedVersions(store);
  for (const row of rows) expect(await vault.open(row, row)).to.equal(expected(row.name));
  return rows.length;
}

describe('key rotation with two brokers on one PostgreSQL', function () {
  this.timeout(180_000);
  before(function () {
    if (skipPg()) this.skip();
  });

  it('waits until every live broker has the new key, then re-seals every row while serving', async () => {
    const db = await createTestDatabase('rotate');
    const a = await startTestBroker({ store: { kind: 'postgres', url: db.url }, reencryptBatch: 25 });
    const bKeyring = path.join(tempDir('keys-b'), 'keyring.json');
    fs.copyFileSync(a.config.keyring.file, bKeyring);
    let b: TestBroker | undefined;
    try {
      b = await startTestBroker({ store: { kind: 'postgres', url: db.url }, keyringFile: bKeyring, reencryptBatch: 25 });
      const oldKey = a.broker.vault.currentWriteKeyId;
      for (let i = 0; i < 300; i++)
        await a.broker.services.facts.publish(node(i), {
          category: 'svc',
          name: `pw${i}`,
          value: `value-${i}`,
          sensitive: true,
          multi: false,
        });

      const newKey = addKeyToFile(a.config.keyring.file);
      await a.broker.reloadKeyring();
      const rotation = await a.broker.keyRotation.request(newKey, { kind: 'admin', name: 'test' });
      expect(rotation.state).to.equal('waiting');
      await sleep(1500); // several maintenance ticks: B lacks the key, so nothing may move
      expect(await rowsPerKey(a.broker.store as PgStore)).to.deep.equal({ [oldKey]: 300 });
      const waiting = await a.broker.keyRotation.status();
      expect(waiting.rotations[0].state).to.equal('waiting');
      expect(waiting.keys.find((k) => k.key_id === newKey)?.brokers).to.have.length(1);

      fs.copyFileSync(a.config.keyring.file, bKeyring); // the admin distributes the keyring
      await b.broker.reloadKeyring();
      // Reads go on during re-encryption.
      const reader = a.client(a.pki.clients.alice);
      await until(30_000, async () => {
        expect((await reader.get('/v1/facts')).status).to.equal(200);
        return (await a.broker.keyRotation.status()).rotations[0].state === 'done';
      });
      expect(await rowsPerKey(a.broker.store as PgStore)).to.deep.equal({ [newKey]: 300 });
      const status = await a.broker.keyRotation.status();
      expect(status.write_key_id).to.equal(newKey);
      expect(status.keys.find((k) => k.key_id === oldKey)).to.include({ rows: 0, retired: true });
      expect(status.rotations[0].rows_done).to.equal(300);
      expect(await assertAllOpen(a.broker.store as PgStore, Keyring.load(bKeyring), (n) => `value-${n.slice(2)}`)).to.equal(300);
      // New writes use the new key on both brokers.
      await b.broker.services.facts.publish(node(1), { category: 'svc', name: 'fresh', value: 'x', sensitive: true, multi: false });
      expect((await rowsPerKey(a.broker.store as PgStore))[newKey]).to.equal(301);
    } finally {
      await b?.close();
      await a.close();
      await db.drop();
    }
  });

  it('loses nothing when one broker is killed with kill -9 in the middle', async () => {
    const pki = await getTestPki();
    const dir = tempDir('rotate-kill');
    const tls = [...serveTlsArgs(pki, dir), '--listen', '127.0.0.1:0'];
    const db = await createTestDatabase('rotatekill');
    const store = new PgStore(db.url);
    const keyA = path.join(dir, 'keyring-a.json');
    const keyB = path.join(dir, 'keyring-b.json');
    const procs: ServeProcess[] = [];
    try {
      await migrate(store);
      const { keyring, writeKeyId } = await openKeyring(store, { file: keyA }, quiet);
      const audit = (await openAudit(store, auditFilesIn(dir), quiet)).log;
      const services = createServices({
        store,
        vault: new SecretVault(keyring, writeKeyId),
        secrets: { graceSeconds: 3600 },
        log: quiet,
        audit,
      });
      const N = 2000;
      for (let i = 0; i < N; i += 50) {
        await Promise.all(
          Array.from({ length: 50 }, (_, j) =>
            services.facts.publish(node(i + j), {
              category: 'svc',
              name: `pw${i + j}`,
              value: `value-${i + j}`,
              sensitive: true,
              multi: false,
            }),
          ),
        );
      }
      const newKey = addKeyToFile(keyA);
      fs.copyFileSync(keyA, keyB);
      for (const k of [keyA, keyB])
        procs.push(await startServe([...tls, '--database-url', db.url, '--keyring', k, '--reencrypt-batch', '5']));

      const requester = new KeyRotation(store, new SecretVault(Keyring.load(keyA), writeKeyId), quiet, audit);
      await requester.request(newKey, { kind: 'admin', name: 'test' });
      await until(30_000, async () => {
        const { rows } = await store.query<{ rows_done: number }>('SELECT rows_done FROM key_rotations');
        return rows[0].rows_done > 0;
      });
      procs[0].child.kill('SIGKILL');
      const { rows: mid } = await store.query<{ rows_done: number; state: string }>('SELECT rows_done, state FROM key_rotations');
      expect(mid[0].state).to.equal('reencrypting');
      expect(mid[0].rows_done).to.be.below(N); // killed in the middle, not after the end

      await until(60_000, async () => (await store.query<{ state: string }>('SELECT state FROM key_rotations')).rows[0].state === 'done');
      expect(await rowsPerKey(store)).to.deep.equal({ [newKey]: N });
      expect(await assertAllOpen(store, Keyring.load(keyB), (n) => `value-${n.slice(2)}`)).to.equal(N);
    } finally {
      for (const p of procs) await p.stop('SIGKILL');
      await store.close();
      await db.drop();
    }
  });
});
