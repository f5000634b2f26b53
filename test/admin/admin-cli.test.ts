import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ensureTokenSigningKey, verifyAdminToken } from '../../src/admin/token';
import { tempDir } from '../support/broker';
import { startTestAdminServer, type TestAdminServer } from './support/admin-server';
import { runAdminCli } from './support/cli';

const JWT = /^eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/;
const payloadOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());

describe('exportfact admin (the command)', function () {
  this.timeout(60_000);
  let t: TestAdminServer;
  let dir: string;
  let signingKey: string;
  let caFile: string;
  const issued: string[] = [];

  /** `admin token` with the signing key the test server verifies with. */
  async function issue(args: string[]): Promise<string> {
    const r = await runAdminCli(['admin', 'token', ...args], { cwd: dir, env: { EXPORTFACT_ADMIN_SIGNING_KEY: signingKey } });
    expect(r.code).to.equal(0, r.stderr);
    expect(r.stdout).to.match(JWT);
    issued.push(r.stdout.trim());
    return r.stdout.trim();
  }
  const clientEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    EXPORTFACT_ADMIN_URL: t.server.url,
    EXPORTFACT_ADMIN_CA: caFile,
    ...extra,
  });

  before(async () => {
    dir = tempDir('admin-cli');
    signingKey = path.join(dir, 'signing.key');
    const key = await ensureTokenSigningKey(signingKey);
    t = await startTestAdminServer({ tokenPublicKeyPem: key.publicKeyPem });
    caFile = path.join(dir, 'ca.pem');
    fs.writeFileSync(caFile, t.pki.caBundlePem);
  });
  after(() => t?.close());

  it('`admin token --create-key` creates admin-token.key (0600) in the current folder, says so on stderr, prints only the token', async () => {
    const cwd = tempDir('admin-cli-fresh');
    const first = await runAdminCli(
      ['admin', 'token', '--create-key', '--scope', 'secrets:read,audit:read', '--ttl', '15m', '--subject', 'ops-bob'],
      { cwd },
    );
    expect(first.code).to.equal(0, first.stderr);
    expect(first.stdout).to.match(JWT);
    expect(first.stderr).to.match(/created admin token signing key .*admin-token\.key \(mode 0600\)/);
    expect(first.stderr).to.match(/token for ops-bob, scopes secrets:read audit:read, expires /);
    expect(first.stderr).to.not.contain(first.stdout.trim());
    const file = path.join(cwd, 'admin-token.key');
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    const key = await ensureTokenSigningKey(file);
    const principal = await verifyAdminToken(key.publicKeyPem, first.stdout.trim());
    expect(principal).to.deep.include({ subject: 'ops-bob', kind: 'token', scopes: ['secrets:read', 'audit:read'] });
    expect(payloadOf(first.stdout).exp - payloadOf(first.stdout).iat).to.equal(900);

    const second = await runAdminCli(['admin', 'token', '--scope', 'audit:read', '--subject', 'ops-bob'], { cwd });
    expect(second.code).to.equal(0, second.stderr);
    expect(second.stderr).to.not.match(/created/);
  });

  it('issues a token the admin listener accepts, with the scopes asked for; `admin whoami` shows them', async () => {
    const token = await issue(['--scope', 'keys:rotate,secrets:read', '--subject', 'ops-carol', '--ttl', '90s']);
    expect(payloadOf(token).exp - payloadOf(token).iat).to.equal(90);
    const r = await t.client().get('/admin/v1/whoami', { headers: { Authorization: `Bearer ${token}` } });
    expect(r.status).to.equal(200, r.text);
    expect(r.json).to.deep.include({ subject: 'ops-carol', kind: 'token', scopes: ['secrets:read', 'keys:rotate'] });

    const who = await runAdminCli(['admin', 'whoami'], { env: clientEnv({ EXPORTFACT_ADMIN_TOKEN: token }) });
    expect(who.code).to.equal(0, who.stderr);
    expect(who.stdout).to.match(/^subject: ops-carol\nkind: +token\nscopes: +secrets:read keys:rotate\nexpires: /);
    const json = await runAdminCli(['admin', 'whoami', '--json'], { env: clientEnv({ EXPORTFACT_ADMIN_TOKEN: token }) });
    expect(JSON.parse(json.stdout)).to.deep.include({ subject: 'ops-carol', kind: 'token' });
    expect(who.stdout + who.stderr + json.stdout + json.stderr).to.not.contain(token);
  });

  it('`admin whoami` with an admin certificate, and with --token-file', async () => {
    const admin = await t.pki.issueClientCert({ certname: 'ops.admin.test' });
    const cert = path.join(dir, 'admin.pem');
    const key = path.join(dir, 'admin_key.pem');
    fs.writeFileSync(cert, admin.certPem);
    fs.writeFileSync(key, admin.keyPem, { mode: 0o600 });
    const r = await runAdminCli(['admin', 'whoami', '--admin-cert', cert, '--admin-key', key, '--json'], { env: clientEnv() });
    expect(r.code).to.equal(0, r.stderr);
    expect(JSON.parse(r.stdout)).to.deep.include({ subject: 'ops.admin.test', kind: 'certificate' });

    const tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, `${await issue(['--scope', 'audit:read', '--subject', 'file-user'])}\n`, { mode: 0o600 });
    const f = await runAdminCli(['admin', 'whoami', '--token-file', tokenFile], { env: clientEnv() });
    expect(f.code).to.equal(0, f.stderr);
    expect(f.stdout).to.match(/^subject: file-user\n/);
  });

  it('turns API errors into one line: `exportfact: 401 admin_auth_required: …`, exit 2', async () => {
    const r = await runAdminCli(['admin', 'whoami'], { env: clientEnv() });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/^exportfact: 401 admin_auth_required: [^\n]+\n$/);
    const agent = path.join(dir, 'agent.pem');
    const agentKey = path.join(dir, 'agent_key.pem');
    fs.writeFileSync(agent, t.pki.clients.alice.certPem);
    fs.writeFileSync(agentKey, t.pki.clients.alice.keyPem, { mode: 0o600 });
    const a = await runAdminCli(['admin', 'whoami', '--admin-cert', agent, '--admin-key', agentKey], { env: clientEnv() });
    expect(a.stderr).to.match(/^exportfact: 403 not_an_admin_certificate: certificate alice\.test is not an admin certificate[^\n]*\n$/);
    const expired = await runAdminCli(['admin', 'whoami'], {
      env: clientEnv({ EXPORTFACT_ADMIN_TOKEN: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' }),
    });
    expect(expired.stderr).to.match(/^exportfact: 401 token_invalid: [^\n]+\n$/);
  });

  it('says in one line when the admin API is unreachable or its certificate is not trusted', async () => {
    const cwd = tempDir('admin-cli-noca'); // no certs/ca.pem here, so no default CA
    const untrusted = await runAdminCli(['admin', 'whoami', '--admin-url', t.server.url], { cwd, env: { EXPORTFACT_ADMIN_CA: undefined } });
    expect(untrusted.code).to.equal(2);
    expect(untrusted.stderr).to.match(
      /^exportfact: the admin API's certificate at https:\/\/127\.0\.0\.1:\d+ is not trusted .*--admin-ca[^\n]*\n$/,
    );
    const refused = await runAdminCli(['admin', 'whoami', '--admin-url', 'https://127.0.0.1:1'], {
      cwd,
      env: { EXPORTFACT_ADMIN_CA: caFile },
    });
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.match(/^exportfact: cannot reach the admin API at https:\/\/127\.0\.0\.1:1 \(connection refused\)[^\n]*\n$/);
    const plain = await runAdminCli(['admin', 'whoami', '--admin-url', 'http://127.0.0.1:8151'], { cwd });
    expect(plain.stderr).to.match(/^exportfact: --admin-url must be an https:\/\/ URL/);
  });

  const refusals: [string, string[], RegExp][] = [
    ['a --ttl over 24h', ['--ttl', '25h'], /^exportfact: --ttl 25h is longer than the 24h maximum for admin tokens\n$/],
    ['a --ttl of 86401s', ['--ttl', '86401s'], /^exportfact: --ttl 86401s is longer than the 24h maximum/],
    ['a --ttl that is not a duration', ['--ttl', '1d'], /^exportfact: --ttl "1d" is not a duration \(for example 90s, 15m, 2h\)\n$/],
    ['an unknown scope', ['--scope', 'secrets:read,root'], /^exportfact: --scope: unknown scope "root"; known scopes: secrets:read, /],
  ];
  for (const [label, args, message] of refusals) {
    it(`\`admin token\` refuses ${label}, printing no token`, async () => {
      const base = ['--scope', 'audit:read', '--subject', 'ops'];
      const r = await runAdminCli(['admin', 'token', ...base, ...args], { cwd: dir, env: { EXPORTFACT_ADMIN_SIGNING_KEY: signingKey } });
      expect(r.code).to.equal(2, r.stderr);
      expect(r.stderr).to.match(message);
      expect(r.stdout).to.equal('');
    });
  }

  it('`admin token` accepts exactly 24h', async () => {
    const token = await issue(['--scope', 'audit:read', '--subject', 'ops', '--ttl', '24h']);
    expect(payloadOf(token).exp - payloadOf(token).iat).to.equal(86_400);
  });

  it('`admin token` refuses a world-readable signing key, naming the fix and not echoing the key', async () => {
    const cwd = tempDir('admin-cli-loose');
    const file = path.join(cwd, 'admin-token.key');
    await ensureTokenSigningKey(file);
    fs.chmodSync(file, 0o644);
    const r = await runAdminCli(['admin', 'token', '--scope', 'audit:read', '--subject', 'ops'], { cwd });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(
      /^exportfact: admin token signing key admin-token\.key is open to group or others \(mode 0644\).*Run: chmod 600 admin-token\.key\n$/,
    );
    expect(r.stderr).to.not.contain('PRIVATE KEY');
    expect(r.stdout).to.equal('');
  });

  it('no token issued by the command reached the admin listener log', () => {
    expect(issued.length).to.be.greaterThan(2);
    for (const token of issued) expect(t.logs.text).to.not.contain(token.split('.')[1]);
  });
});
