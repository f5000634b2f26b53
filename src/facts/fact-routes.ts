import express, { type Request, type Response } from 'express';
import { AppError } from '../errors/app-error';
import { callerOf } from '../http/caller';
import { matchesIfNoneMatch } from '../http/etag';
import { factParams } from '../http/fact-params';
import { methodNotAllowed } from '../http/method-not-allowed';
import { parseBody } from '../http/validate';
import { checkName } from '../schemas/fact-name';
import { pruneBody, publishBody } from './fact-schemas';
import type { FactService } from './fact-service';
import { jittered, parseWait, type ViewWaiters } from './view-waiters';

/** What watch requests count (prom-client's gauges and counters fit; facts/ does not know health/). */
export interface WatchMetrics {
  /** Requests held now. */
  waiting: { inc(): void; dec(): void };
  /** Held requests answered 200 because the view changed. */
  woken: { inc(): void };
  /** Held requests answered 304 at the end of their wait. */
  timedOut: { inc(): void };
  /** Held requests whose client went away first. */
  gone: { inc(): void };
}

export interface WatchDeps {
  waiters: ViewWaiters;
  metrics?: WatchMetrics;
}

/** Set on views served from memory while the database is out of reach. */
export const STALE_HEADER = 'Exportfact-Stale';

/**
 * Answers GET /v1/facts[/:category] for the authenticated caller: ETag, 304, the stale header,
 * and with `?wait=` a held request. Shared by the route below and the agent port's fast path
 * (src/app/view-fast-path.ts), so both answer alike.
 */
export function viewSender(facts: FactService, watch?: WatchDeps) {
  return async (req: Request, res: Response, category?: string): Promise<void> => {
    const caller = callerOf(req);
    const wait = parseWait(req.query as Record<string, unknown>);
    const known = req.headers['if-none-match'];
    // The cheap path first: a tag that still matches costs one primary-key lookup.
    let tag = await facts.currentTag(caller, category);
    // `If-None-Match: *` matches whatever the view becomes: answered at once, as HTTP says.
    if (wait && watch && known?.trim() !== '*' && matchesIfNoneMatch(known, tag.etag)) {
      const held = await holdView(watch, res, caller.environment, wait, {
        readTag: () => facts.currentTag(caller, category),
        isChanged: (t) => !matchesIfNoneMatch(known, t.etag),
      });
      if (!held) return; // the client went away: nobody to answer
      tag = held;
    }
    // Plain setHeader/end rather than express's res.set/type/send: those look up MIME types,
    // test freshness again and build charsets per call, a measurable share of a sync.
    res.setHeader('ETag', tag.etag);
    res.setHeader('Cache-Control', 'private, no-cache');
    // The database is out of reach: this is the last view this broker knew, and it says so.
    if (tag.stale) res.setHeader(STALE_HEADER, 'database unreachable; this view may be out of date');
    if (matchesIfNoneMatch(known, tag.etag)) {
      res.statusCode = 304;
      return void res.end();
    }
    const view = await facts.view(caller, category, tag);
    res.setHeader('ETag', view.etag);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(view.body));
    res.end(req.method === 'HEAD' ? undefined : view.body);
  };
}

/** Routes parse, call one service method, and shape the answer; rules live in the service. */
export function factRoutes(facts: FactService, watch?: WatchDeps): express.Router {
  const r = express.Router();

  const sendView = viewSender(facts, watch);

  r.route('/facts')
    .get((req, res) => sendView(req, res))
    .all(methodNotAllowed(['GET']));

  r.route('/facts/:category')
    .get((req, res) => sendView(req, res, checkName('category', String(req.params.category))))
    .all(methodNotAllowed(['GET']));

  r.route('/facts/:category/:name')
    .put(async (req, res) => {
      const { category, name } = factParams(req);
      requireJson(req);
      const body = parseBody(publishBody, req.body);
      const result = await facts.publish(callerOf(req), {
        category,
        name,
        value: body.value,
        sensitive: body.sensitive,
        multi: body.multi,
      });
      const { created, ...shown } = result;
      res.status(created ? 201 : 200).json(shown);
    })
    .delete(async (req, res) => {
      const { category, name } = factParams(req);
      const { version } = await facts.withdraw(callerOf(req), category, name);
      res.json({ environment: callerOf(req).environment, category, name, withdrawn: true, version });
    })
    .all(methodNotAllowed(['PUT', 'DELETE']));

  r.route('/exports')
    .get(async (req, res) => res.json({ exports: await facts.exports(callerOf(req)) }))
    .all(methodNotAllowed(['GET']));

  r.route('/exports/prune')
    .post(async (req, res) => {
      requireJson(req);
      const { keep } = parseBody(pruneBody, req.body);
      res.json({ withdrawn: await facts.prune(callerOf(req), keep) });
    })
    .all(methodNotAllowed(['POST']));

  return r;
}

type Tag = Awaited<ReturnType<FactService['currentTag']>>;

/**
 * Holds a request whose caller already has the current view until the view changes or the
 * (jittered) wait ends; the latest tag, or undefined when the client closed the connection
 * (its waiter is dropped at once: nothing is kept for a client that is gone).
 */
async function holdView(
  watch: WatchDeps,
  res: Response,
  environment: string,
  waitMs: number,
  tags: { readTag(): Promise<Tag>; isChanged(tag: Tag): boolean },
): Promise<Tag | undefined> {
  const gone = new AbortController();
  const onClose = () => gone.abort();
  res.once('close', onClose);
  // The request's socket, not the response's: a request that arrives on a kept-alive connection
  // while the previous response is still finishing has no res.socket yet (Node assigns it once
  // that response is done), and taking that for a client gone left the request unanswered.
  if (res.req.socket.destroyed) gone.abort();
  // Its duration is the wait, not the broker's latency: kept out of the request duration histogram.
  res.locals.held = true;
  const m = watch.metrics;
  m?.waiting.inc();
  try {
    const { outcome, tag } = await watch.waiters.hold(environment, tags.readTag, tags.isChanged, jittered(waitMs), gone.signal);
    (outcome === 'changed' ? m?.woken : outcome === 'timeout' ? m?.timedOut : m?.gone)?.inc();
    return tag;
  } finally {
    res.off('close', onClose);
    m?.waiting.dec();
  }
}

/** express.json() leaves the body unset when the type is not JSON: say so instead of "value is required". */
function requireJson(req: Request): void {
  if (!req.is('application/json')) {
    throw new AppError(415, 'unsupported_media_type', 'request body must be JSON with Content-Type: application/json');
  }
}
