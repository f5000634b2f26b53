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

/** Set on views served from memory while the database is out of reach. */
export const STALE_HEADER = 'Exportfact-Stale';

/** Routes parse, call one service method, and shape the answer; rules live in the service. */
export function factRoutes(facts: FactService): express.Router {
  const r = express.Router();

  const sendView = async (req: Request, res: Response, category?: string) => {
    const caller = callerOf(req);
    // The cheap path first: a tag that still matches costs one primary-key lookup.
    const tag = await facts.currentTag(caller, category);
    res.set('ETag', tag.etag).set('Cache-Control', 'private, no-cache');
    // The database is out of reach: this is the last view this broker knew, and it says so.
    if (tag.stale) res.set(STALE_HEADER, 'database unreachable; this view may be out of date');
    if (matchesIfNoneMatch(req.get('If-None-Match'), tag.etag)) return void res.status(304).end();
    const view = await facts.view(caller, category, tag);
    res.set('ETag', view.etag).type('application/json').send(view.body);
  };

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

/** express.json() leaves the body unset when the type is not JSON: say so instead of "value is required". */
function requireJson(req: Request): void {
  if (!req.is('application/json')) {
    throw new AppError(415, 'unsupported_media_type', 'request body must be JSON with Content-Type: application/json');
  }
}
