// Outgrowing the embedded store: `exportfact migrate-store --from-data-dir D --to-database-url U`
// moves everything into PostgreSQL (the same snapshot as a backup, piped into the importer),
// and a broker started on U with the same keyring, audit key and heads file serves what the
// embedded one served: secrets, views and ETags, an intact audit chain.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { type TestBroker, tempDir } from '../support/broker';
import { runCli } from '../support/cli';
import { createTestDatabase, skipPg } from '../support/pg';
import { eventually } from '../support/wait';
import { ADMIN, fillBroker, observe, startDrillBroker } from './support';

const tables = async (url: string) => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (
      await c.query("SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'")
    ).rows[0].n;
  } finally {
    await c.end();
  }
};

describe('migrate-store: from the embedded store to PostgreSQL', function () {
  this.timeout(180_000);
  before(function () {
    if (skipPg()) this.skip();
  });

  it('refuses while a broker holds the folder or the database holds data, then moves everything', async () => {
    const dataDir = path.join(tempDir('move'), 'data');
    const filled = await fillBroker(await startDrillBroker({ kind: 'embedded', dataDir }));
    const files = path.dirname(filled.t.config.keyring.file);
    const original = await observe(filled.t, filled.admin);
    const target = await createTestDatabase('move');
    const used = await createTestDatabase('move_used');
    let moved: TestBroker | undefined;
    let sourceOpen = true;
    try {
      const busy = await runCli(['migrate-store', '--from-data-dir', dataDir, '--to-database-url', target.url]);
      expect(busy.code).to.equal(2);
      expect(busy.stderr.trim()).to.match(/^exportfact: --from-data-dir \S+ is in use by a running broker: stop it first/);
      expect(await tables(target.url)).to.equal(0);
      await filled.t.broker.audit.signHead();
      sourceOpen = false;
      await filled.t.close();

      const c = new pg.Client({ connectionString: used.url });
      await c.connect();
      await c.query('CREATE TABLE mine (x int)');
      await c.end();
      const full = await runCli(['migrate-store', '--from-data-dir', dataDir, '--to-database-url', used.url]);
      expect(full.code).to.equal(2);
      expect(full.stderr.trim()).to.match(/already holds tables \(mine\); restore only into an empty one/);
      expect(await tables(used.url)).to.equal(1);

      const r = await runCli(['migrate-store', '--from-data-dir', dataDir, '--to-database-url', target.url]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^moved \d+ rows from /);
      expect(fs.existsSync(path.join(dataDir, 'pgdata')), 'the embedded folder is left as it was').to.equal(true);

      moved = await startDrillBroker({ kind: 'postgres', url: target.url }, files);
      const admin = moved.adminClient(await moved.pki.issueClientCert({ certname: ADMIN }));
      const after = await observe(moved, admin);
      expect(after.secrets).to.deep.equal(original.secrets);
      expect(after.views).to.deep.equal(original.views);
      expect(after.chain.slice(0, original.chain.length)).to.deep.equal(original.chain);
      expect(after.coveredSightings).to.equal(original.coveredSightings);
      const report = await moved.broker.auditService.verify();
      expect(report.problems).to.deep.equal([]);
      expect(report.external_heads).to.be.at.least(1);
      await eventually(
        'the rotation held half-way finishes on PostgreSQL',
        async () => (await moved!.broker.keyRotation.status()).rotations[0].state === 'done',
        60_000,
      );
      expect((await observe(moved, admin)).secrets).to.deep.equal(original.secrets);
    } finally {
      await moved?.close();
      if (sourceOpen) await filled.t.close();
      await target.drop();
      await used.drop();
    }
  });
});
