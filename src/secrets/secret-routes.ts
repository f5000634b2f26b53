import express from 'express';
import { callerOf } from '../http/caller';
import { factParams } from '../http/fact-params';
import { methodNotAllowed } from '../http/method-not-allowed';
import { parseBody } from '../http/validate';
import { generateBody, versionQuery } from './secret-schemas';
import type { SecretService } from './secret-service';

/** Agent-port routes: a node reads a secret, or asks the broker to generate one if absent. */
export function secretRoutes(secrets: SecretService): express.Router {
  const r = express.Router();

  r.route('/secrets/:category/:name')
    .get(async (req, res) => {
      const { category, name } = factParams(req);
      const { version } = parseBody(versionQuery, req.query);
      res.set('Cache-Control', 'no-store').json(await secrets.read(callerOf(req), category, name, version));
    })
    .all(methodNotAllowed(['GET']));

  r.route('/secrets/:category/:name/generate')
    .post(async (req, res) => {
      const { category, name } = factParams(req);
      const body = parseBody(generateBody, req.body ?? {});
      const result = await secrets.generate(callerOf(req), category, name, body);
      res
        .status(result.created ? 201 : 200)
        .set('Cache-Control', 'no-store')
        .json(result);
    })
    .all(methodNotAllowed(['POST']));

  return r;
}
