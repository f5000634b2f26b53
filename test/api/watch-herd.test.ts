// A change wakes every watcher of an environment at the same moment, and each asks for the
// view at the new version: the rows of that version must be read from the database once,
// not once per watcher (thousands of identical queries exhausted the pool: 503s at 6,000
// watchers). Real PostgreSQL; the store is the real one, with its queries counted.
import { expect } from 'chai';
import { openStore } from '../../src/db/open-store';
import type { Store } from '../../src/db/store';
import type { Caller } from '../../src/identity/caller';
import { testServices } from '../support/broker';
import { createTestDatabase, skipPg } from '../support/pg';

/** The store, with the view-rows queries it runs counted. */
function counting(store: Store): { store: Store; viewReads(): number } {
  let reads = 0;
  const counted = Object.create(store) as Store;
  counted.query = (sql, params) => {
    if (/FROM facts f JOIN fact_values v/.test(sql)) reads++;
    return store.query(sql, params);
  };
  return { store: counted, viewReads: () => reads };
}

describe('watch: a herd of woken watchers reads the new view once (PostgreSQL)', function () {
  this.timeout(60_000);
  let db: { url: string; drop(): Promise<void> };
  let store: Store;

  before(async function () {
    if (skipPg()) return this.skip();
    db = await createTestDatabase('watch_herd');
    store = await openStore({ kind: 'postgres', url: db.url });
  });
  after(async () => {
    await store?.close();
    await db?.drop();
  });

  it('2,000 callers asking at once for the view at a new version make one query, and each gets that version', async () => {
    const { store: counted, viewReads } = counting(store);
    const services = await testServices(counted);
    await services.start();
    try {
      const writer: Caller = { certname: 'writer.test', environment: 'production', extensions: {} };
      await services.facts.publish(writer, { category: 'db', name: 'url', value: 'one', sensitive: false, multi: false });
      const callers: Caller[] = Array.from({ length: 2_000 }, (_, i) => ({
        certname: `node${i}.test`,
        environment: 'production',
        extensions: {},
      }));
      await services.facts.view(callers[0]); // the rows of version 1 are cached now
      await services.facts.publish(writer, { category: 'db', name: 'url', value: 'two', sensitive: false, multi: false });
      const before = viewReads();
      const views = await Promise.all(callers.map((c) => services.facts.view(c)));
      expect(viewReads() - before).to.equal(1);
      for (const v of views) expect(JSON.parse(v.body).facts.db.url).to.equal('two');
      expect(new Set(views.map((v) => v.etag)).size, 'one tag per identity').to.equal(2_000);
    } finally {
      await services.close();
    }
  });
});
