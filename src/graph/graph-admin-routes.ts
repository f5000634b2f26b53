import express from 'express';
import { z } from 'zod';
import { requireScope } from '../admin/admin-auth';
import { methodNotAllowed } from '../http/method-not-allowed';
import { parseBody } from '../http/validate';
import { environmentName } from '../schemas/environment';
import type { GraphService } from './graph-service';

/** Admin API: the deployment picture of an environment (scope graph:read); an unknown environment is an empty picture. */
export function graphAdminRoutes(deps: { graph: GraphService; defaultEnvironment: string }): express.Router {
  const r = express.Router();
  const query = z.strictObject({ environment: environmentName.default(deps.defaultEnvironment) });
  r.route('/graph')
    .get(requireScope('graph:read'), async (req, res) => {
      const { environment } = parseBody(query, req.query);
      res.set('Cache-Control', 'no-store').json(await deps.graph.graph(environment));
    })
    .all(methodNotAllowed(['GET']));
  return r;
}
