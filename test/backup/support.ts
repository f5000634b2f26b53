// What the backup drills share: a broker filled with facts, secrets under two keys, sightings
// and audit events; the state a restore must bring back; the CLI arguments that name a
// broker's files.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { StoreConfig } from '../../src/config/serve-config';
import { READ_ALL_SECRETS, startTestBroker, type TestBroker, tempDir } from '../support/broker';
import type { Client } from '../support/client';
import { createTestDatabase } from '../support/pg';
import type { TestCert } from '../support/pki';
import { writePrivate } from '../support/temp';
import { eventually } from '../support/wait';

export const ADMIN = 'ops.admin.test';
/** Sensitive facts alice publishes before the key rotation. */
export const SECRETS = 40;

export interface Filled {
  t: TestBroker;
  admin: Client;
  adminCert: TestCert;
  /** Key ids: the first one, and the one the rotation moves to. */
  oldKey: string;
  newKey: string;
}

/** A broker for the drills: admin certificate, every node may read every secret, an audit device. */
export async function startDrillBroker(store: StoreConfig, reuseDir?: string): Promise<Filled['t']> {
  return startTestBroker({
    store,
    reuseDir,
    admin: { certnames: [ADMIN] },
    policy: READ_ALL_SECRETS,
    graceSeconds: 7 * 86_400,
    // An audit device too (reuseDir/audit-device.jsonl): the backup copies it, the restore puts it back.
    auditDevice: true,
  });
}

/**
 * Fills a broker through its real API: plain, changed, withdrawn and per-node facts; sensitive
 * facts (one changed, so a previous version exists); a generated secret rotated by an admin;
 * sightings; then a key rotation caught half-way (further steps are held), so the store holds
 * rows sealed with two key ids.
 */
export async function fillBroker(t: TestBroker): Promise<Filled> {
  const adminCert = await t.pki.issueClientCert({ certname: ADMIN });
  const admin = t.adminClient(adminCert);
  const alice = t.client(t.pki.clients.alice);
  const bob = t.client(t.pki.clients.bob);
  const ok = async (p: Promise<{ status: number; text: string }>, status = [200, 201]) => {
    const r = await p;
    expect(status, r.text).to.include(r.status);
    return r;
  };
  await ok(alice.put('/v1/facts/db/url', { value: 'mysql://db.test/nova' }));
  await ok(alice.put('/v1/facts/db/url', { value: 'mysql://db.test:3306/nova' }));
  await ok(alice.put('/v1/facts/db/options', { value: { ssl: true, pool: [1, 2, 3], note: 'ünïcode ✓', nothing: null, empty: {} } }));
  await ok(alice.put('/v1/facts/db/temporary', { value: 'withdrawn before the backup' }));
  await ok(alice.delete('/v1/facts/db/temporary'));
  for (const c of [alice, bob]) await ok(c.put('/v1/facts/cluster/members', { value: 'x', multi: true }));
  for (let i = 0; i < SECRETS; i++)
    await ok(alice.put(`/v1/facts/svc/pw${i}`, { value: `pw-${i}-${crypto.randomUUID()}`, sensitive: true }));
  await ok(alice.put('/v1/facts/svc/pw0', { value: 'pw-0-changed', sensitive: true }));
  await ok(bob.request('POST', '/v1/secrets/nova/db_password/generate', { body: { length: 24 } }));
  await ok(admin.request('POST', '/admin/v1/secrets/nova/db_password/rotate', { body: {} }));
  for (const name of ['svc/pw0', 'svc/pw1', 'svc/pw2', 'nova/db_password']) await ok(bob.get(`/v1/secrets/${name}`));
  await t.broker.audit.signHead();

  // A rotation held half-way: the maintenance timer calls tick() by name, so replacing it stops the
  // broker's own steps; the test takes the one step that makes the new key the write key (before
  // any row is re-sealed), then writes a secret with it. The store then holds rows under two keys.
  const oldKey = t.broker.vault.currentWriteKeyId;
  const rotation = t.broker.keyRotation;
  const step = rotation.tick.bind(rotation);
  rotation.tick = async () => undefined;
  const rotate = await ok(admin.request('POST', '/admin/v1/keys/rotate', { body: {} }), [202]);
  const newKey = (rotate as unknown as { json: { rotation: { target_key_id: string } } }).json.rotation.target_key_id;
  await eventually('the new key is the write key', async () => {
    await step();
    return (await rotation.status()).rotations[0].state === 'reencrypting' && t.broker.vault.currentWriteKeyId === newKey;
  });
  await ok(alice.put('/v1/facts/svc/after_rotation', { value: `sealed with the new key ${crypto.randomUUID()}`, sensitive: true }));
  await ok(alice.put('/v1/facts/svc/pw1', { value: 'pw-1-changed-after-rotation', sensitive: true }));
  return { t, admin, adminCert, oldKey, newKey };
}

/** What a restore must bring back, read through the API (and the store for the chain). */
export interface Observed {
  views: { alice: { etag: string; body: unknown }; bob: { etag: string; body: unknown } };
  /** "category.name@version" → value, every version readable by an admin (current and pinned). */
  secrets: Map<string, unknown>;
  chain: { seq: number; hash: string }[];
  coveredSightings: number;
  /** Sealed values per key id. */
  perKey: Record<string, number>;
}

export async function observe(t: TestBroker, admin: Client): Promise<Observed> {
  const view = async (cert: TestCert) => {
    const r = await t.client(cert).get('/v1/facts');
    expect(r.status).to.equal(200);
    return { etag: r.headers.etag as string, body: r.json };
  };
  const secrets = new Map<string, unknown>();
  const { rows } = await t.broker.store.query<{ category: string; name: string; version: number }>(
    `SELECT f.category, f.name, s.version FROM secret_versions s JOIN facts f ON f.id = s.fact_id
      WHERE s.ciphertext IS NOT NULL ORDER BY 1, 2, 3`,
  );
  for (const r of rows) {
    const shown = await admin.get(`/admin/v1/secrets/${r.category}/${r.name}?version=${r.version}`);
    expect(shown.status, shown.text).to.equal(200);
    for (const v of shown.json.values as { version: number; value: unknown }[])
      secrets.set(`${r.category}.${r.name}@${v.version}`, v.value);
  }
  const chain = await t.broker.store.query<{ seq: number; hash: Buffer }>('SELECT seq, hash FROM audit_events ORDER BY seq');
  const covered = await t.broker.store.query<{ n: number }>('SELECT count(*)::int AS n FROM secret_sightings WHERE audit_seq IS NOT NULL');
  const perKey = await t.broker.store.query<{ key_id: string; n: number }>(
    'SELECT key_id, count(*)::int AS n FROM secret_versions WHERE ciphertext IS NOT NULL GROUP BY key_id',
  );
  return {
    views: { alice: await view(t.pki.clients.alice), bob: await view(t.pki.clients.bob) },
    secrets,
    chain: chain.rows.map((r) => ({ seq: r.seq, hash: r.hash.toString('hex') })),
    coveredSightings: covered.rows[0].n,
    perKey: Object.fromEntries(perKey.rows.map((r) => [r.key_id, r.n])),
  };
}

interface BrokerFiles {
  keyring: string;
  auditKey: string;
  auditHeads: string;
  auditDevice: string;
  adminKey: string;
}

/** `--keyring … --audit-key … --audit-heads … --audit-device … --admin-signing-key …` of a broker's files. */
export function fileArgs(files: BrokerFiles): string[] {
  return [
    '--keyring',
    files.keyring,
    '--audit-key',
    files.auditKey,
    '--audit-heads',
    files.auditHeads,
    '--audit-device',
    files.auditDevice,
    '--admin-signing-key',
    files.adminKey,
  ];
}

export function filesOf(t: TestBroker): BrokerFiles {
  return {
    keyring: t.config.keyring.file,
    auditKey: t.config.audit.keyFile,
    auditHeads: t.config.audit.headsFile,
    auditDevice: t.config.audit.deviceFile!,
    adminKey: t.config.admin!.signingKeyFile,
  };
}

/** Where a restore puts the files, in a fresh folder: the broker started there with reuseDir finds them. */
export function filesIn(dir: string): BrokerFiles {
  return {
    keyring: path.join(dir, 'keyring.json'),
    auditKey: path.join(dir, 'audit-signing.key'),
    auditHeads: path.join(dir, 'audit-heads.jsonl'),
    auditDevice: path.join(dir, 'audit-device.jsonl'),
    adminKey: path.join(dir, 'admin-token.key'),
  };
}

export function storeArgs(store: StoreConfig): string[] {
  return store.kind === 'postgres' ? ['--database-url', store.url] : ['--data-dir', store.dataDir];
}

/** The admin certificate as files, for `exportfact backup` through a running broker. */
export function adminCertArgs(t: TestBroker, cert: TestCert): string[] {
  const dir = tempDir('admin-cert');
  return [
    '--admin-url',
    t.broker.adminUrl!,
    '--admin-cert',
    writePrivate(dir, 'admin.pem', cert.certPem),
    '--admin-key',
    writePrivate(dir, 'admin_key.pem', cert.keyPem),
    '--admin-ca',
    writePrivate(dir, 'ca.pem', t.pki.caBundlePem),
  ];
}

/** A fresh, empty store of the same kind to restore into, and a way to tell it is still empty. */
export async function freshStore(kind: StoreConfig['kind'], label: string) {
  if (kind === 'embedded') {
    const dataDir = path.join(tempDir(label), 'data');
    return {
      config: { kind, dataDir } as StoreConfig,
      isEmpty: async () => !fs.existsSync(dataDir),
      drop: async () => fs.rmSync(path.dirname(dataDir), { recursive: true, force: true }),
    };
  }
  const db = await createTestDatabase(label);
  return {
    config: { kind, url: db.url } as StoreConfig,
    isEmpty: async () => {
      const pg = await import('pg');
      const c = new pg.default.Client({ connectionString: db.url });
      await c.connect();
      try {
        const { rows } = await c.query(
          "SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'",
        );
        return rows[0].n === 0;
      } finally {
        await c.end();
      }
    },
    drop: () => db.drop(),
  };
}
