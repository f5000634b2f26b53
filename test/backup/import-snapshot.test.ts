// The importer refuses a snapshot that is not what it claims, in one transaction that leaves the
// target as empty as it was: rows of the wrong shape, a table whose columns differ, a schema
// newer than this code or built by other migrations, counts that do not add up, a missing end.
import path from 'node:path';
import { expect } from 'chai';
import { exportSnapshot } from '../../src/backup/export-snapshot';
import { importSnapshot } from '../../src/backup/import-snapshot';
import { migrate } from '../../src/db/migrate';
import { openStore, openStoreAsIs } from '../../src/db/open-store';
import type { Store } from '../../src/db/store';
import { tempDir } from '../support/broker';

async function* linesOf(lines: string[]): AsyncGenerator<string> {
  yield* lines;
}

describe('importing a snapshot', function () {
  this.timeout(120_000);
  let snapshot: string[];
  let target: Store;

  before(async () => {
    const source = await openStore({ kind: 'embedded', dataDir: path.join(tempDir('import-src'), 'data') });
    await migrate(source);
    await source.query("INSERT INTO environments (name, view_version) VALUES ('production', 3)");
    await source.query(
      "INSERT INTO facts (environment, category, name, multi, sensitive, version) VALUES ('production', 'db', 'url', false, false, 1), ('production', 'db', 'port', false, false, 1)",
    );
    snapshot = [];
    await exportSnapshot(source, async (lines) => void snapshot.push(...lines));
    await source.close();
    target = await openStoreAsIs({ kind: 'embedded', dataDir: path.join(tempDir('import-dst'), 'data') });
  });
  after(() => target?.close());

  const tables = async () =>
    (
      await target.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()',
      )
    ).rows[0].n;
  const refused = async (lines: string[], message: RegExp) => {
    const err = await importSnapshot(target, linesOf(lines), 'the snapshot', 'the target').catch((e: Error) => e);
    expect(err, 'refused').to.be.instanceOf(Error);
    expect((err as Error).message).to.match(message);
    expect(await tables(), 'the target is as empty as before').to.equal(0);
  };
  const at = (pattern: RegExp) => snapshot.findIndex((l) => pattern.test(l));
  const replaced = (i: number, line: string) => snapshot.map((l, j) => (j === i ? line : l));

  it('refuses rows of the wrong shape, a table that differs, foreign or newer migrations, wrong counts, a missing end', async () => {
    const factsRow = at(/^\[\d+, "production", "db", "url"/);
    expect(factsRow).to.be.above(0);
    await refused(replaced(factsRow, '[1, "production"]'), /row\(s\) of facts are not arrays of its \d+ columns; nothing was written/);
    await refused(replaced(factsRow, '{"not": "a row"}'), /not a line of a snapshot/);

    const factsTable = at(/^\{"table":"facts"/);
    const changed = JSON.parse(snapshot[factsTable]);
    changed.columns[1].type = 'integer';
    await refused(replaced(factsTable, JSON.stringify(changed)), /table facts: the snapshot has columns .*environment integer/);

    const header = JSON.parse(snapshot[0]);
    const newer = { snapshot: { ...header.snapshot, schema_version: 9999, migrations: [...header.snapshot.migrations, '9999_future'] } };
    await refused(replaced(0, JSON.stringify(newer)), /schema version 9999 .* is newer than this exportfact knows/);
    const foreign = {
      snapshot: { ...header.snapshot, migrations: header.snapshot.migrations.map((m: string, i: number) => (i === 0 ? '0001_other' : m)) },
    };
    await refused(replaced(0, JSON.stringify(foreign)), /migrations .* are not this exportfact's/);

    const end = JSON.parse(snapshot[snapshot.length - 1]);
    end.end.rows.facts = 3;
    await refused(replaced(snapshot.length - 1, JSON.stringify(end)), /the end line counts 3 rows of facts, the stream holds 2/);
    await refused(snapshot.slice(0, -1), /ends before its end line: the snapshot is incomplete/);
    await refused(snapshot.slice(1), /a snapshot starts with its header/);
  });

  it('loads the snapshot as it is, identity values kept and their sequence past them', async () => {
    const r = await importSnapshot(target, linesOf(snapshot), 'the snapshot', 'the target');
    expect(r.rows).to.equal(Object.values(r.summary.rows).reduce((a, b) => a + b, 0));
    const facts = await target.query<{ id: number; name: string }>('SELECT id, name FROM facts ORDER BY id');
    expect(facts.rows.map((f) => f.name)).to.deep.equal(['url', 'port']);
    const next = await target.query<{ id: number }>(
      "INSERT INTO facts (environment, category, name, multi, sensitive, version) VALUES ('production', 'db', 'user', false, false, 1) RETURNING id",
    );
    expect(next.rows[0].id).to.equal(Math.max(...facts.rows.map((f) => f.id)) + 1);
    expect((await target.query<{ view_version: number }>('SELECT view_version FROM environments')).rows[0].view_version).to.equal(3);
    const again = await importSnapshot(target, linesOf(snapshot), 'the snapshot', 'the target').catch((e: Error) => e);
    expect((again as Error).message).to.match(/the target already holds an exportfact schema .*nothing was written/);
  });
});
