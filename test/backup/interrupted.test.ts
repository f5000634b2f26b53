// An interrupted backup leaves nothing `restore` would accept: the work happens in a staging
// folder beside --out, the manifest is written last, and only a complete folder is renamed to
// --out. A failure cleans up after itself; a killed process leaves a `.partial-` folder that
// holds no manifest.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { takeBackup } from '../../src/backup/backup';
import { stateFiles } from '../../src/config/state-files';
import { migrate } from '../../src/db/migrate';
import { openStore } from '../../src/db/open-store';
import { createKeyringFile } from '../../src/secrets/keyring';
import { tempDir } from '../support/broker';
import { CLI, runCli } from '../support/cli';
import { eventually } from '../support/wait';

const HEADER = JSON.stringify({
  snapshot: {
    format: 1,
    exportfact_version: '0.0.0',
    store: 'embedded',
    taken_at: new Date().toISOString(),
    schema_version: 0,
    migrations: [],
  },
});
const TABLE = JSON.stringify({ table: 'things', columns: [{ name: 'id', type: 'integer' }], identity: [], primary_key: ['id'] });

describe('an interrupted backup', function () {
  this.timeout(120_000);
  let dir: string;
  let files: ReturnType<typeof stateFiles>;
  const leftovers = () => fs.readdirSync(dir).filter((n) => n.startsWith('out'));

  beforeEach(() => {
    dir = tempDir('interrupted');
    files = stateFiles({ keyring: path.join(dir, 'keyring.json'), auditKey: path.join(dir, 'audit-signing.key') });
    createKeyringFile(files.keyring);
  });

  it('leaves no folder behind when the snapshot fails part-way (a cut connection)', async () => {
    const err = await takeBackup({
      out: path.join(dir, 'out'),
      keysOut: path.join(dir, 'out-keys'),
      files,
      snapshot: async (write) => {
        await write([HEADER, TABLE, '[1]', '[2]']);
        throw new Error('read ECONNRESET');
      },
    }).catch((e: Error) => e);
    expect((err as Error).message).to.equal('read ECONNRESET');
    expect(leftovers()).to.deep.equal([]);
  });

  it('refuses a snapshot that stops before its end line, or ends with the broker saying the export failed', async () => {
    for (const [lines, message] of [
      [[HEADER, TABLE, '[1]'], /the snapshot ends before its end line: the snapshot is incomplete/],
      [[HEADER, TABLE, '[1]', JSON.stringify({ error: 'the export failed: boom' })], /the export failed: boom/],
      [[TABLE], /a snapshot starts with its header/],
    ] as const) {
      const err = await takeBackup({ out: path.join(dir, 'out'), files, snapshot: (write) => write([...lines]) }).catch((e: Error) => e);
      expect((err as Error).message).to.match(message);
      expect(leftovers()).to.deep.equal([]);
    }
  });

  it('killed with SIGKILL part-way: --out does not exist, and restore refuses what is left', async () => {
    const dataDir = path.join(dir, 'data');
    const store = await openStore({ kind: 'embedded', dataDir });
    await migrate(store);
    // Enough rows that the export takes a while (the kill lands while it runs).
    await store.query(
      `INSERT INTO facts (environment, category, name, multi, sensitive, version)
       SELECT 'production', 'c' || (i / 1000), 'f' || (i % 1000), false, false, 1 FROM generate_series(0, 59999) AS i`,
    );
    await store.close();
    const out = path.join(dir, 'out');
    const child = spawn(process.execPath, [CLI, 'backup', '--out', out, '--data-dir', dataDir, '--keyring', files.keyring], { cwd: dir });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    const partial = () => fs.readdirSync(dir).find((n) => n.startsWith('out.partial-'));
    await eventually('the backup has started writing', () => Boolean(partial()) || child.exitCode !== null, 60_000, 10);
    expect(child.exitCode, `the backup ended before it could be interrupted: ${stderr}`).to.equal(null);
    child.kill('SIGKILL');
    await exited;

    expect(fs.existsSync(out)).to.equal(false);
    const left = path.join(dir, partial()!);
    expect(fs.readdirSync(left)).to.not.include('manifest.json');
    const r = await runCli(['restore', '--from', left, '--data-dir', path.join(dir, 'restored'), '--keyring', files.keyring]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/holds no manifest\.json: not a complete backup/);
    expect(fs.existsSync(path.join(dir, 'restored'))).to.equal(false);
  });
});
