import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { tempDir } from '../support/broker';
import { runCli, startServe } from '../support/cli';
import { Client } from '../support/client';
import { createTestDatabase, skipPg } from '../support/pg';
import { getTestPki, type TestPki } from '../support/pki';
import { serveTlsArgs } from '../support/tls-files';
import { eventually } from '../support/wait';

describe('keyring at start and on reload (the serve command)', function () {
  this.timeout(120_000);
  let pki: TestPki;
  let dir: string;
  let db: { url: string; drop(): Promise<void> };
  let tlsArgs: string[];
  const keyring = () => path.join(dir, 'keyring.json');

  before(async function () {
    if (skipPg()) return this.skip();
    pki = await getTestPki();
    dir = tempDir('keyring');
    tlsArgs = [...serveTlsArgs(pki, dir), '--listen', '127.0.0.1:0'];
    db = await createTestDatabase('keyring');
    // A store that holds a secret, sealed with the keyring this first start creates.
    const first = await startServe([...tlsArgs, '--database-url', db.url, '--keyring', keyring()]);
    await new Client(first.url, pki.caBundlePem, pki.clients.alice).put('/v1/facts/db/password', { value: 'held-secret', sensitive: true });
    await first.stop();
  });
  after(() => db?.drop());

  const brokersRows = async () => {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const r = await c.query('SELECT (SELECT count(*) FROM brokers)::int AS brokers, (SELECT count(*) FROM key_checks)::int AS checks');
    await c.end();
    return r.rows[0];
  };

  it('refuses a keyring others can read', async () => {
    fs.chmodSync(keyring(), 0o644);
    try {
      const r = await runCli(['serve', ...tlsArgs, '--database-url', db.url, '--keyring', keyring()]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(
        /^exportfact: keyring .* is open to group or others \(mode 0644\); it must be 0600 or stricter.*chmod 600.*\n$/,
      );
    } finally {
      fs.chmodSync(keyring(), 0o600);
    }
  });

  it('refuses to start without the keyring when the store holds secrets, and creates none', async () => {
    const missing = path.join(dir, 'absent.json');
    const before = await brokersRows();
    const r = await runCli(['serve', ...tlsArgs, '--database-url', db.url, '--keyring', missing]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/the store holds secrets sealed with key\(s\) .* but keyring .*absent\.json does not exist/);
    expect(fs.existsSync(missing)).to.equal(false);
    expect(await brokersRows()).to.deep.equal(before);
  });

  it('refuses a keyring whose key under the same id is another key, and writes nothing', async () => {
    const wrong = JSON.parse(fs.readFileSync(keyring(), 'utf8'));
    wrong.keys[0].key = Buffer.alloc(32, 7).toString('base64');
    const wrongFile = path.join(dir, 'wrong.json');
    fs.writeFileSync(wrongFile, JSON.stringify(wrong), { mode: 0o600 });
    const before = await brokersRows();
    const r = await runCli(['serve', ...tlsArgs, '--database-url', db.url, '--keyring', wrongFile]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/key .* is not the key this store was sealed with/);
    expect(await brokersRows()).to.deep.equal(before);
  });

  it('refuses a keyring whose fingerprint_key is another key, and writes nothing', async () => {
    const wrong = JSON.parse(fs.readFileSync(keyring(), 'utf8'));
    wrong.fingerprint_key = Buffer.alloc(32, 9).toString('base64');
    const wrongFile = path.join(dir, 'wrong-fingerprint.json');
    fs.writeFileSync(wrongFile, JSON.stringify(wrong), { mode: 0o600 });
    const before = await brokersRows();
    const r = await runCli(['serve', ...tlsArgs, '--database-url', db.url, '--keyring', wrongFile]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(
      /^exportfact: keyring .*wrong-fingerprint\.json: fingerprint_key is not the key this store's fingerprints were made with/,
    );
    expect(await brokersRows()).to.deep.equal(before);
  });

  it('takes the keyring from EXPORTFACT_KEYRING_JSON, and reads the held secret with it', async () => {
    const serve = await startServe([...tlsArgs, '--database-url', db.url], {
      env: { EXPORTFACT_KEYRING_JSON: fs.readFileSync(keyring(), 'utf8') },
    });
    try {
      const r = await new Client(serve.url, pki.caBundlePem, pki.clients.alice).get('/v1/secrets/db/password');
      expect(r.json.value).to.equal('held-secret');
    } finally {
      await serve.stop();
    }
  });

  it('reloads the keyring on SIGHUP, and keeps the old keys when the new file is broken', async () => {
    const serve = await startServe([...tlsArgs, '--database-url', db.url, '--keyring', keyring()]);
    try {
      const saved = fs.readFileSync(keyring(), 'utf8');
      fs.writeFileSync(keyring(), '{ not json', { mode: 0o600 });
      serve.child.kill('SIGHUP');
      await eventually('the broken keyring refused', () => /keyring refused; keeping the keys in force/.test(serve.output()));
      expect((await new Client(serve.url, pki.caBundlePem, pki.clients.alice).get('/v1/secrets/db/password')).json.value).to.equal(
        'held-secret',
      );
      fs.writeFileSync(keyring(), saved, { mode: 0o600 });
      const added = await runCli(['keys', 'add', '--keyring', keyring()]);
      expect(added.code).to.equal(0, added.stderr);
      serve.child.kill('SIGHUP');
      // The file watcher may reload first (on the rewrite); the new key shows the SIGHUP's reload.
      await eventually('the keyring reloaded with the added key', () => serve.output().includes(added.stdout.trim()));
      expect(serve.output()).to.match(/"msg":"keyring reloaded"/);
      expect(serve.output()).to.contain(added.stdout.trim());
    } finally {
      await serve.stop();
    }
  });
});
