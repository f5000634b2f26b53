import type { KeyObject } from 'node:crypto';
import express from 'express';
import { adminAuth } from '../admin/admin-auth';
import { adminPrincipalOf, findAdminPrincipal } from '../admin/admin-principal';
import { TokenVerifyKey } from '../admin/token';
import { AppError } from '../errors/app-error';
import { errorMapper, sendError } from '../http/error-mapper';
import { requestLog } from '../http/request-log';
import type { Logger } from '../log/logger';
import { createMtlsServer } from '../tls/mtls-server';
import type { PeerAuthenticator } from '../tls/peer-authenticator';
import type { RevocationList } from '../tls/revocation';
import type { TlsMaterial } from '../tls/tls-material';
import { listenError } from './listen-addresses';
import { uiRoutes } from './ui-routes';

export interface AdminServerOptions {
  /** Loopback by default (the caller passes 127.0.0.1:8151): admin commands run on the broker's host. */
  host: string;
  port: number;
  tls: TlsMaterial;
  revocation: RevocationList;
  /** The broker's one authenticator: the same trust, revocation and caches as the agent port. */
  authenticator: PeerAuthenticator;
  adminCertnames: string[];
  adminRoles: string[];
  /** The key tokens are verified with, as it is now; without it, admin certificates are the only way in. */
  tokenKey?: () => KeyObject;
  /** Mounted under /admin/v1, behind authentication; each route picks its scope with requireScope. */
  routers: express.Router[];
  log: Logger;
  bodyLimitBytes?: number;
  requestTimeoutMs?: number;
  /** The option that set host and port, for the one-line error when they cannot be bound. */
  listenOption?: string;
}

export interface AdminServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The admin listener of a broker, with its token signing key (created if absent, reloaded when replaced). */
export interface AdminListener extends AdminServer {
  /** SIGHUP: re-reads the token signing key. */
  reload(): Promise<void>;
}

/** res.locals key of the error code a request was refused with, for its log line. */
const REFUSAL = 'exportfactRefusal';

/** The admin API's HTTP layer: log, authenticate, route, map errors. */
export function createAdminApp(opts: AdminServerOptions, authenticator: PeerAuthenticator): express.Express {
  const app = express();
  app.set('etag', false);
  app.set('x-powered-by', false);
  app.set('query parser', 'simple'); // flat key=value only, as on the agent port: no nested objects from the query string

  // The same one line per request as the agent port, with who acted or why it was refused
  // (failed admin logins are worth watching). No bodies, no headers (Authorization).
  const log = opts.log.child({ listener: 'admin' });
  app.use(
    requestLog(log, (req, res) => {
      const principal = findAdminPrincipal(req);
      const refused = res.locals[REFUSAL] as string | undefined;
      return { ...(principal ? { admin: principal.subject, auth: principal.kind } : {}), ...(refused ? { refused } : {}) };
    }),
  );

  // The deployment page: static files, nothing secret in them, so served before authentication
  // (the page itself calls the API with the token from its address's fragment, or the browser's
  // admin certificate). Everything is in the package: the broker works offline.
  app.use('/ui', uiRoutes());

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
  const { authenticator } = opts;
  const app = createAdminApp(opts, authenticator);
  const server = createMtlsServer({
    tls: opts.tls,
    app,
    requireClientCert: false,
    revocation: opts.revocation,
    authenticator,
    log: opts.log,
    listener: 'admin',
    requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
  });
  const { url, port } = await server.listen(opts.host, opts.port).catch((err: unknown) => {
    throw listenError(opts.listenOption ?? 'the admin listener', opts.host, opts.port, err);
  });
  opts.log.info(
    {
      listen: url.replace('https://', ''),
      admin_certnames: opts.adminCertnames.length,
      admin_roles: opts.adminRoles,
      tokens: opts.tokenKey !== undefined,
    },
    'exportfact admin API listening',
  );
  return { url, port, close: () => server.close() };
}

/** startAdminServer with the token signing key file of `serve` (--admin-signing-key), watched for replacement. */
export async function startAdminListener(
  opts: Omit<AdminServerOptions, 'tokenKey'> & { signingKeyFile: string; keyWatchMs: number },
): Promise<AdminListener> {
  const { key, created } = await TokenVerifyKey.open(opts.signingKeyFile, opts.log);
  if (created) opts.log.info({ file: opts.signingKeyFile }, 'admin token signing key created (mode 0600)');
  const unwatch = key.watch(opts.keyWatchMs);
  try {
    const server = await startAdminServer({ ...opts, tokenKey: () => key.current });
    return {
      ...server,
      reload: async () => void (await key.reload()),
      close: async () => {
        unwatch();
        await server.close();
      },
    };
  } catch (err) {
    unwatch();
    throw err;
  }
}
