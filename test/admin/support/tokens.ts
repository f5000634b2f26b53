// Tokens built by hand, for what `issueAdminToken` refuses to make: expired, foreign,
// unsigned, HMAC-signed, wrong audience, over-long.
import crypto from 'node:crypto';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '../../../src/admin/token';

type Jose = typeof import('jose', { with: { 'resolution-mode': 'import' }});
const jose = (): Promise<Jose> => import('jose');

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: 'forger',
    scope: 'secrets:read',
    iss: TOKEN_ISSUER,
    aud: TOKEN_AUDIENCE,
    iat: now,
    exp: now + 600,
    jti: crypto.randomUUID(),
    ...overrides,
  };
}

/** Signed with EdDSA by the given key, with any claims. */
export async function signEd25519(
  privateKeyPem: string,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const { SignJWT } = await jose();
  return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', ...header }).sign(crypto.createPrivateKey(privateKeyPem));
}

/** `alg: none`: the classic "no signature" token. */
export function unsignedToken(payload = claims()): string {
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
}

/** HS256 keyed with the public key PEM: the classic algorithm-confusion token. */
export function hs256Token(publicKeyPem: string, payload = claims()): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${input}.${crypto.createHmac('sha256', publicKeyPem).update(input).digest('base64url')}`;
}

export function ed25519Pair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}
