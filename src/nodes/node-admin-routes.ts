import express from 'express';
import { z } from 'zod';
import { requireScope } from '../admin/admin-auth';
import { adminPrincipalOf } from '../admin/admin-principal';
import { adminActor } from '../audit/auditor';
import { methodNotAllowed } from '../http/method-not-allowed';
import { parseBody } from '../http/validate';
import { checkCertname } from '../schemas/certname';
import { environmentName } from '../schemas/environment';
import type { NodeLifecycle } from './node-lifecycle';

const listQuery = z.strictObject({
  state: z.enum(['active', 'deactivated', 'expired']).optional(),
  environment: environmentName.optional(),
});
const deactivateBody = z.strictObject({ reason: z.string().min(1).max(500).optional() });

/** Admin API for nodes (scope nodes:read; deactivating and purging need nodes:write). */
export function nodeAdminRoutes(lifecycle: NodeLifecycle): express.Router {
  const r = express.Router();
  const certname = (req: express.Request) => checkCertname(String(req.params.certname));
  const actor = (req: express.Request) => adminActor(adminPrincipalOf(req).subject);

  r.route('/nodes')
    .get(requireScope('nodes:read'), async (req, res) => res.json({ nodes: await lifecycle.list(parseBody(listQuery, req.query)) }))
    .all(methodNotAllowed(['GET']));

  r.route('/nodes/:certname')
    .get(requireScope('nodes:read'), async (req, res) => res.json(await lifecycle.show(certname(req))))
    .all(methodNotAllowed(['GET']));

  r.route('/nodes/:certname/deactivate')
    .post(requireScope('nodes:write'), async (req, res) => {
      const { reason } = parseBody(deactivateBody, req.body ?? {});
      res.json(await lifecycle.deactivate(certname(req), reason ?? null, actor(req)));
    })
    .all(methodNotAllowed(['POST']));

  r.route('/nodes/:certname/purge')
    .post(requireScope('nodes:write'), async (req, res) => {
      parseBody(z.strictObject({}), req.body ?? {});
      res.json(await lifecycle.purge(certname(req), actor(req)));
    })
    .all(methodNotAllowed(['POST']));

  return r;
}
