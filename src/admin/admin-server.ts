import type { KeyObject } from 'node:crypto';
import express from 'express';
import pinoHttp from 'pino-http';
import { AppError } from '../errors/app-error';
import { errorMapper, sendError } from '../http/error-mapper';
import type { Logger } from '../log/logger';
import { createMtlsServer } from '../tls/mtls-server';
import { PeerAuthenticator } from '../tls/peer-authenticator';
import type { RevocationList } from '../tls/revocation';
import type { TlsMaterial } from '../tls/tls-material';
import { adminAuth } from './admin-auth';
import { adminPrincipalOf, findAdminPrincipal } from './admin-principal';

export interface AdminServerOptions {
  /** Loopback by default (the caller passes 127.0.0.1:8151): admin commands run on the broker's host. */
  host: string;
  port: number;
  tls: TlsMaterial;
  revocation: RevocationList;
  defaultEnvironment: string;
  adminCertnames: string[];
  adminRoles: string[];
  /** The key tokens are verified with, as it is now; without it, admin certificates are the only way in. */
  tokenKey?: () => KeyObject;
  /** Mounted under /admin/v1, behind authentication; each route picks its scope with requireScope. */
  routers: express.Router[];
  log: Logger;
  bodyLimitBytes?: number;
  requestTimeoutMs?: number;
}

export interface AdminServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** res.locals key of the error code a request was refused with, for its log line. */
const REFUSAL = 'exportfactRefusal';

/** A token in a URL would otherwise reach the log; we never take one there, but people paste. */
const JWT_LIKE = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

/** The admin API's HTTP layer: log, authenticate, route, map errors. */
export function createAdminApp(opts: AdminServerOptions, authenticator: PeerAuthenticator): express.Express {
  const app = express();
  app.set('etag', false);
  app.set('x-powered-by', false);

  app.use(
    pinoHttp({
      // Bound here, not in customProps: pino-http adds those again at the end of the request.
      logger: opts.log.child({ listener: 'admin' }),
      // One line per request: who, what, status, time. No bodies, no headers (Authorization).
      serializers: {
        req: (req) => ({ method: req.method, url: String(req.url).replace(JWT_LIKE, '[redacted]') }),
        res: (res) => ({ status: res.statusCode }),
      },
      // Who acted, or why the request was refused (failed admin logins are worth watching).
      customProps: (req, res) => {
        const principal = findAdminPrincipal(req as express.Request);
        const refused = (res as express.Response).locals?.[REFUSAL] as string | undefined;
        return { ...(principal ? { admin: principal.subject, auth: principal.kind } : {}), ...(refused ? { refused } : {}) };
      },
      customSuccessMessage: () => 'admin request',
      customErrorMessage: () => 'admin request',
      wrapSerializers: false,
      quietReqLogger: true,
    }),
  );

  app.use(
    adminAuth({
      authenticator,
      adminCertnames: opts.adminCertnames,
      adminRoles: opts.adminRoles,
      tokenKey: opts.tokenKey,
    }),
  );
  // Bodies are parsed only for authenticated callers.
  app.use('/admin/v1', express.json({ limit: opts.bodyLimitBytes ?? 64 * 1024, strict: false, type: 'application/json' }));

  const builtIn = express.Router();
  builtIn.get('/whoami', (req, res) => {
    const p = adminPrincipalOf(req);
    res.json({ subject: p.subject, kind: p.kind, scopes: p.scopes, ...(p.expiresAt ? { expires_at: p.expiresAt.toISOString() } : {}) });
  });
  app.use('/admin/v1', builtIn);
  for (const router of opts.routers) app.use('/admin/v1', router);

  app.use((req, res) => sendError(res, 404, 'route_not_found', `no admin route ${req.method} ${req.path}`));
  const noteRefusal: express.ErrorRequestHandler = (err, _req, res, next) => {
    if (err instanceof AppError) res.locals[REFUSAL] = err.code;
    next(err);
  };
  app.use(noteRefusal);
  app.use(errorMapper(opts.log));
  return app;
}

/**
 * The admin listener: separate from the agent port so it can stay on loopback, and so the
 * agent port keeps refusing anything but a Puppet certificate in the handshake. Here the
 * handshake must let certificate-less token users in (rejectUnauthorized: false); a
 * certificate that is presented is still verified, per request, by adminAuth.
 */
export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const authenticator = new PeerAuthenticator(opts.revocation, opts.defaultEnvironment, opts.tls.trust);
  const app = createAdminApp(opts, authenticator);
  const server = createMtlsServer({ tls: opts.tls, app, requireClientCert: false, revocation: opts.revocation, authenticator, log: opts.log, listener: 'admin', requestTimeoutMs: opts.requestTimeoutMs ?? 30_000 });
  const { url, port } = await server.listen(opts.host, opts.port);
  opts.log.info(
    { listen: url.replace('https://', ''), admin_certnames: opts.adminCertnames.length, admin_roles: opts.adminRoles, tokens: opts.tokenKey !== undefined },
    'exportfact admin API listening',
  );
  return { url, port, close: () => server.close() };
}
