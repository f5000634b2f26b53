import type { KeyObject } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { Request, RequestHandler } from 'express';
import { AppError } from '../errors/app-error';
import type { Caller } from '../identity/caller';
import type { PeerAuthenticator } from '../tls/peer-authenticator';
import { type AdminPrincipal, adminPrincipalOf, setAdminPrincipal } from './admin-principal';
import { ADMIN_SCOPES, type AdminScope } from './scopes';
import { TOKEN_AUDIENCE, verifyAdminToken } from './token';

export interface AdminAuthOptions {
  authenticator: PeerAuthenticator;
  /** Certnames whose (verified, unrevoked) certificate is an admin: every scope. */
  adminCertnames: string[];
  /** `pp_auth_role` values that make a certificate an admin; none by default. */
  adminRoles: string[];
  /** The key tokens are verified with, as it is now (it may be reloaded); without it, admin certificates only. */
  tokenKey?: () => KeyObject;
}

const CHALLENGE = { 'WWW-Authenticate': `Bearer realm="${TOKEN_AUDIENCE}"` };

/**
 * Establishes the admin principal of a request on the admin listener:
 *  - an admin certificate (certname or pp_auth_role configured) holds every scope;
 *  - otherwise a Bearer token holds the scopes it was issued with.
 * Any certificate presented must verify and must not be revoked, even when a token comes
 * with it. A non-admin certificate (an agent's) is no credential here: it gives no rights.
 * A token that is sent is always checked, even beside an admin certificate, so a bad
 * credential is never silently ignored.
 */
export function adminAuth(options: AdminAuthOptions): RequestHandler {
  const certnames = new Set(options.adminCertnames);
  const roles = new Set(options.adminRoles.filter(Boolean));

  return (req, _res, next) => {
    authenticate(req).then((principal) => {
      setAdminPrincipal(req, principal);
      next();
    }, next);
  };

  async function authenticate(req: Request): Promise<AdminPrincipal> {
    const caller = certificateCaller(req.socket as TLSSocket, options.authenticator);
    const token = bearerToken(req.headers.authorization);
    const tokenPrincipal = token === undefined ? undefined : await verifyToken(token);

    if (caller && (certnames.has(caller.certname) || roles.has(caller.extensions.pp_auth_role ?? ''))) {
      return { subject: caller.certname, kind: 'certificate', scopes: [...ADMIN_SCOPES], certname: caller.certname };
    }
    if (tokenPrincipal) return caller ? { ...tokenPrincipal, certname: caller.certname } : tokenPrincipal;
    if (caller) {
      throw new AppError(
        403,
        'not_an_admin_certificate',
        `certificate ${caller.certname} is not an admin certificate; use an admin certificate or an admin token`,
      );
    }
    throw new AppError(
      401,
      'admin_auth_required',
      'the admin API needs an admin certificate or an admin token (Authorization: Bearer ...)',
      CHALLENGE,
    );
  }

  async function verifyToken(token: string): Promise<AdminPrincipal> {
    if (!options.tokenKey) {
      throw new AppError(
        401,
        'token_invalid',
        'this broker accepts no admin tokens (no signing key configured); use an admin certificate',
        CHALLENGE,
      );
    }
    return verifyAdminToken(options.tokenKey(), token);
  }
}

/**
 * The verified, unrevoked caller behind the presented certificate, or undefined when none
 * was presented. The listener does not reject unverified certificates in the handshake
 * (token users need none), so it is done here: a certificate that is presented and fails
 * verification (foreign CA, expired) is refused outright.
 */
function certificateCaller(socket: TLSSocket, authenticator: PeerAuthenticator): Caller | undefined {
  const peer = socket.getPeerCertificate?.();
  const presented = peer !== undefined && peer !== null && Object.keys(peer).length > 0;
  if (!presented) return undefined;
  if (!socket.authorized) {
    throw new AppError(401, 'certificate_invalid', `client certificate not accepted: ${socket.authorizationError ?? 'unverified'}`, {
      Connection: 'close',
    });
  }
  return authenticator.authenticate(socket); // 401 certificate_revoked, certificate_unusable
}

/** `Authorization: Bearer <token>`; any other use of the header is an error, not "no credential". */
function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(header);
  if (!m) {
    throw new AppError(401, 'token_invalid', 'Authorization header must be "Bearer <token>"', {
      'WWW-Authenticate': `Bearer realm="${TOKEN_AUDIENCE}", error="invalid_request"`,
    });
  }
  return m[1];
}

/** Refuses, with 403 insufficient_scope naming the scope, a principal that lacks it. */
export function requireScope(scope: AdminScope): RequestHandler {
  return (req, _res, next) => {
    const principal = adminPrincipalOf(req);
    if (principal.scopes.includes(scope)) return next();
    next(
      new AppError(
        403,
        'insufficient_scope',
        `this needs scope ${scope}; the ${principal.kind} of ${principal.subject} grants ${principal.scopes.join(', ') || 'none'}`,
        {
          'WWW-Authenticate': `Bearer realm="${TOKEN_AUDIENCE}", error="insufficient_scope", scope="${scope}"`,
        },
      ),
    );
  };
}
