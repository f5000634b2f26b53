// Upgrading from exportfact 0.1.0: the database that release made (test/fixtures/upgrade/v0.1.0,
// schema 0001-0004, made by its own broker: see the README there) is loaded into a fresh
// PostgreSQL database and a fresh embedded store, and the current broker is started on it
// (migrations 0005 and later apply). Every fact, secret version and audit entry must come
// through: values served as before, every sealed value opening with the old keyring, the chain
// verifying intact with the old heads trusted under the old audit key. A third case backs the
// old store up with today's `exportfact backup` before upgrading and restores it into
// PostgreSQL, where the newer migrations run after the rows.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import type { StoreConfig } from '../../src/config/serve-config';
import { EmbeddedStore } from '../../src/db/embedded-store';
import { loadMigrations } from '../../src/db/migrate';
import { PgStore } from '../../src/db/pg-store';
import type { Store } from '../../src/db/store';
import { Keyring } from '../../src/secrets/keyring';
import { SecretVault } from '../../src/secrets/secret-vault';
import { startTestBroker, type TestBroker, tempDir } from '../support/broker';
import { REPO_ROOT, runCli } from '../support/cli';
import { createTestDatabase, skipPg } from '../support/pg';
import { sealedVersions } from '../support/sealed';

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'upgrade', 'v0.1.0');
const ADMIN = 'ops.admin.test';
const expectedSecrets: Record<string, string> = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'expected-secrets.json'), 'utf8'));

/** What the old database holds, read before the current broker touches it. */
interface OldState {
  facts: { category: string; name: string; multi: boolean; exporter: string; value: unknown }[];
  chain: { seq: number; hash: string }[];
  heads: number;
  sealed: number;
}

/** The broker's files from the fixture, private as the broker demands (git keeps no 0600). */
function keyFolder(): string {
  const dir = tempDir('upgrade-keys');
  for (const f of ['keyring.json', 'audit-signing.key']) {
    fs.copyFileSync(path.join(FIXTURE, `test-${f}`), path.join(dir, f));
    fs.chmodSync(path.join(dir, f), 0o600);
  }
  return dir;
}

async function loadFixture(store: StoreConfig): Promise<void> {
  const sql = fs.readFileSync(path.join(FIXTURE, 'database.sql'), 'utf8');
  // pg_dump sets search_path to '' for its session: a session of its own, closed afterwards.
  if (store.kind === 'postgres') {
    const c = new pg.Client({ connectionString: store.url });
    await c.connect();
    await c.query(sql);
    await c.end();
  } else {
    const s = await EmbeddedStore.open(store.dataDir);
    await s.withLock(0, (db) => db.exec(sql));
    await s.close();
  }
}

const openAsIs = async (store: StoreConfig): Promise<Store> =>
  store.kind === 'postgres' ? new PgStore(store.url) : EmbeddedStore.open(store.dataDir);

/** Reads the old database as it is, and opens every sealed value with the old keyring. */
async function readOld(store: StoreConfig, keyringFile: string): Promise<OldState> {
  const s = await openAsIs(store);
  try {
    const version = await s.query<{ v: number }>('SELECT max(version)::int AS v FROM schema_migrations');
    expect(version.rows[0].v, 'the fixture is schema 0004').to.equal(4);
    const facts = await s.query<OldState['facts'][number]>(
      `SELECT f.category, f.name, f.multi, v.exporter, v.value FROM facts f JOIN fact_values v ON v.fact_id = f.id
        WHERE f.environment = 'production' AND NOT f.sensitive ORDER BY 1, 2, 4`,
    );
    const chain = await s.query<{ seq: number; hash: Buffer }>('SELECT seq, hash FROM audit_events ORDER BY seq');
    const heads = await s.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_heads');
    const keyring = Keyring.load(keyringFile);
    const vault = new SecretVault(keyring, keyring.newestId);
    const sealed = await sealedVersions(s);
    const opened: Record<string, unknown> = {};
    for (const r of sealed) opened[`${r.environment}/${r.category}.${r.name}/${r.exporter}/${r.version}`] = await vault.open(r, r);
    expect(opened, 'every sealed value of 0.1.0 opens with its keyring and is what its broker handed out').to.deep.equal(expectedSecrets);
    return {
      facts: facts.rows,
      chain: chain.rows.map((r) => ({ seq: r.seq, hash: r.hash.toString('hex') })),
      heads: heads.rows[0].n,
      sealed: sealed.length,
    };
  } finally {
    await s.close();
  }
}

/** The current broker on the upgraded store, with the old keys (node TTL off: the fixture's nodes were last seen when it was made). */
function startUpgraded(store: StoreConfig, keys: string): Promise<TestBroker> {
  return startTestBroker({ store, reuseDir: keys, admin: { certnames: [ADMIN] }, nodes: { ttlSeconds: 0, purgeTtlSeconds: 0 } });
}

async function checkUpgraded(t: TestBroker, old: OldState): Promise<void> {
  const versions = await t.broker.store.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
  expect(versions.rows.map((r) => r.version)).to.deep.equal(loadMigrations().map((m) => m.version));

  // Every plain fact, served as 0.1.0 stored it; a cached view answers 304.
  const reader = t.client(t.pki.clients.alice);
  const view = await reader.get('/v1/facts');
  expect(view.status).to.equal(200);
  const facts: Record<string, Record<string, unknown>> = {};
  const perNode: Record<string, Record<string, Record<string, unknown>>> = {};
  for (const f of old.facts) {
    if (f.multi) ((perNode[f.category] ??= {})[f.name] ??= {})[f.exporter] = f.value;
    else (facts[f.category] ??= {})[f.name] = f.value;
  }
  expect(Object.keys(facts).length, 'the fixture has plain facts').to.be.at.least(2);
  expect(view.json.facts).to.deep.equal(facts);
  expect(view.json.per_node).to.deep.equal(perNode);
  expect((await reader.get('/v1/facts', { headers: { 'If-None-Match': view.headers.etag as string } })).status).to.equal(304);

  // Every secret version an admin may still read opens; a previous one past its grace is destroyed, as designed.
  const admin = t.adminClient(await t.pki.issueClientCert({ certname: ADMIN }));
  let shown = 0;
  for (const [key, value] of Object.entries(expectedSecrets)) {
    const [, fact, exporter, version] = /^[^/]+\/([^/]+)\/([^/]+)\/(\d+)$/.exec(key)!;
    const [category, name] = fact.split('.');
    const r = await admin.get(`/admin/v1/secrets/${category}/${name}?version=${version}`);
    if (r.status === 404) {
      const { rows } = await t.broker.store.query<{ expires_at: Date | null }>(
        'SELECT s.expires_at FROM secret_versions s JOIN facts f ON f.id = s.fact_id WHERE f.category = $1 AND f.name = $2 AND s.version = $3',
        [category, name, Number(version)],
      );
      expect(rows[0].expires_at!.getTime(), `${key} is unreadable only past its grace`).to.be.below(Date.now());
      continue;
    }
    expect(r.status, r.text).to.equal(200);
    expect(r.json.values.find((v: { exporter: string }) => v.exporter === exporter)?.value).to.equal(value);
    shown++;
  }
  expect(shown, 'every current version at least').to.be.at.least(3);

  // The old chain, entry for entry, verified intact, its heads trusted under the old audit key.
  const chain = await t.broker.store.query<{ seq: number; hash: Buffer }>('SELECT seq, hash FROM audit_events ORDER BY seq');
  expect(chain.rows.slice(0, old.chain.length).map((r) => ({ seq: r.seq, hash: r.hash.toString('hex') }))).to.deep.equal(old.chain);
  expect(old.heads).to.be.at.least(1);
  const report = await t.broker.auditService.verify();
  expect(report.problems).to.deep.equal([]);
  expect(report.ok).to.equal(true);
  expect(report.untrusted_heads).to.equal(0);
  expect(report.signed_through).to.be.at.least(old.chain[old.chain.length - 1].seq);
  expect(report.sightings.uncovered, "0.1.0's sightings predate the chain's coverage").to.be.at.least(1);
}

describe('upgrade from exportfact 0.1.0', function () {
  this.timeout(180_000);

  /** Loads 0.1.0's fixture into store, reads it as 0.1.0 left it, upgrades and checks nothing was lost. */
  async function upgradeAndCheck(store: StoreConfig): Promise<void> {
    const keys = keyFolder();
    await loadFixture(store);
    const old = await readOld(store, path.join(keys, 'keyring.json'));
    const t = await startUpgraded(store, keys);
    try {
      await checkUpgraded(t, old);
    } finally {
      await t.close();
    }
  }

  it('on the embedded store: the current broker migrates the old folder and serves everything it held', async () => {
    await upgradeAndCheck({ kind: 'embedded', dataDir: path.join(tempDir('upgrade'), 'data') });
  });

  it('on PostgreSQL: the current broker migrates the old database and serves everything it held', async function () {
    if (skipPg()) this.skip();
    const db = await createTestDatabase('upgrade');
    try {
      await upgradeAndCheck({ kind: 'postgres', url: db.url });
    } finally {
      await db.drop();
    }
  });

  it('backed up before the upgrade and restored into PostgreSQL: the newer migrations run after the rows', async function () {
    if (skipPg()) this.skip();
    const source: StoreConfig = { kind: 'embedded', dataDir: path.join(tempDir('upgrade-src'), 'data') };
    const keys = keyFolder();
    await loadFixture(source);
    const old = await readOld(source, path.join(keys, 'keyring.json'));
    const out = path.join(tempDir('upgrade-backup'), 'backup');
    const files = (dir: string) => [
      '--keyring',
      `${dir}/keyring.json`,
      '--audit-key',
      `${dir}/audit-signing.key`,
      '--admin-signing-key',
      `${dir}/admin-token.key`,
    ];
    const backup = await runCli(['backup', '--out', out, '--data-dir', source.dataDir, ...files(keys)]);
    expect(backup.code, backup.stderr).to.equal(0);
    expect(backup.stdout).to.match(/schema version 4 \(exportfact /);
    expect(backup.stdout).to.match(/note: no admin token signing key at /);

    const db = await createTestDatabase('upgrade-restore');
    const restored = tempDir('upgrade-restored');
    try {
      const restore = await runCli(['restore', '--from', out, '--database-url', db.url, ...files(restored)]);
      expect(restore.code, restore.stderr).to.equal(0);
      const newer = loadMigrations()
        .filter((m) => m.version > 4)
        .map((m) => m.version);
      expect(restore.stdout).to.contain(`migrations applied after the backup's rows: ${newer.join(', ')}`);
      const t = await startUpgraded({ kind: 'postgres', url: db.url }, restored);
      try {
        await checkUpgraded(t, old);
      } finally {
        await t.close();
      }
    } finally {
      await db.drop();
    }
  });
});
