// `exportfact watch`: a long-running client with a node's Puppet ssldir that runs a command
// with the view on stdin at start and on each change, never twice for one view, failing
// over between brokers. Real CLI process, real mTLS, real brokers.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { READ_ALL_SECRETS, startTestBroker, type TestBroker, tempDir } from '../support/broker';
import { CLI, runCli } from '../support/cli';
import type { Client } from '../support/client';
import { createTestDatabase, skipPg } from '../support/pg';
import { getTestPki, type TestCert } from '../support/pki';
import { eventually, sleep } from '../support/wait';

/** A Puppet-style ssldir for one node: certs/ca.pem, certs/NAME.pem, private_keys/NAME.pem. */
function ssldirFor(cert: TestCert, ca: string): string {
  const dir = tempDir('ssldir');
  fs.mkdirSync(path.join(dir, 'certs'));
  fs.mkdirSync(path.join(dir, 'private_keys'), { mode: 0o700 });
  fs.writeFileSync(path.join(dir, 'certs', 'ca.pem'), ca);
  fs.writeFileSync(path.join(dir, 'certs', `${cert.certname}.pem`), cert.certPem);
  fs.writeFileSync(path.join(dir, 'private_keys', `${cert.certname}.pem`), cert.keyPem, { mode: 0o600 });
  return dir;
}

/** The parts of a view these tests look at. */
interface View {
  facts: Record<string, Record<string, unknown>>;
  secrets: Record<string, Record<string, { version: number }>>;
}

/**
 * A running `exportfact watch` whose command saves each stdin as runs/N.json and each
 * EXPORTFACT_ETAG as a line of etags.
 */
class Watch {
  readonly out = tempDir('watch-runs');
  readonly child: ChildProcess;
  private stderr = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    // The view lands under its final name only once whole (mv), so a reader never sees half of it.
    const command = `n=$(ls "${this.out}/runs" | wc -l); cat > "${this.out}/partial"; printf '%s\\n' "$EXPORTFACT_ETAG" >> "${this.out}/etags"; mv "${this.out}/partial" "${this.out}/runs/$n.json"`;
    fs.mkdirSync(path.join(this.out, 'runs'));
    this.child = spawn(process.execPath, [CLI, 'watch', ...args, '--exec', command], { stdio: ['ignore', 'inherit', 'pipe'] });
    this.child.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get log(): string {
    return this.stderr;
  }

  /** The views the command got, in order. */
  runs(): { text: string; json: View }[] {
    const files = fs.readdirSync(path.join(this.out, 'runs')).sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
    return files.map((f) => {
      const text = fs.readFileSync(path.join(this.out, 'runs', f), 'utf8');
      return { text, json: JSON.parse(text) as View };
    });
  }

  etags(): string[] {
    const file = path.join(this.out, 'etags');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n') : [];
  }

  async untilRuns(n: number, withinMs = 10_000): Promise<number> {
    return eventually(`${n} runs of the command (log: ${this.stderr})`, () => this.runs().length >= n, withinMs, 20);
  }

  async stop(): Promise<number | null> {
    this.child.kill('SIGTERM');
    return this.exited;
  }
}

describe('exportfact watch (real CLI, real mTLS)', function () {
  this.timeout(60_000);
  let t: TestBroker;
  let alice: Client;
  let bob: Client;
  let ssldir: string;
  let watch: Watch | undefined;

  before(async () => {
    t = await startTestBroker({ policy: READ_ALL_SECRETS, admin: { certnames: ['carol.test'] } });
    alice = t.client(t.pki.clients.alice);
    bob = t.client(t.pki.clients.bob);
    ssldir = ssldirFor(t.pki.clients.bob, t.pki.caBundlePem);
    expect((await alice.put('/v1/facts/db/url', { value: 'mysql://db1/nova' })).status).to.equal(201);
  });
  afterEach(async () => {
    if (watch?.child.exitCode === null) await watch.stop();
    watch = undefined;
  });
  after(() => t?.close());

  it('runs the command with the first view, then once per change, with the view on stdin; never twice for one view', async () => {
    watch = new Watch(['--ssldir', ssldir, '--certname', 'bob.test', '--server-url', t.broker.url, '--wait', '1s']);
    await watch.untilRuns(1);
    const first = await bob.get('/v1/facts');
    expect(watch.runs()[0].text).to.equal(first.text);
    expect(watch.etags()).to.deep.equal([first.headers.etag]);

    const published = Date.now();
    expect((await alice.put('/v1/facts/db/url', { value: 'mysql://db2/nova' })).status).to.equal(200);
    const took = await watch.untilRuns(2);
    console.log(`      the command ran ${Date.now() - published} ms after the publish (polled every 20 ms: ${took} ms)`);
    expect(watch.runs()[1].json.facts.db.url).to.equal('mysql://db2/nova');

    // The same value again (no new version), and several waits that end in 304: no run.
    expect((await alice.put('/v1/facts/db/url', { value: 'mysql://db2/nova' })).json.changed).to.equal(false);
    await sleep(3_000);
    expect(watch.runs()).to.have.length(2);
    const second = await bob.get('/v1/facts');
    expect(watch.etags()).to.deep.equal([first.headers.etag, second.headers.etag]);
    // One line per change in the log, each saying how the command went.
    await eventually('both runs logged', () => watch!.log.match(/ran the command, exit 0/g)?.length === 2);
    expect(watch.log.match(/ran the command, exit 0/g)).to.have.length(2);

    expect(await watch.stop()).to.equal(0);
  });

  it('runs on a secret rotation (its version is in the view) without ever putting a secret value on stdin', async () => {
    watch = new Watch(['--ssldir', ssldir, '--certname', 'bob.test', '--server-url', t.broker.url]);
    await watch.untilRuns(1);
    expect((await alice.put('/v1/facts/db/password', { value: 'canary-one-5e1f', sensitive: true })).status).to.equal(201);
    await watch.untilRuns(2);
    expect((await alice.put('/v1/facts/db/password', { value: 'canary-two-77ab', sensitive: true })).status).to.equal(200);
    await watch.untilRuns(3);
    const runs = watch.runs();
    expect(runs[1].json.secrets.db.password).to.deep.equal({ version: 1 });
    expect(runs[2].json.secrets.db.password).to.deep.equal({ version: 2 });
    for (const r of runs) expect(r.text).to.not.match(/canary/);
    expect(watch.log).to.not.match(/canary/);
  });

  it('runs when an admin rotates a broker-generated password the node uses (the README’s case)', async () => {
    const generated = await bob.request('POST', '/v1/secrets/nova/db_password/generate', { body: { length: 24 } });
    expect(generated.status).to.equal(201);
    watch = new Watch(['--ssldir', ssldir, '--certname', 'bob.test', '--server-url', t.broker.url, '--category', 'nova']);
    await watch.untilRuns(1);
    expect(watch.runs()[0].json.secrets.nova.db_password).to.deep.equal({ version: 1 });
    const rotated = await t.adminClient(t.pki.clients.carol).request('POST', '/admin/v1/secrets/nova/db_password/rotate', { body: {} });
    expect(rotated.status, rotated.text).to.equal(200);
    await watch.untilRuns(2);
    expect(watch.runs()[1].json.secrets.nova.db_password).to.deep.equal({ version: 2 });
    expect(watch.runs()[1].text).to.not.include(generated.json.value);
  });

  it('with --category, runs with that category only, and not for a change elsewhere (same view, new ETag)', async () => {
    watch = new Watch(['--ssldir', ssldir, '--certname', 'bob.test', '--server-url', t.broker.url, '--category', 'mq']);
    expect((await alice.put('/v1/facts/mq/host', { value: 'mq1' })).status).to.equal(201);
    await watch.untilRuns(1);
    await eventually('the view with mq1', () => watch!.runs().at(-1)?.json.facts.mq?.host === 'mq1');
    const before = watch.runs().length;
    expect((await alice.put('/v1/facts/db/url', { value: 'mysql://db3/nova' })).status).to.equal(200);
    await sleep(1_500);
    expect(watch.runs()).to.have.length(before);
    expect((await alice.put('/v1/facts/mq/host', { value: 'mq2' })).status).to.equal(200);
    await watch.untilRuns(before + 1);
    expect(watch.runs().at(-1)!.json.facts).to.deep.equal({ mq: { host: 'mq2' } });
  });

  describe('mistakes and failures', () => {
    const usage: [string, (dir: string) => string[], RegExp][] = [
      ['no --exec', (dir) => ['--ssldir', dir, '--certname', 'bob.test'], /required option '--exec <command>' not specified/],
      ['no --certname', (dir) => ['--ssldir', dir, '--exec', 'true'], /required option '--certname <name>' not specified/],
      [
        'an ssldir without the certificate',
        (dir) => ['--ssldir', dir, '--certname', 'nobody.test', '--exec', 'true'],
        /--ssldir \(node certificate\) .*nobody\.test\.pem does not exist/,
      ],
      [
        'a bad --wait',
        (dir) => ['--ssldir', dir, '--certname', 'bob.test', '--exec', 'true', '--wait', 'soon'],
        /--wait "soon" must be a duration/,
      ],
      [
        'a bad --category',
        (dir) => ['--ssldir', dir, '--certname', 'bob.test', '--exec', 'true', '--category', 'Nova'],
        /--category "Nova" is not a Facter-style name/,
      ],
      [
        'a plain http URL',
        (dir) => ['--ssldir', dir, '--certname', 'bob.test', '--exec', 'true', '--server-url', 'http://127.0.0.1:8150'],
        /--server-url must be an https:\/\/ URL/,
      ],
      ['a bad certname', (dir) => ['--ssldir', dir, '--certname', 'Bob', '--exec', 'true'], /--certname "Bob" is not a Puppet certname/],
    ];
    for (const [label, args, message] of usage) {
      it(`${label}: one line, exit 2`, async () => {
        const r = await runCli(['watch', ...args(ssldir)]);
        expect(r.code, r.stderr).to.equal(2);
        expect(r.stderr).to.match(message);
        expect(r.stderr.trim().split('\n')).to.have.length(1);
      });
    }

    it('a revoked certificate: the broker refuses it, one line naming why, exit 1', async () => {
      const pki = await getTestPki();
      const dir = ssldirFor(pki.clients.revoked, pki.caBundlePem);
      const r = await runCli(['watch', '--ssldir', dir, '--certname', 'revoked.test', '--server-url', t.broker.url, '--exec', 'true']);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.match(/refused the watch: 401 certificate_revoked/);
    });
  });
});

describe('exportfact watch with two brokers on one PostgreSQL: failover', function () {
  this.timeout(60_000);
  let db: { url: string; drop(): Promise<void> };
  let a: TestBroker;
  let b: TestBroker;
  let watch: Watch | undefined;

  before(async function () {
    if (skipPg()) return this.skip();
    db = await createTestDatabase('watch_cli');
    a = await startTestBroker({ store: { kind: 'postgres', url: db.url } });
    b = await startTestBroker({ store: { kind: 'postgres', url: db.url } });
  });
  after(async () => {
    if (watch?.child.exitCode === null) await watch.stop();
    await b?.close();
    await a?.close();
    await db?.drop();
  });

  it('moves to the next broker when one stops, without running the command again for the view it has', async () => {
    const alice = b.client(b.pki.clients.alice);
    expect((await alice.put('/v1/facts/db/url', { value: 'one' })).status).to.equal(201);
    const ssldir = ssldirFor(a.pki.clients.bob, a.pki.caBundlePem);
    watch = new Watch(['--ssldir', ssldir, '--certname', 'bob.test', '--server-url', a.broker.url, '--server-url', b.broker.url]);
    await watch.untilRuns(1);
    // watch logs the run once the command has exited, a moment after its file appeared.
    const fromA = `view ${watch.etags()[0]} from ${a.broker.url}`;
    await eventually(`the log says "${fromA}"`, () => watch!.log.includes(fromA));

    await a.close();
    await eventually('the watch moved to broker B', () => watch!.log.includes(`trying ${b.broker.url}`));
    await sleep(1_000);
    expect(watch.runs(), 'the same view on B: no second run').to.have.length(1);

    expect((await alice.put('/v1/facts/db/url', { value: 'two' })).status).to.equal(200);
    await watch.untilRuns(2);
    expect(watch.runs()[1].json.facts.db.url).to.equal('two');
    // The watch logs the run once the command has ended, a moment after its last file lands.
    await eventually('the run logged', () => watch!.log.includes(`from ${b.broker.url}: ran the command, exit 0`));
    expect(await watch.stop()).to.equal(0);
  });
});
