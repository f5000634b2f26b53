import { expect } from 'chai';
import { ADMIN_SCOPES } from '../../src/admin/scopes';
import { issueAdminToken } from '../../src/admin/token';
import type { TestCert } from '../support/pki';
import { sleep } from '../support/wait';
import { startTestAdminServer, type TestAdminServer } from './support/admin-server';
import { claims, ed25519Pair, hs256Token, signEd25519, unsignedToken } from './support/tokens';

describe('admin listener: admin certificates and tokens (real TLS)', () => {
  const keys = ed25519Pair();
  /** Every token handed to the server, to prove none of them reaches the log. */
  const sent: string[] = [];
  let t: TestAdminServer;
  let admin: TestCert;
  let roleAdmin: TestCert;
  let otherRole: TestCert;

  const bearer = (token: string) => {
    sent.push(token);
    return { headers: { Authorization: `Bearer ${token}` } };
  };
  const token = (scopes: Parameters<typeof issueAdminToken>[1]['scopes'], subject = 'ops-alice') =>
    issueAdminToken(keys.privateKeyPem, { subject, scopes, ttlSeconds: 300 });

  before(async () => {
    t = await startTestAdminServer({ tokenPublicKeyPem: keys.publicKeyPem });
    admin = await t.pki.issueClientCert({ certname: 'ops.admin.test' });
    roleAdmin = await t.pki.issueClientCert({
      certname: 'robot.test',
      extensions: { pp_auth_role: 'admin', pp_environment: 'production' },
    });
    otherRole = await t.pki.issueClientCert({ certname: 'web1.test', extensions: { pp_auth_role: 'operator' } });
  });
  after(() => t?.close());

  it('takes a certificate whose certname is configured as an admin, with every scope', async () => {
    const r = await t.client(admin).get('/admin/v1/whoami');
    expect(r.status).to.equal(200, r.text);
    expect(r.json).to.deep.equal({ subject: 'ops.admin.test', kind: 'certificate', scopes: [...ADMIN_SCOPES] });
    expect((await t.client(admin).request('POST', '/admin/v1/test/rotate', { body: { n: 1 } })).json).to.deep.equal({
      rotated_by: 'ops.admin.test',
      body: { n: 1 },
    });
  });

  it('takes a certificate whose pp_auth_role is a configured admin role, with every scope', async () => {
    const r = await t.client(roleAdmin).get('/admin/v1/whoami');
    expect(r.status).to.equal(200, r.text);
    expect(r.json).to.deep.equal({ subject: 'robot.test', kind: 'certificate', scopes: [...ADMIN_SCOPES] });
  });

  for (const [label, cert] of [
    ['an agent certificate', () => t.pki.clients.alice],
    ['a certificate with another pp_auth_role', () => otherRole],
  ] as const) {
    it(`gives ${label} without a token no rights: 403 not_an_admin_certificate`, async () => {
      for (const [method, path] of [
        ['GET', '/admin/v1/whoami'],
        ['POST', '/admin/v1/test/rotate'],
        ['GET', '/admin/v1/nope'],
      ]) {
        const r = await t.client(cert()).request(method, path);
        expect(r.status).to.equal(403, `${method} ${path}`);
        expect(r.json.error.code).to.equal('not_an_admin_certificate');
      }
    });
  }

  it("gives an agent certificate with a valid token exactly the token's scopes", async () => {
    const alice = t.client(t.pki.clients.alice);
    const tk = await token(['audit:read']);
    const me = await alice.get('/admin/v1/whoami', bearer(tk));
    expect(me.status).to.equal(200, me.text);
    expect(me.json).to.deep.include({ subject: 'ops-alice', kind: 'token', scopes: ['audit:read'] });
    expect(Date.parse(me.json.expires_at)).to.be.greaterThan(Date.now());
    expect((await alice.get('/admin/v1/test/audit', bearer(tk))).status).to.equal(200);
    const r = await alice.request('POST', '/admin/v1/test/rotate', bearer(tk));
    expect(r.status).to.equal(403);
    expect(r.json.error.code).to.equal('insufficient_scope');
  });

  it('takes a token without any client certificate', async () => {
    const r = await t.client().get('/admin/v1/whoami', bearer(await token(['secrets:read', 'keys:rotate'], 'ci-bot')));
    expect(r.status).to.equal(200, r.text);
    expect(r.json).to.deep.include({ subject: 'ci-bot', kind: 'token', scopes: ['secrets:read', 'keys:rotate'] });
  });

  it('refuses a caller with no credentials: 401 admin_auth_required with a Bearer challenge, on every path', async () => {
    for (const path of ['/admin/v1/whoami', '/admin/v1/test/rotate', '/nope']) {
      const r = await t.client().get(path);
      expect(r.status).to.equal(401, path);
      expect(r.json).to.have.nested.property('error.code', 'admin_auth_required');
      expect(r.headers['www-authenticate']).to.equal('Bearer realm="exportfact-admin"');
    }
  });

  it('refuses a token without the scope a route needs: 403 insufficient_scope naming it', async () => {
    const r = await t
      .client()
      .request('POST', '/admin/v1/test/rotate', { ...bearer(await token(['secrets:read', 'audit:read'])), body: {} });
    expect(r.status).to.equal(403);
    expect(r.json.error.code).to.equal('insufficient_scope');
    expect(r.json.error.message).to.contain('secrets:rotate');
    expect(r.headers['www-authenticate']).to.contain('scope="secrets:rotate"');
    const ok = await t.client().request('POST', '/admin/v1/test/rotate', { ...bearer(await token(['secrets:rotate'])), body: { x: 1 } });
    expect(ok.status).to.equal(200, ok.text);
    expect(ok.json.rotated_by).to.equal('ops-alice');
  });

  const now = () => Math.floor(Date.now() / 1000);
  const refused: [string, () => Promise<string> | string, string][] = [
    ['an expired token', () => signEd25519(keys.privateKeyPem, claims({ iat: now() - 3600, exp: now() - 60 })), 'token_expired'],
    ['a token signed by another key', () => signEd25519(ed25519Pair().privateKeyPem, claims()), 'token_invalid'],
    ['an alg:none token', () => unsignedToken(claims({ scope: ADMIN_SCOPES.join(' ') })), 'token_invalid'],
    [
      'an HS256 token keyed with the public key',
      () => hs256Token(keys.publicKeyPem, claims({ scope: ADMIN_SCOPES.join(' ') })),
      'token_invalid',
    ],
    ['a token for another audience', () => signEd25519(keys.privateKeyPem, claims({ aud: 'other' })), 'token_invalid'],
    ['garbage', () => 'garbage', 'token_invalid'],
  ];
  for (const [label, make, code] of refused) {
    it(`refuses ${label}: 401 ${code}, with or without an agent certificate`, async () => {
      const tk = await make();
      for (const cert of [undefined, t.pki.clients.bob]) {
        const r = await t.client(cert).get('/admin/v1/whoami', bearer(tk));
        expect(r.status).to.equal(401, r.text);
        expect(r.json.error.code).to.equal(code);
        expect(r.headers['www-authenticate']).to.contain('error="invalid_token"');
      }
    });
  }

  it('refuses an Authorization header that is not a Bearer token, even beside an admin certificate', async () => {
    for (const cert of [undefined, admin]) {
      const r = await t.client(cert).get('/admin/v1/whoami', { headers: { Authorization: 'Basic b3BzOnNlY3JldA==' } });
      expect(r.status).to.equal(401);
      expect(r.json.error.code).to.equal('token_invalid');
    }
  });

  it('refuses a revoked admin certificate (401 certificate_revoked), even with a valid token, and closes its kept-alive connection', async () => {
    const doomed = await t.pki.issueClientCert({ certname: 'ops.admin.test' }); // same admin certname, its own serial
    const client = t.client(doomed);
    const agent = client.keepAliveAgent();
    expect((await client.get('/admin/v1/whoami', { agent })).status).to.equal(200);

    await t.revocation.load(await t.pki.crlBundleRevoking([doomed.serial]), 'test crl.pem (revoking)');
    const kept = await client.get('/admin/v1/whoami', { agent }).then(
      (r) => r.status,
      () => 'closed',
    );
    expect(kept).to.be.oneOf([401, 'closed']);
    agent.destroy();
    for (const opts of [{}, bearer(await token(['audit:read']))]) {
      const r = await client.get('/admin/v1/whoami', opts);
      expect(r.status).to.equal(401);
      expect(r.json.error.code).to.equal('certificate_revoked');
    }
    // The other certificate with that certname is not revoked.
    expect((await t.client(admin).get('/admin/v1/whoami')).status).to.equal(200);
    await t.revocation.load(t.pki.crlBundlePem, 'test crl.pem');
  });

  for (const [label, key] of [
    ['a certificate from a foreign CA', 'foreign'],
    ['an expired certificate', 'expired'],
  ] as const) {
    it(`refuses ${label} with 401 certificate_invalid, even with a valid token`, async () => {
      for (const opts of [{}, bearer(await token([...ADMIN_SCOPES]))]) {
        const r = await t.client(t.pki.clients[key]).get('/admin/v1/whoami', opts);
        expect(r.status).to.equal(401, r.text);
        expect(r.json.error.code).to.equal('certificate_invalid');
      }
    });
  }

  it('answers 404 route_not_found for unknown admin paths, to authenticated callers only', async () => {
    const r = await t.client(admin).get('/admin/v1/nothing-here');
    expect(r.status).to.equal(404);
    expect(r.json.error.code).to.equal('route_not_found');
  });

  it('logs one line per request with the admin subject, and never a token or the Authorization header', async () => {
    const tk = await token(['audit:read'], 'log-check');
    await t.client().get(`/admin/v1/whoami?access_token=${tk}`, bearer(tk));
    await sleep(50);
    const lines = t.logs.lines.map((l) => JSON.parse(l));
    const line = lines.find((l) => l.admin === 'log-check');
    // The same shape as the agent port's request lines.
    expect(line, 'request line for the token subject').to.deep.include({
      auth: 'token',
      listener: 'admin',
      msg: 'request',
      method: 'GET',
      status: 200,
    });
    expect(line.url).to.equal('/admin/v1/whoami?access_token=[redacted]');
    for (const l of t.logs.lines) expect(l.match(/"listener":/g) ?? [], 'one listener key per line').to.have.length.below(2);
    const refusedLine = lines.find((l) => l.refused === 'token_expired');
    expect(refusedLine, 'a refused request names its error code').to.deep.include({ listener: 'admin' });
    expect(refusedLine.status).to.equal(401);
    expect(sent.length).to.be.greaterThan(10);
    for (const s of sent) expect(t.logs.text).to.not.contain(s.split('.').slice(0, 2).join('.'));
    expect(t.logs.text).to.not.match(/authorization|Bearer/i);
  });
});

describe('admin listener without a token signing key', () => {
  let t: TestAdminServer;
  before(async () => {
    t = await startTestAdminServer({ adminCertnames: ['ops.admin.test'], adminRoles: [] });
  });
  after(() => t?.close());

  it('accepts admin certificates only: a token is 401 token_invalid, and pp_auth_role admin is nobody by default', async () => {
    const keys = ed25519Pair();
    const tk = await issueAdminToken(keys.privateKeyPem, { subject: 's', scopes: ['audit:read'] });
    const r = await t.client().get('/admin/v1/whoami', { headers: { Authorization: `Bearer ${tk}` } });
    expect(r.status).to.equal(401);
    expect(r.json.error.code).to.equal('token_invalid');
    expect(r.json.error.message).to.match(/accepts no admin tokens/);
    const role = await t.pki.issueClientCert({ certname: 'robot2.test', extensions: { pp_auth_role: 'admin' } });
    expect((await t.client(role).get('/admin/v1/whoami')).json.error.code).to.equal('not_an_admin_certificate');
  });
});
