import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { EmbeddedStore } from '../../src/db/embedded-store';
import { loadMigrations, migrate } from '../../src/db/migrate';
import { PgStore } from '../../src/db/pg-store';
import type { Store } from '../../src/db/store';
import type { Caller } from '../../src/identity/caller';
import { tempDir, testServices } from '../support/broker';
import { createTestDatabase, skipPg } from '../support/pg';

const caller = (certname: string, environment = 'production'): Caller => ({ certname, environment, extensions: {} });

interface Backend {
  label: string;
  open(): Promise<{ store: Store; cleanup(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    label: 'embedded (PGlite)',
    async open() {
      const store = await EmbeddedStore.open(tempDir('store'));
      return { store, cleanup: () => store.close() };
    },
  },
  {
    label: 'PostgreSQL (pg)',
    async open() {
      const db = await createTestDatabase('store');
      const store = new PgStore(db.url, { max: 20 });
      return {
        store,
        async cleanup() {
          await store.close();
          await db.drop();
        },
      };
    },
  },
];

for (const backend of backends) {
  describe(`store: ${backend.label}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let facts: Awaited<ReturnType<typeof testServices>>['facts'];

    before(async function () {
      if (backend.label.startsWith('PostgreSQL') && skipPg()) this.skip();
      ({ store, cleanup } = await backend.open());
      await migrate(store);
      facts = (await testServices(store)).facts;
    });
    after(() => cleanup?.());

    it('migrates twice harmlessly, and refuses a schema newer than the code', async () => {
      expect(await migrate(store)).to.deep.equal([]);
      const { rows } = await store.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
      expect(rows[0].n).to.equal(loadMigrations().length);
      await store.query("INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future')");
      const err = await migrate(store).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).to.match(/newer than this exportfact knows/);
      await store.query('DELETE FROM schema_migrations WHERE version = 9999');
    });

    it('returns int8 as number and bytea as Buffer on both drivers', async () => {
      const { rows } = await store.query<{ big: number; bytes: Buffer }>(
        "SELECT 9007199254740991::int8 AS big, '\\x0102ff'::bytea AS bytes",
      );
      expect(rows[0].big).to.equal(9007199254740991);
      expect(Buffer.isBuffer(rows[0].bytes)).to.equal(true);
      expect([...rows[0].bytes]).to.deep.equal([1, 2, 255]);
    });

    it('rolls a failed transaction back', async () => {
      const err = await store
        .transaction(async (tx) => {
          await tx.query("INSERT INTO environments (name) VALUES ('rollback_probe')");
          throw new Error('boom');
        })
        .catch((e: Error) => e);
      expect((err as Error).message).to.equal('boom');
      const { rows } = await store.query("SELECT 1 FROM environments WHERE name = 'rollback_probe'");
      expect(rows).to.have.length(0);
    });

    it('loses no update and leaves no gap in versions under 50 concurrent publishes of one fact', async () => {
      const node = caller('db1.example.com');
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          facts.publish(node, { category: 'race', name: 'url', value: `v${i}`, sensitive: false, multi: false }),
        ),
      );
      const versions = results.map((r) => r.version).sort((a, b) => a - b);
      expect(versions).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 1));
      const { rows } = await store.query<{ version: number; value: string }>(
        "SELECT h.version, h.value FROM fact_history h JOIN facts f ON f.id = h.fact_id WHERE f.category = 'race' AND f.name = 'url' ORDER BY h.version",
      );
      expect(rows.map((r) => r.version)).to.deep.equal(versions);
      // The value in force is the one written last.
      const view = JSON.parse((await facts.view(node, 'race')).body);
      expect(view.facts.race.url).to.equal(rows[rows.length - 1].value);
    });

    it('lets exactly one of 20 nodes racing for a single fact win; the others get 409', async () => {
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          facts.publish(caller(`n${i}.example.com`), { category: 'race', name: 'owner', value: i, sensitive: false, multi: false }).then(
            () => 'won',
            (e: { code?: string }) => e.code,
          ),
        ),
      );
      expect(outcomes.filter((o) => o === 'won')).to.have.length(1);
      expect(outcomes.filter((o) => o === 'fact_owned_by_other')).to.have.length(19);
    });

    it('keeps every value of a per-node fact written by 50 nodes at once', async () => {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          facts.publish(caller(`mq${i}.example.com`), { category: 'race', name: 'mq', value: i, sensitive: false, multi: true }),
        ),
      );
      const view = JSON.parse((await facts.view(caller('reader'), 'race')).body);
      expect(Object.keys(view.per_node.race.mq)).to.have.length(50);
      const { rows } = await store.query<{ version: number }>("SELECT f.version FROM facts f WHERE f.category = 'race' AND f.name = 'mq'");
      expect(rows[0].version).to.equal(50);
    });

    it('prunes atomically while other writes go on', async () => {
      const node = caller('pruner.example.com');
      for (const name of ['a', 'b', 'c'])
        await facts.publish(node, { category: 'prune', name, value: name, sensitive: false, multi: false });
      const [withdrawn] = await Promise.all([
        facts.prune(node, [{ category: 'prune', name: 'a' }]),
        facts.publish(caller('other.example.com'), { category: 'prune', name: 'z', value: 1, sensitive: false, multi: false }),
      ]);
      expect(withdrawn.map((w) => w.name).sort()).to.deep.equal(['b', 'c']);
      expect((await facts.exports(node)).map((e) => e.name)).to.deep.equal(['a']);
    });
  });
}

describe('store: several brokers starting on one PostgreSQL at once', () => {
  it('apply each migration exactly once', async function () {
    if (skipPg()) this.skip();
    const db = await createTestDatabase('migrate');
    const stores = Array.from({ length: 4 }, () => new PgStore(db.url, { max: 2 }));
    try {
      const applied = await Promise.all(stores.map((s) => migrate(s)));
      expect(applied.flat().sort()).to.deep.equal(loadMigrations().map((m) => m.version));
      const { rows } = await stores[0].query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
      expect(rows[0].n).to.equal(loadMigrations().length);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await db.drop();
    }
  });
});

describe('store: embedded data folder', () => {
  it('refuses a second broker on the same folder, and keeps data across a reopen', async () => {
    const dir = tempDir('lock');
    const first = await EmbeddedStore.open(dir);
    await migrate(first);
    await (await testServices(first)).facts.publish(caller('db1'), {
      category: 'keep',
      name: 'me',
      value: 'still here',
      sensitive: false,
      multi: false,
    });
    const err = await EmbeddedStore.open(dir).then(
      (s) => s.close().then(() => null),
      (e: Error) => e,
    );
    expect(err?.message).to.match(/in use by another exportfact broker/);
    await first.close();
    const second = await EmbeddedStore.open(dir);
    try {
      const view = JSON.parse((await (await testServices(second)).facts.view(caller('reader'))).body);
      expect(view.facts.keep.me).to.equal('still here');
    } finally {
      await second.close();
    }
  });
});

describe('store: who holds the embedded data folder', () => {
  const said: string[] = [];
  const say = (message: string) => said.push(message);
  beforeEach(() => (said.length = 0));

  /** A lock as a process that is not running now left it: the lock directory and its holder file. */
  function leaveLock(dir: string, holder: { pid: number; host: string }): void {
    fs.mkdirSync(dir, { recursive: true });
    fs.mkdirSync(path.join(dir, 'broker.lock'));
    fs.writeFileSync(path.join(dir, 'broker.lock.holder'), JSON.stringify({ ...holder, since: new Date().toISOString() }));
  }

  it('takes over at once, and says so, a lock whose holder on this host is gone (kill -9)', async () => {
    const dir = tempDir('lock-dead');
    const gone = spawnSync(process.execPath, ['-e', 'process.pid']).pid as number;
    leaveLock(dir, { pid: gone, host: os.hostname() });
    expect(await EmbeddedStore.inUse(dir)).to.equal(false);
    // A staleness far beyond the test's timeout: only the holder check can let this open succeed.
    const store = await EmbeddedStore.open(dir, { lockStaleMs: 600_000, say });
    try {
      expect(said.join('\n')).to.match(/is gone .*taking its lock over/);
      const holder = JSON.parse(fs.readFileSync(path.join(dir, 'broker.lock.holder'), 'utf8'));
      expect(holder.pid).to.equal(process.pid);
    } finally {
      await store.close();
    }
    expect(fs.existsSync(path.join(dir, 'broker.lock.holder'))).to.equal(false);
  });

  it('says what it waits for when the holder cannot be checked (another host), then takes the stale lock', async () => {
    const dir = tempDir('lock-elsewhere');
    leaveLock(dir, { pid: 1, host: 'elsewhere.example.com' });
    const store = await EmbeddedStore.open(dir, { lockStaleMs: 2_000, say });
    await store.close();
    expect(said.join('\n')).to.match(/waiting up to 2 s for the lock to go stale/);
  });

  it('refuses a folder held by a live process, naming its pid, without waiting for staleness', async () => {
    const dir = tempDir('lock-live');
    const first = await EmbeddedStore.open(dir);
    try {
      const err = await EmbeddedStore.open(dir, { lockStaleMs: 600_000, say }).then(
        (s) => s.close().then(() => null),
        (e: Error & { code?: string }) => e,
      );
      expect(err?.code).to.equal('data_dir_locked');
      expect(err?.message).to.contain(`pid ${process.pid} on ${os.hostname()}`);
      expect(await EmbeddedStore.inUse(dir)).to.equal(true);
    } finally {
      await first.close();
    }
  });
});
