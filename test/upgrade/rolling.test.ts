// Rolling upgrade of several brokers on one PostgreSQL: once a newer exportfact has migrated the
// database, a broker of the older release refuses to start (one line, exit 2, nothing changed),
// while the older brokers already running keep serving, reads and writes: migrations only add.
import fs from 'node:fs';
import { expect } from 'chai';
import pg from 'pg';
import { loadMigrations } from '../../src/db/migrate';
import { startTestBroker, tempDir } from '../support/broker';
import { runCli } from '../support/cli';
import { createTestDatabase, skipPg } from '../support/pg';
import { serveTlsArgs } from '../support/tls-files';

describe('rolling upgrade on one PostgreSQL', function () {
  this.timeout(120_000);
  before(function () {
    if (skipPg()) this.skip();
  });

  it('a newer schema stops a starting broker of this release, not the running ones', async () => {
    const db = await createTestDatabase('rolling');
    const running = await startTestBroker({ store: { kind: 'postgres', url: db.url } });
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    try {
      const alice = running.client(running.pki.clients.alice);
      expect((await alice.put('/v1/facts/db/url', { value: 'mysql://before' })).status).to.equal(201);

      // What the next release's migration does: adds a table and a column, and records its version.
      const future = loadMigrations().at(-1)!.version + 1;
      await sql.query('CREATE TABLE future_things (id integer PRIMARY KEY)');
      await sql.query('ALTER TABLE facts ADD COLUMN future_note text');
      await sql.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [future, `${future}_future`]);

      // The running broker goes on reading and writing.
      expect((await alice.put('/v1/facts/db/url', { value: 'mysql://after' })).status).to.equal(200);
      expect((await alice.put('/v1/facts/db/port', { value: 3306 })).status).to.equal(201);
      const view = await alice.get('/v1/facts');
      expect([view.status, view.json.facts.db]).to.deep.equal([200, { url: 'mysql://after', port: 3306 }]);
      expect((await running.broker.auditService.verify()).ok).to.equal(true);

      // A broker of this release started now: one line naming the versions, exit 2, no file made, no row changed.
      const dir = tempDir('rolling-tls');
      const cwd = tempDir('rolling-cwd');
      const started = await runCli(['serve', ...serveTlsArgs(running.pki, dir), '--listen', '127.0.0.1:0', '--database-url', db.url], {
        cwd,
      });
      expect(started.code, started.stderr).to.equal(2);
      expect(started.stderr.trim().split('\n')).to.deep.equal([
        `exportfact: database schema is at version ${future}, newer than this exportfact knows (${future - 1}): a newer exportfact has migrated it; upgrade exportfact on this host`,
      ]);
      expect(fs.readdirSync(cwd)).to.deep.equal([]);
      const versions = await sql.query('SELECT max(version)::int AS v, count(*)::int AS n FROM schema_migrations');
      expect(versions.rows[0]).to.deep.equal({ v: future, n: future });
      expect((await alice.get('/v1/facts')).status).to.equal(200);
    } finally {
      await sql.end();
      await running.close();
      await db.drop();
    }
  });
});
