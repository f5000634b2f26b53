import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ADMIN_SCOPES } from '../../src/admin/scopes';
import { ensureTokenSigningKey, issueAdminToken, verifyAdminToken } from '../../src/admin/token';
import { AppError } from '../../src/errors/app-error';
import { tempDir } from '../support/broker';
import { claims, ed25519Pair, hs256Token, signEd25519, unsignedToken } from './support/tokens';

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => new Error('expected a refusal'),
    (e: Error) => e,
  );
  expect(err).to.be.instanceOf(AppError, err.message);
  return err as AppError;
}

describe('admin tokens (EdDSA JWT)', () => {
  describe('signing key file', () => {
    it('is created once as an Ed25519 PKCS#8 PEM with mode 0600, then reused', async () => {
      const file = path.join(tempDir('admin-key'), 'admin-token.key');
      const first = await ensureTokenSigningKey(file);
      expect(first.created).to.equal(true);
      expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
      expect(fs.readFileSync(file, 'utf8')).to.match(/^-----BEGIN PRIVATE KEY-----/);
      expect(crypto.createPrivateKey(first.privateKeyPem).asymmetricKeyType).to.equal('ed25519');
      const again = await ensureTokenSigningKey(file);
      expect(again.created).to.equal(false);
      expect(again.publicKeyPem).to.equal(first.publicKeyPem);
    });

    it('is created once even when two callers race for it', async () => {
      const file = path.join(tempDir('admin-key'), 'k');
      const [a, b] = await Promise.all([ensureTokenSigningKey(file), ensureTokenSigningKey(file)]);
      expect(a.publicKeyPem).to.equal(b.publicKeyPem);
    });

    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
      it(`is refused when open to group or others (mode ${mode.toString(8)}), without echoing the key`, async () => {
        const file = path.join(tempDir('admin-key'), 'k');
        await ensureTokenSigningKey(file);
        fs.chmodSync(file, mode);
        const err = await ensureTokenSigningKey(file).then(
          () => new Error('accepted'),
          (e: Error) => e,
        );
        expect(err.message).to.match(/open to group or others .*chmod 600/);
        expect(err.message).to.not.contain('PRIVATE KEY');
      });
    }

    it('is refused when it holds another kind of key', async () => {
      const file = path.join(tempDir('admin-key'), 'k');
      const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      fs.writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      const err = await ensureTokenSigningKey(file).catch((e: Error) => e);
      expect((err as Error).message).to.match(/is a ec key, not Ed25519/);
    });
  });

  describe('issue and verify', () => {
    const keys = ed25519Pair();

    it('round-trips subject, scopes and the standard claims', async () => {
      const token = await issueAdminToken(keys.privateKeyPem, {
        subject: 'ops-alice',
        scopes: ['audit:read', 'secrets:read', 'audit:read'],
        ttlSeconds: 120,
      });
      const [header, payload] = token
        .split('.')
        .slice(0, 2)
        .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
      expect(header).to.deep.equal({ alg: 'EdDSA', typ: 'JWT' });
      expect(payload).to.include({ sub: 'ops-alice', scope: 'secrets:read audit:read', iss: 'exportfact', aud: 'exportfact-admin' });
      expect(payload.exp - payload.iat).to.equal(120);
      expect(payload.jti).to.match(/^[0-9a-f-]{36}$/);
      const principal = await verifyAdminToken(keys.publicKeyPem, token);
      expect(principal).to.deep.include({
        subject: 'ops-alice',
        kind: 'token',
        scopes: ['secrets:read', 'audit:read'],
        tokenId: payload.jti,
      });
    });

    it('defaults to 15 minutes and allows exactly 24h', async () => {
      const ttl = async (ttlSeconds?: number) => {
        const token = await issueAdminToken(keys.privateKeyPem, { subject: 's', scopes: ['audit:read'], ttlSeconds });
        const p = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
        return p.exp - p.iat;
      };
      expect(await ttl()).to.equal(900);
      expect(await ttl(86_400)).to.equal(86_400);
    });

    it('refuses a lifetime over 24h, unknown scopes, no scope and an empty subject', async () => {
      const bad: [Parameters<typeof issueAdminToken>[1], RegExp][] = [
        [{ subject: 's', scopes: ['audit:read'], ttlSeconds: 86_401 }, /longer than the maximum of 24h/],
        [{ subject: 's', scopes: ['root' as never] }, /unknown scope "root"/],
        [{ subject: 's', scopes: [] }, /at least one scope/],
        [{ subject: ' ', scopes: ['audit:read'] }, /subject/],
        [{ subject: 'a\nb', scopes: ['audit:read'] }, /subject/],
      ];
      for (const [options, message] of bad) {
        const err = await issueAdminToken(keys.privateKeyPem, options).catch((e: Error) => e);
        expect(err).to.be.instanceOf(Error);
        expect((err as Error).message).to.match(message);
      }
    });

    it('knows exactly the documented scopes', () => {
      expect(ADMIN_SCOPES).to.deep.equal([
        'secrets:read',
        'secrets:rotate',
        'keys:rotate',
        'audit:read',
        'audit:prune',
        'nodes:read',
        'nodes:write',
        'graph:read',
        'backup:read',
        'facts:import',
      ]);
    });

    const now = () => Math.floor(Date.now() / 1000);
    const cases: [string, () => Promise<string>, string, RegExp][] = [
      [
        'an expired token',
        () => signEd25519(keys.privateKeyPem, claims({ iat: now() - 3600, exp: now() - 600 })),
        'token_expired',
        /expired/,
      ],
      ['a token signed by another key', async () => signEd25519(ed25519Pair().privateKeyPem, claims()), 'token_invalid', /signature/],
      ['an alg:none token', async () => unsignedToken(), 'token_invalid', /./],
      ['an HS256 token keyed with the public key', async () => hs256Token(keys.publicKeyPem), 'token_invalid', /not signed with EdDSA/],
      ['a token for another audience', () => signEd25519(keys.privateKeyPem, claims({ aud: 'puppetdb' })), 'token_invalid', /"aud"/],
      ['a token from another issuer', () => signEd25519(keys.privateKeyPem, claims({ iss: 'vault' })), 'token_invalid', /"iss"/],
      [
        'a token with an unknown scope',
        () => signEd25519(keys.privateKeyPem, claims({ scope: 'secrets:read root' })),
        'token_invalid',
        /unknown scope "root"/,
      ],
      ['a token with no scope claim', () => signEd25519(keys.privateKeyPem, claims({ scope: undefined })), 'token_invalid', /"scope"/],
      [
        'a token living longer than 24h',
        () => signEd25519(keys.privateKeyPem, claims({ exp: now() + 2 * 86_400 })),
        'token_invalid',
        /24h/,
      ],
      [
        'a token issued in the future',
        () => signEd25519(keys.privateKeyPem, claims({ iat: now() + 3600, exp: now() + 4000 })),
        'token_invalid',
        /"iat"/,
      ],
      ['a token without typ JWT', () => signEd25519(keys.privateKeyPem, claims(), { typ: 'at+jwt' }), 'token_invalid', /./],
      ['garbage', async () => 'not.a.token', 'token_invalid', /well-formed/],
      ['a huge string', async () => 'a'.repeat(100_000), 'token_invalid', /well-formed/],
    ];
    for (const [label, make, code, message] of cases) {
      it(`refuses ${label} with 401 ${code}, without echoing it`, async () => {
        const token = await make();
        const err = await refusal(verifyAdminToken(keys.publicKeyPem, token));
        expect(err.status).to.equal(401);
        expect(err.code).to.equal(code);
        expect(err.message).to.match(message);
        expect(err.message).to.not.contain(token.slice(0, 20));
        expect(err.headers['WWW-Authenticate']).to.match(/^Bearer realm="exportfact-admin", error="invalid_token"$/);
      });
    }
  });
});
