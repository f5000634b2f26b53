// Short-lived admin tokens: EdDSA (Ed25519) JWTs signed with a key file kept next to the
// broker. Whoever can read that file can mint admin tokens, so it is created 0600 and
// refused once group or others can open it.
import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { AppError } from '../errors/app-error';
import { ConfigError } from '../errors/config-error';
import { createPrivate, exists, readPrivate } from '../files/private-file';
import type { Logger } from '../log/logger';
import type { AdminPrincipal } from './admin-principal';
import { ADMIN_SCOPES, type AdminScope, isAdminScope, parseScopes } from './scopes';

export const TOKEN_ISSUER = 'exportfact';
export const TOKEN_AUDIENCE = 'exportfact-admin';
export const DEFAULT_TOKEN_TTL_SECONDS = 15 * 60;
/** Tokens cannot be revoked one by one, so their lifetime is what bounds a leaked one. */
export const MAX_TOKEN_TTL_SECONDS = 24 * 60 * 60;
/** Clocks of the CLI's host and the broker's may drift a little. */
const CLOCK_TOLERANCE_SECONDS = 30;
/** Far above a real token (~350 bytes); refuses junk before any parsing. */
const MAX_TOKEN_LENGTH = 8192;

type Jose = typeof import('jose', { with: { 'resolution-mode': 'import' }});
let josePromise: Promise<Jose> | undefined;
/**
 * jose 6 is ESM-only. TypeScript (module node16) refuses a static import of it from our
 * CommonJS, while a dynamic import works on every Node 20; every caller here is async anyway.
 */
function jose(): Promise<Jose> {
  return (josePromise ??= import('jose'));
}

export interface TokenSigningKey {
  privateKeyPem: string;
  publicKeyPem: string;
  /** True when this call created the file, so a command can say where it went. */
  created: boolean;
}

const ROLE = 'admin token signing key';

/**
 * Reads the signing key file, creating an Ed25519 key pair (PKCS#8 PEM, mode 0600) if it is
 * absent; of two processes starting at once, one creates it and the other reads it.
 */
export async function ensureTokenSigningKey(file: string): Promise<TokenSigningKey> {
  if (!exists(file)) {
    const { privateKey } = crypto.generateKeyPairSync('ed25519');
    const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    if (createPrivate(ROLE, file, privateKeyPem)) return { privateKeyPem, publicKeyPem: publicPemOf(privateKey), created: true };
  }
  return { ...(await readSigningKey(file)), created: false };
}

/**
 * The public key admin tokens are verified with, re-read when its file is replaced or on
 * SIGHUP: an admin who rotates the signing key (or must invalidate every token issued with a
 * leaked one) does not restart the broker. A new file that cannot be read keeps the key in force.
 */
export class TokenVerifyKey {
  private constructor(
    readonly file: string,
    private key: KeyObject,
    private readonly log: Logger,
  ) {}

  /** Loads the key file, creating it (0600) when absent. */
  static async open(file: string, log: Logger): Promise<{ key: TokenVerifyKey; created: boolean }> {
    const signing = await ensureTokenSigningKey(file);
    return { key: new TokenVerifyKey(file, crypto.createPublicKey(signing.publicKeyPem), log), created: signing.created };
  }

  get current(): KeyObject {
    return this.key;
  }

  /** True when the file held a usable key (now in force). */
  async reload(): Promise<boolean> {
    try {
      const next = crypto.createPublicKey((await readSigningKey(this.file)).publicKeyPem);
      if (!next.equals(this.key))
        this.log.info({ file: this.file }, 'admin token signing key reloaded: tokens signed with the previous key are refused from now on');
      this.key = next;
      return true;
    } catch (err) {
      this.log.error({ file: this.file, err: (err as Error).message }, 'admin token signing key refused; keeping the key in force');
      return false;
    }
  }

  /** Reloads when the file changes; returns the function that stops watching. */
  watch(intervalMs: number): () => void {
    fs.watchFile(this.file, { interval: intervalMs, persistent: false }, (curr, prev) => {
      if (curr.mtimeMs !== prev.mtimeMs || curr.ino !== prev.ino || curr.size !== prev.size) void this.reload();
    });
    return () => fs.unwatchFile(this.file);
  }
}

async function readSigningKey(file: string): Promise<Omit<TokenSigningKey, 'created'>> {
  const pem = readPrivate(ROLE, file);
  let key: KeyObject;
  try {
    key = crypto.createPrivateKey(pem);
  } catch {
    // Never echo the content: it is a private key.
    throw new ConfigError(`${ROLE} ${file} is not a PEM private key`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ConfigError(`${ROLE} ${file} is a ${key.asymmetricKeyType} key, not Ed25519`);
  return { privateKeyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string, publicKeyPem: publicPemOf(key) };
}

function publicPemOf(privateKey: KeyObject): string {
  return crypto.createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }) as string;
}

export interface IssueTokenOptions {
  /** Who the token acts as; audit records it. */
  subject: string;
  scopes: AdminScope[];
  ttlSeconds?: number;
}

/** Signs a token; every refusal is one line naming the problem (the CLI prints it as is). */
export async function issueAdminToken(privateKeyPem: string, options: IssueTokenOptions): Promise<string> {
  const subject = options.subject?.trim() ?? '';
  if (!subject || subject.length > 200 || /[\u0000-\u001f\u007f]/.test(subject)) {
    throw new ConfigError('token subject must be 1 to 200 printable characters (who the token acts as, e.g. your user name)');
  }
  if (!options.scopes?.length) throw new ConfigError(`a token needs at least one scope (${ADMIN_SCOPES.join(', ')})`);
  const bad = options.scopes.filter((s) => !isAdminScope(s));
  if (bad.length) throw new ConfigError(`unknown scope ${JSON.stringify(bad[0])}; known scopes: ${ADMIN_SCOPES.join(', ')}`);
  const ttl = options.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl <= 0) throw new ConfigError('token lifetime must be a positive whole number of seconds');
  if (ttl > MAX_TOKEN_TTL_SECONDS) {
    throw new ConfigError(`token lifetime ${ttl}s is longer than the maximum of 24h for admin tokens; issue a new one when it expires`);
  }
  const key = crypto.createPrivateKey(privateKeyPem);
  if (key.asymmetricKeyType !== 'ed25519') throw new ConfigError('admin tokens are signed with an Ed25519 key');

  const { SignJWT } = await jose();
  const now = Math.floor(Date.now() / 1000);
  const scopes = parseScopes(options.scopes.join(' ')).scopes; // canonical order, no repeats
  return new SignJWT({ scope: scopes.join(' ') })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setSubject(subject)
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + ttl)
    .setJti(crypto.randomUUID())
    .sign(key);
}

/** A refused token: 401 with RFC 6750's challenge, so HTTP clients know to fetch a new one. */
function tokenError(code: 'token_invalid' | 'token_expired', message: string): AppError {
  return new AppError(401, code, message, { 'WWW-Authenticate': `Bearer realm="${TOKEN_AUDIENCE}", error="invalid_token"` });
}

/**
 * Checks a token and returns whom it acts as. Only EdDSA is accepted (no `none`, no HMAC
 * with the public key as secret), issuer and audience must be ours, and a token claiming
 * a longer life than the maximum is refused even when correctly signed.
 * Error messages never carry the token or any of its content.
 */
export async function verifyAdminToken(publicKey: string | KeyObject, token: string): Promise<AdminPrincipal> {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw tokenError('token_invalid', 'token is not a well-formed signed JWT');
  }
  const key = typeof publicKey === 'string' ? crypto.createPublicKey(publicKey) : publicKey;
  const { jwtVerify } = await jose();
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ['EdDSA'],
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
      typ: 'JWT',
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      maxTokenAge: MAX_TOKEN_TTL_SECONDS, // also refuses an `iat` in the future
      requiredClaims: ['sub', 'iat', 'exp', 'jti', 'scope'],
    }));
  } catch (err) {
    throw joseErrorToAppError(err as { code?: string; claim?: string });
  }

  const { sub, iat, exp, jti, scope } = payload as { sub: unknown; iat: unknown; exp: unknown; jti: unknown; scope: unknown };
  if (typeof sub !== 'string' || sub === '' || typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') {
    throw tokenError('token_invalid', 'token claims sub, jti, iat and exp are missing or of the wrong type');
  }
  if (exp - iat > MAX_TOKEN_TTL_SECONDS) throw tokenError('token_invalid', 'token lifetime is longer than the 24h maximum');
  if (typeof scope !== 'string') throw tokenError('token_invalid', 'token claim "scope" must be a space-separated string');
  const { scopes, unknown } = parseScopes(scope);
  // An unknown scope means a token from a newer or foreign issuer: refuse rather than guess.
  if (unknown.length) throw tokenError('token_invalid', `token carries unknown scope ${JSON.stringify(unknown[0].slice(0, 40))}`);
  if (scopes.length === 0) throw tokenError('token_invalid', 'token carries no scope');
  return { subject: sub, kind: 'token', scopes, tokenId: jti, expiresAt: new Date(exp * 1000) };
}

/** jose's error codes mapped to fixed messages: nothing from the token is echoed. */
function joseErrorToAppError(err: { code?: string; claim?: string }): AppError {
  switch (err?.code) {
    case 'ERR_JWT_EXPIRED':
      return tokenError('token_expired', 'token has expired; issue a new one with `exportfact admin token`');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return tokenError('token_invalid', 'token is not signed with EdDSA');
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return tokenError('token_invalid', "token signature does not match this broker's signing key");
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = ['iss', 'aud', 'iat', 'nbf', 'exp', 'sub', 'jti', 'scope', 'typ'].includes(err.claim ?? '') ? err.claim : 'a';
      return tokenError('token_invalid', `token claim "${claim}" is missing or not valid for the exportfact admin API`);
    }
    default:
      return tokenError('token_invalid', 'token is not a well-formed signed JWT');
  }
}
