import type { IncomingMessage, ServerResponse } from 'node:http';
import type express from 'express';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { checkName } from '../schemas/fact-name';

/**
 * `GET /v1/facts` and `GET /v1/facts/<category>` without a query string: the agent's sync,
 * one per Puppet run and node. Measured (bench/profile-sync.ts, brokers side by side in one
 * run): walking express's router for it cost 0.15–0.2 × a bare TLS handshake, three times
 * what the whole handler costs; issue 14 allows 0.10 for everything the broker adds.
 *
 * So these two URLs skip the router, and nothing else: express sets up req and res as it
 * would (the same prototypes, so every helper works), the same request-log, metrics and
 * authentication middleware run in the same order, the same handler answers, and an error
 * goes to the same error mapper. Any other request — a query string (`?wait=`), another
 * method, an encoded or odd path — takes the router as before.
 */
const VIEW_PATH = /^\/v1\/facts(?:\/([A-Za-z0-9_][A-Za-z0-9_.:-]*))?$/;

/** What the log line and the metrics label name the route, as express's req.route would. */
const ROUTES = { all: { path: '/facts' }, category: { path: '/facts/:category' } };

export interface FastPathParts {
  app: express.Express;
  /** Run in this order before the view; each calls next() (or next(err)) exactly as under express. */
  before: RequestHandler[];
  view(req: Request, res: Response, category?: string): Promise<void>;
  errors: ErrorRequestHandler;
}

export function withViewFastPath(p: FastPathParts): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    // A body (which express.json would read, or refuse) also takes the router.
    const bodiless = req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined;
    const m = req.method === 'GET' && bodiless ? VIEW_PATH.exec(req.url ?? '') : null;
    if (!m) return void p.app(req, res);
    // What express's app.handle and router.handle set up before the first middleware.
    const ereq = req as Request;
    const eres = res as Response;
    ereq.res = eres;
    eres.req = ereq;
    Object.setPrototypeOf(req, p.app.request);
    Object.setPrototypeOf(res, p.app.response);
    eres.locals ??= Object.create(null);
    ereq.originalUrl = req.url!;
    ereq.baseUrl = '';
    const category = m[1];
    const fail = (err: unknown): void => void p.errors(err, ereq, eres, () => undefined);
    let i = 0;
    const next = (err?: unknown): void => {
      if (err) return void fail(err);
      const step = p.before[i++];
      if (step) {
        try {
          step(ereq, eres, next);
        } catch (e) {
          fail(e);
        }
        return;
      }
      (ereq as { route?: unknown }).route = category === undefined ? ROUTES.all : ROUTES.category;
      (ereq as { params?: unknown }).params = category === undefined ? {} : { category };
      let answer: Promise<void>;
      try {
        answer = p.view(ereq, eres, category === undefined ? undefined : checkName('category', category));
      } catch (e) {
        return void fail(e);
      }
      answer.catch(fail);
    };
    next();
  };
}
