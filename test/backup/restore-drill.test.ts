// Restore drills, as an operator runs them: a broker with facts, secrets under two key ids (a
// rotation caught half-way), sightings and audit events is backed up with `exportfact backup`
// while it runs (through its admin API for the embedded folder it holds locked; straight from
// PostgreSQL otherwise), then restored with `exportfact restore` onto a fresh store and key
// folder. Every refusal is one line, exit 2, and writes nothing.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Manifest } from '../../src/backup/backup-manifest';
import type { StoreConfig } from '../../src/config/serve-config';
import { type TestBroker, tempDir } from '../support/broker';
import { runCli } from '../support/cli';
import { pgStoreConfigs } from '../support/pg';
import { eventually } from '../support/wait';
import {
  adminCertArgs,
  type Filled,
  fileArgs,
  filesIn,
  filesOf,
  fillBroker,
  freshStore,
  type Observed,
  observe,
  startDrillBroker,
  storeArgs,
} from './support';

const cli = (args: string[]) => runCli(args, { timeoutMs: 120_000 });
const oneLine = (stderr: string) =>
  stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('exportfact:'));

for (const storeCase of pgStoreConfigs('drill')) {
  describe(`backup and restore drill on the ${storeCase.label} store`, function () {
    this.timeout(300_000);
    let source: StoreConfig;
    let filled: Filled;
    let original: Observed;
    let out: string;
    let keysOut: string | undefined;
    let manifest: Manifest;
    let t2: TestBroker | undefined;
    let sourceOpen = false;
    const drops: (() => Promise<void>)[] = [];

    before(async () => {
      source = await storeCase.config();
      filled = await fillBroker(await startDrillBroker(source));
      sourceOpen = true;
      original = await observe(filled.t, filled.admin);
    });
    after(async () => {
      await t2?.close();
      if (sourceOpen) await filled.t.close();
      await storeCase.cleanup();
      for (const drop of drops) await drop();
    });

    it('backs up the running broker: database, keyring, signing keys and audit heads, 0600, manifest last', async () => {
      const t = filled.t;
      const dir = tempDir('backup');
      out = path.join(dir, 'out');
      fs.mkdirSync(out); // an empty folder is fine
      // The keys apart from the database copy on PostgreSQL; inside the backup on the embedded store.
      keysOut = storeCase.label === 'postgres' ? path.join(dir, 'keys-elsewhere') : undefined;
      const online = storeCase.label === 'embedded' ? adminCertArgs(t, filled.adminCert) : [];
      const r = await cli([
        'backup',
        '--out',
        out,
        ...(keysOut ? ['--keys-out', keysOut] : []),
        ...storeArgs(source),
        ...fileArgs(filesOf(t)),
        ...online,
      ]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^backup written to /);
      if (storeCase.label === 'embedded') expect(r.stderr).to.match(/a running broker holds .*through its admin API/);

      manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
      expect(original.perKey).to.have.keys(filled.oldKey, filled.newKey); // the rotation is half-way
      expect(manifest.keys.needed).to.have.members([filled.oldKey, filled.newKey]);
      expect(manifest.audit_chain!.seq).to.be.at.least(original.chain.length);
      expect(manifest.rows.secret_versions).to.equal(original.perKey[filled.oldKey] + original.perKey[filled.newKey]);
      expect(manifest.rows).to.not.have.property('brokers');
      const keysDir = keysOut ?? path.join(out, 'keys');
      expect(manifest.key_files.map((f) => f.role)).to.have.members(['keyring', 'audit_key', 'admin_key', 'audit_heads', 'audit_device']);
      for (const f of [
        ...fs.readdirSync(out).map((n) => path.join(out, n)),
        ...fs.readdirSync(keysDir).map((n) => path.join(keysDir, n)),
      ]) {
        const mode = fs.statSync(f).mode & 0o777;
        expect(mode, f).to.equal(fs.statSync(f).isDirectory() ? 0o700 : 0o600);
      }
      expect(fs.readdirSync(dir).filter((n) => n.includes('.partial-'))).to.deep.equal([]);
      // No secret in the clear anywhere in the backup's database copy.
      const dump = fs.readFileSync(path.join(out, 'database.ndjson'), 'utf8');
      for (const [, value] of original.secrets) expect(dump).to.not.contain(String(value));

      // Written after the snapshot: must not come back.
      expect((await t.client(t.pki.clients.alice).put('/v1/facts/db/after_backup', { value: 'later' })).status).to.equal(201);
      await t.broker.audit.signHead();
    });

    it('refuses a backup into a folder that is not empty, and leaves it as it was', async () => {
      const r = await cli([
        'backup',
        '--out',
        out,
        ...storeArgs(source),
        ...fileArgs(filesOf(filled.t)),
        ...adminCertArgs(filled.t, filled.adminCert),
      ]);
      expect(r.code).to.equal(2);
      expect(oneLine(r.stderr)).to.deep.equal([
        `exportfact: --out ${out} is not empty; a backup goes into a new or empty folder, nothing was written`,
      ]);
      expect(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'))).to.deep.equal(manifest);
    });

    it('refuses, writing nothing: a missing key, a wrong key, a changed file, an open key file, a used store, no manifest', async () => {
      sourceOpen = false;
      await filled.t.close();
      const keysDir = keysOut ?? path.join(out, 'keys');
      const keyring = JSON.parse(fs.readFileSync(path.join(keysDir, 'keyring.json'), 'utf8'));
      const work = tempDir('refusals');
      const copy = (name: string, skip: string[] = []) => {
        const to = path.join(work, name);
        fs.cpSync(out, to, { recursive: true, filter: (src) => !skip.includes(path.basename(src)) });
        return to;
      };
      const writeKeyring = (name: string, content: unknown) => {
        const file = path.join(work, name);
        fs.writeFileSync(file, JSON.stringify(content), { mode: 0o600 });
        return file;
      };
      const target = await freshStore(storeCase.label, 'refused');
      drops.push(target.drop);
      const targetFiles = filesIn(path.join(work, 'target-files'));
      const restore = (from: string, extra: string[], files = targetFiles) =>
        cli(['restore', '--from', from, ...storeArgs(target.config), ...fileArgs(files), ...extra]);
      const refused = async (r: Awaited<ReturnType<typeof restore>>, pattern: RegExp) => {
        expect(r.code, r.stderr + r.stdout).to.equal(2);
        const lines = oneLine(r.stderr);
        expect(lines).to.have.length(1);
        expect(lines[0]).to.match(pattern);
        expect(await target.isEmpty(), 'the target store is untouched').to.equal(true);
        expect(fs.existsSync(path.dirname(targetFiles.keyring)) ? fs.readdirSync(path.dirname(targetFiles.keyring)) : []).to.deep.equal([]);
      };

      // The keys folder left out of the copy: the keyring must then be at --keyring, and is checked there.
      const bare = copy('bare', ['keys']);
      const missing = writeKeyring('missing.json', {
        ...keyring,
        keys: keyring.keys.filter((k: { id: string }) => k.id !== filled.newKey),
      });
      await refused(
        await restore(bare, [], { ...targetFiles, keyring: missing }),
        new RegExp(`lacks key\\(s\\) ${filled.newKey} that the backup is sealed with`),
      );
      const wrong = writeKeyring('wrong.json', {
        ...keyring,
        keys: keyring.keys.map((k: { id: string }) => ({ ...k, key: Buffer.alloc(32, 7).toString('base64') })),
      });
      await refused(
        await restore(bare, [], { ...targetFiles, keyring: wrong }),
        /key \S+ does not open the key check of the backup \(wrong keyring\?\)/,
      );
      const otherFingerprint = writeKeyring('fingerprint.json', { ...keyring, fingerprint_key: Buffer.alloc(32, 9).toString('base64') });
      await refused(await restore(bare, [], { ...targetFiles, keyring: otherFingerprint }), /fingerprint_key is not the one/);
      await refused(
        await restore(bare, [], { ...targetFiles, keyring: path.join(work, 'absent.json') }),
        /holds no keys folder and keyring .* does not exist/,
      );

      const tampered = copy('tampered');
      const db = path.join(tampered, 'database.ndjson');
      fs.writeFileSync(db, fs.readFileSync(db, 'utf8').replace('mysql://db.test:3306/nova', 'mysql://evil.test:3306/nova'));
      await refused(
        await restore(tampered, keysOut ? ['--keys-from', keysOut] : []),
        /^exportfact: checksum mismatch: .*database\.ndjson is not the file the backup wrote/,
      );

      const openKeys = path.join(work, 'open-keys');
      fs.cpSync(keysDir, openKeys, { recursive: true });
      fs.chmodSync(path.join(openKeys, 'keyring.json'), 0o644);
      await refused(await restore(bare, ['--keys-from', openKeys]), /keyring .* is open to group or others \(mode 0644\)/);
      const changedKeys = path.join(work, 'changed-keys');
      fs.cpSync(keysDir, changedKeys, { recursive: true });
      fs.appendFileSync(path.join(changedKeys, 'audit-heads.jsonl'), '{"seq": 1}\n');
      await refused(await restore(bare, ['--keys-from', changedKeys]), /checksum mismatch: .*audit-heads\.jsonl/);

      await refused(
        await restore(copy('no-manifest', ['manifest.json']), keysOut ? ['--keys-from', keysOut] : []),
        /holds no manifest\.json: not a complete backup/,
      );

      // A key file already at its place with other content is never overwritten.
      fs.mkdirSync(path.join(work, 'taken'), { mode: 0o700 });
      const taken = filesIn(path.join(work, 'taken'));
      fs.writeFileSync(taken.auditKey, 'someone else\n', { mode: 0o600 });
      const r = await restore(out, keysOut ? ['--keys-from', keysOut] : [], taken);
      expect(r.code).to.equal(2);
      expect(oneLine(r.stderr)[0]).to.match(/audit signing key .* exists and differs from the backup's; restore never overwrites it/);
      expect(fs.readdirSync(path.join(work, 'taken'))).to.deep.equal(['audit-signing.key']);
      expect(await target.isEmpty()).to.equal(true);

      // A store that already holds something.
      const used = await freshStore(storeCase.label, 'used');
      drops.push(used.drop);
      if (used.config.kind === 'embedded') {
        fs.mkdirSync(used.config.dataDir, { recursive: true });
        fs.writeFileSync(path.join(used.config.dataDir, 'notes.txt'), 'mine');
      } else {
        const pg = (await import('pg')).default;
        const c = new pg.Client({ connectionString: used.config.url });
        await c.connect();
        await c.query('CREATE TABLE mine (x int)');
        await c.end();
      }
      const onUsed = await cli([
        'restore',
        '--from',
        out,
        ...storeArgs(used.config),
        ...fileArgs(targetFiles),
        ...(keysOut ? ['--keys-from', keysOut] : []),
      ]);
      expect(onUsed.code).to.equal(2);
      expect(oneLine(onUsed.stderr)[0]).to.match(
        used.config.kind === 'embedded' ? /--data-dir .* is not empty/ : /already holds tables \(mine\)/,
      );
      expect(fs.existsSync(targetFiles.keyring)).to.equal(false);
    });

    it('restores onto a fresh store: every secret decrypts, views and ETags as before, audit verify intact, the rotation completes', async () => {
      const target = await freshStore(storeCase.label, 'restored');
      drops.push(target.drop);
      const dir = tempDir('restored-files');
      const r = await cli([
        'restore',
        '--from',
        out,
        ...(keysOut ? ['--keys-from', keysOut] : []),
        ...storeArgs(target.config),
        ...fileArgs(filesIn(dir)),
      ]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^restored \d+ rows into /);
      for (const f of Object.values(filesIn(dir))) expect(fs.statSync(f).mode & 0o777, f).to.equal(0o600);

      t2 = await startDrillBroker(target.config, dir);
      const after = await observe(t2, t2.adminClient(await t2.pki.issueClientCert({ certname: 'ops.admin.test' })));
      expect(after.secrets).to.deep.equal(original.secrets);
      expect(after.views.alice).to.deep.equal(original.views.alice); // same body, same ETag
      expect(after.views.bob).to.deep.equal(original.views.bob);
      const cached = await t2.client(t2.pki.clients.alice).get('/v1/facts', { headers: { 'If-None-Match': original.views.alice.etag } });
      expect(cached.status).to.equal(304);
      expect(after.chain.slice(0, original.chain.length)).to.deep.equal(original.chain);
      expect(after.coveredSightings).to.equal(original.coveredSightings);

      const report = await t2.broker.auditService.verify();
      expect(report.problems).to.deep.equal([]);
      expect(report.ok).to.equal(true);
      expect(report.external_heads, 'the heads file came back with the keys').to.be.at.least(1);
      expect(report.device_entries, 'and the audit device, up to the snapshot').to.be.at.least(manifest.audit_chain!.seq);
      expect(report.signed_through).to.be.at.least(1);

      // Identity columns go on after the restored ids: a new fact, a new secret.
      const alice = t2.client(t2.pki.clients.alice);
      expect((await alice.put('/v1/facts/db/after_restore', { value: 'new' })).status).to.equal(201);
      expect((await alice.put('/v1/facts/svc/after_restore', { value: 'new secret', sensitive: true })).status).to.equal(201);
      expect((await alice.get('/v1/facts')).json.facts.db).to.not.have.property('after_backup');

      // The rotation the backup caught half-way goes on in the restored broker, and every value still opens.
      await eventually('the rotation finishes', async () => (await t2!.broker.keyRotation.status()).rotations[0].state === 'done', 60_000);
      const keys = await t2.broker.store.query<{ key_id: string }>(
        'SELECT DISTINCT key_id FROM secret_versions WHERE ciphertext IS NOT NULL',
      );
      expect(keys.rows.map((k) => k.key_id)).to.deep.equal([filled.newKey]);
      const again = await observe(t2, t2.adminClient(await t2.pki.issueClientCert({ certname: 'ops.admin.test' })));
      expect(new Map([...again.secrets].filter(([k]) => !k.startsWith('svc.after_restore@')))).to.deep.equal(original.secrets);
      expect(again.secrets.get('svc.after_restore@1')).to.equal('new secret');
      expect((await t2.broker.auditService.verify()).ok).to.equal(true);
    });
  });
}
