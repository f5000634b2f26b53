// serve --config FILE: YAML keyed by the long option names; flag > environment > file > default;
// every mistake names file:line; no secret in it.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { tempDir } from '../support/broker';
import { runCli, startServe } from '../support/cli';
import { Client } from '../support/client';
import { getTestPki, type TestPki } from '../support/pki';
import { writeServerTls } from '../support/tls-files';

describe('the configuration file of serve', function () {
  this.timeout(60_000);
  let pki: TestPki;
  let dir: string;
  const file = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };
  before(async () => {
    pki = await getTestPki();
    dir = tempDir('config-file');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('config check prints the effective configuration and where each value comes from', async () => {
    const f = file(
      'ok.yaml',
      'dev-ca: true\nlisten: 0.0.0.0:8150\ndatabase-url: postgres://exportfact@db.example.com/exportfact\nadmin-certname: [ops1, ops2]\n# a comment\ndefault-environment: staging\n',
    );
    const r = await runCli(['config', 'check', f, '--json'], { env: { EXPORTFACT_DEFAULT_ENVIRONMENT: 'qa' } });
    expect(r.code, r.stderr).to.equal(0);
    const options = Object.fromEntries(
      (JSON.parse(r.stdout).options as { option: string; value: string; source: string; where: string }[]).map((o) => [o.option, o]),
    );
    expect(options.listen).to.deep.include({ value: '0.0.0.0:8150', source: 'file', where: `${f}:2` });
    expect(options['admin-certname']).to.deep.include({ value: 'ops1,ops2', source: 'file' });
    // The environment wins over the file.
    expect(options['default-environment']).to.deep.include({ value: 'qa', source: 'environment' });
    expect(options.keyring).to.deep.include({ value: '(default)', source: 'default' });
    // A password from the environment is never printed.
    const withPassword = await runCli(['config', 'check', f, '--json'], {
      env: { EXPORTFACT_DATABASE_URL: 'postgres://u:hunter2@db/x?password=hunter3' },
    });
    expect(withPassword.stdout).to.not.match(/hunter[23]/);
    expect(withPassword.stdout).to.include('postgres://u:redacted@db/x?password=redacted');
    // And a flag wins over both.
    const flagged = await runCli(['config', 'check', f, '--json', '--listen', '127.0.0.1:9999'], {
      env: { EXPORTFACT_LISTEN: '127.0.0.1:8888' },
    });
    expect(JSON.parse(flagged.stdout).options.find((o: { option: string }) => o.option === 'listen')).to.deep.include({
      value: '127.0.0.1:9999',
      source: 'flag',
    });
  });

  for (const [label, text, message] of [
    [
      'an unknown key, with a suggestion',
      'listen: 127.0.0.1:8150\nlistn: 0.0.0.0:1\n',
      /bad\.yaml:2: unknown key "listn" \(did you mean listen\?\)/,
    ],
    ['a bad value, at its line', 'data-dir: d\nlisten: 0.0.0.0:x\n', /bad\.yaml:2: listen "0\.0\.0\.0:x" is not HOST:PORT/],
    [
      'a database password (no secret in the file)',
      'database-url: postgres://u:hunter2@db/x\n',
      /bad\.yaml:1: database-url holds a password; .*~\/\.pgpass/,
    ],
    [
      'a database password as a parameter',
      'database-url: postgres://u@db/x?sslmode=require&password=hunter2\n',
      /bad\.yaml:1: database-url holds a password/,
    ],
    ['YAML that does not parse', 'listen: [\n', /bad\.yaml:\d+: not valid YAML/],
    ['a list where one value goes', 'listen: [a, b]\n', /bad\.yaml:1: listen takes one value/],
    ['a key given twice', 'listen: a:1\nlisten: b:2\n', /bad\.yaml:\d+: not valid YAML: .*unique/i],
  ] as const) {
    it(`refuses ${label}: one line with file:line, exit 2`, async () => {
      const r = await runCli(['config', 'check', file('bad.yaml', text)]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/^exportfact: [^\n]+\n$/);
      expect(r.stderr).to.match(message);
      expect(r.stderr).to.not.include('hunter2');
      // serve refuses the same file the same way.
      const serve = await runCli(['serve', '--config', file('bad.yaml', text)]);
      expect([serve.code, serve.stderr]).to.deep.equal([2, r.stderr]);
    });
  }

  it('serve runs with what the file says', async () => {
    const tls = writeServerTls(pki, dir);
    const f = file(
      'serve.yaml',
      [
        `ca: ${tls.ca}`,
        `cert: ${tls.cert}`,
        `key: ${tls.key}`,
        'listen: 127.0.0.1:0',
        `data-dir: ${path.join(dir, 'data')}`,
        'default-environment: fromfile',
        '',
      ].join('\n'),
    );
    const serve = await startServe(['--config', f]);
    try {
      // pki.clients.carol has no pp_environment: she lands in the file's default environment.
      const carolless = await pki.issueClientCert({ certname: 'noenv.test' });
      const r = await new Client(serve.url, pki.caBundlePem, carolless).get('/v1/facts');
      expect(r.status).to.equal(200);
      expect(r.json.environment).to.equal('fromfile');
      expect(fs.existsSync(path.join(dir, 'data'))).to.equal(true);
    } finally {
      await serve.stop();
    }
  });
});
