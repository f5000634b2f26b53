import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { tempDir } from '../support/broker';
import { runCli, startServe } from '../support/cli';
import { Client } from '../support/client';
import { createTestDatabase, skipPg } from '../support/pg';
import { getTestPki, type TestPki } from '../support/pki';
import { writeServerTls } from '../support/tls-files';

describe('exportfact serve (the installed command)', function () {
  this.timeout(90_000);
  let pki: TestPki;
  let dir: string;
  let files: Record<'ca' | 'crl' | 'cert' | 'key', string>;
  const tlsArgs = () => ['--ca', files.ca, '--crl', files.crl, '--cert', files.cert, '--key', files.key];

  before(async () => {
    pki = await getTestPki();
    dir = tempDir('cli');
    files = writeServerTls(pki, dir);
  });

  describe('refuses to start with a one-line error naming the problem', () => {
    const cases: [string, () => string[], RegExp][] = [
      [
        'a missing CA file',
        () => ['--ca', path.join(dir, 'nope.pem'), '--cert', files.cert, '--key', files.key],
        /^exportfact: --ca .*nope\.pem does not exist\n$/,
      ],
      [
        'a key that does not match the certificate',
        () => ['--ca', files.ca, '--cert', files.cert, '--key', writeOtherKey()],
        /^exportfact: --key .* does not match the certificate in --cert .*\n$/,
      ],
      [
        'a file that is not a certificate',
        () => ['--ca', files.ca, '--cert', files.key, '--key', files.key],
        /^exportfact: --cert .* is not a PEM certificate\n$/,
      ],
      [
        'a bad database URL',
        () => [...tlsArgs(), '--database-url', 'mysql://db/x'],
        /^exportfact: --database-url must start with postgres:\/\/.*\n$/,
      ],
      ['a bad listen address', () => [...tlsArgs(), '--listen', 'localhost'], /^exportfact: --listen "localhost" is not HOST:PORT.*\n$/],
      [
        'a CRL past its nextUpdate',
        () => [
          '--ca',
          files.ca,
          '--crl',
          writeFile('expired-crl.pem', pki.expiredCrlBundlePem),
          '--cert',
          files.cert,
          '--key',
          files.key,
          '--data-dir',
          tempDir('x'),
        ],
        /^exportfact: --crl .*crl\.pem: CRL #2 .* nextUpdate .* has passed.*\n$/,
      ],
      [
        'an unreachable database',
        () => [...tlsArgs(), '--database-url', 'postgres://postgres@127.0.0.1:1/none'],
        /^exportfact: .*ECONNREFUSED|connect.*\n$/,
      ],
    ];
    function writeFile(name: string, content: string): string {
      fs.writeFileSync(path.join(dir, name), content);
      return path.join(dir, name);
    }
    function writeOtherKey(): string {
      return writeFile('other_key.pem', pki.clients.alice.keyPem);
    }
    for (const [label, args, message] of cases) {
      it(label, async () => {
        const r = await runCli(['serve', '--listen', '127.0.0.1:0', ...args()]);
        expect(r.code).to.equal(2, r.stderr);
        expect(r.stderr).to.match(message);
        expect(r.stderr).to.not.contain('PRIVATE KEY');
      });
    }
  });

  it('keeps facts across a restart and a kill -9, and refuses a second broker on the same data folder', async () => {
    const data = tempDir('serve-data');
    const cwd = tempDir('serve-cwd'); // the keyring made at first start (./keyring.json) must be there at restart
    const args = [...tlsArgs(), '--listen', '127.0.0.1:0', '--data-dir', data];
    const first = await startServe(args, { cwd });
    const alice = new Client(first.url, pki.caBundlePem, pki.clients.alice);
    expect((await alice.put('/v1/facts/db/url', { value: 'survives' })).status).to.equal(201);

    const second = await runCli(['serve', ...args], { timeoutMs: 60_000, cwd });
    expect(second.code).to.equal(2);
    expect(second.stderr).to.match(/data directory .* is in use by another exportfact broker \(pid \d+ on /);

    expect(await first.stop('SIGKILL')).to.equal(null);
    const restarted = await startServe(args, { timeoutMs: 60_000, cwd });
    expect(restarted.output()).to.match(/the broker that held the data directory is gone .*taking its lock over/);
    try {
      const view = await new Client(restarted.url, pki.caBundlePem, pki.clients.bob).get('/v1/facts');
      expect(view.json.facts.db.url).to.equal('survives');
    } finally {
      expect(await restarted.stop()).to.equal(0);
    }
  });

  it('takes its TLS files from a Puppet ssldir with --ssldir/--certname, and PostgreSQL from the environment', async function () {
    if (skipPg()) this.skip();
    const ca = tempDir('devca');
    const issued = await runCli(['ca', 'init', '--dir', ca, '--node', 'localhost', '--node', 'agent1.example.com:pp_role=compute']);
    expect(issued.code).to.equal(0, issued.stderr);
    const db = await createTestDatabase('ssldir');
    const serve = await startServe(
      ['--ssldir', path.join(ca, 'nodes', 'localhost'), '--certname', 'localhost', '--listen', '127.0.0.1:0'],
      {
        env: { EXPORTFACT_DATABASE_URL: db.url },
        cwd: ca,
      },
    );
    try {
      expect(serve.output()).to.contain('"store":"postgres"');
      const agentSsl = path.join(ca, 'nodes', 'agent1.example.com');
      // The broker's certificate is a node certificate: CN=localhost, no IP in it.
      const agent = new Client(
        serve.url.replace('127.0.0.1', 'localhost'),
        fs.readFileSync(path.join(agentSsl, 'certs', 'ca.pem'), 'utf8'),
        {
          certname: 'agent1.example.com',
          serial: '',
          certPem: fs.readFileSync(path.join(agentSsl, 'certs', 'agent1.example.com.pem'), 'utf8'),
          keyPem: fs.readFileSync(path.join(agentSsl, 'private_keys', 'agent1.example.com.pem'), 'utf8'),
        },
      );
      expect((await agent.get('/v1/exports')).status).to.equal(200);
    } finally {
      await serve.stop();
      await db.drop();
    }
  });
});
