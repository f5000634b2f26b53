import express from 'express';
import { z } from 'zod';
import { requireScope } from '../admin/admin-auth';
import { adminPrincipalOf } from '../admin/admin-principal';
import { adminActor } from '../audit/auditor';
import { factParams } from '../http/fact-params';
import { methodNotAllowed } from '../http/method-not-allowed';
import { parseBody } from '../http/validate';
import type { Logger } from '../log/logger';
import { environmentName } from '../schemas/environment';
import { keyId } from '../schemas/key-id';
import { wholeNumber } from '../schemas/query-values';
import type { KeyRotation } from './key-rotation';
import { promoteBody, rotateBody } from './secret-schemas';
import type { SecretService } from './secret-service';

const environmentQuery = (fallback: string) =>
  z.strictObject({
    environment: environmentName.default(fallback),
    version: wholeNumber(1, 2 ** 31 - 1).optional(),
  });
const listQuery = z.strictObject({ environment: environmentName.optional() });

/** Admin API for secrets and keys (mounted under /admin/v1 on the admin listener). */
export function secretAdminRoutes(deps: {
  secrets: SecretService;
  keyRotation: KeyRotation;
  addKey: () => Promise<string>;
  defaultEnvironment: string;
  log: Logger;
}): express.Router {
  const { secrets, keyRotation, log } = deps;
  const r = express.Router();
  const query = environmentQuery(deps.defaultEnvironment);
  const names = (req: express.Request) => ({ ...factParams(req), ...parseBody(query, req.query) });

  r.route('/secrets')
    .get(requireScope('secrets:read'), async (req, res) => {
      const { environment } = parseBody(listQuery, req.query);
      const rows = await secrets.list(environment);
      res.json({ secrets: rows });
    })
    .all(methodNotAllowed(['GET']));

  r.route('/secrets/:category/:name')
    .get(requireScope('secrets:read'), async (req, res) => {
      const { category, name, environment, version } = names(req);
      const shown = await secrets.show(adminActor(adminPrincipalOf(req).subject), environment, category, name, version);
      log.info(
        { admin: adminPrincipalOf(req).subject, environment, category, name, versions: shown.values.map((v) => v.version) },
        'admin read a secret',
      );
      res.set('Cache-Control', 'no-store').json(shown);
    })
    .all(methodNotAllowed(['GET']));

  r.route('/secrets/:category/:name/status')
    .get(requireScope('secrets:read'), async (req, res) => {
      const { category, name, environment } = names(req);
      res.json(await secrets.status(environment, category, name));
    })
    .all(methodNotAllowed(['GET']));

  r.route('/secrets/:category/:name/rotate')
    .post(requireScope('secrets:rotate'), async (req, res) => {
      const { category, name, environment } = names(req);
      const body = parseBody(rotateBody, req.body ?? {});
      const result = await secrets.rotate(adminActor(adminPrincipalOf(req).subject), environment, category, name, {
        value: body.value,
        pending: body.pending,
      });
      log.info(
        { admin: adminPrincipalOf(req).subject, environment, category, name, version: result.version, state: result.state },
        'secret rotated',
      );
      res.json(result);
    })
    .all(methodNotAllowed(['POST']));

  r.route('/secrets/:category/:name/promote')
    .post(requireScope('secrets:rotate'), async (req, res) => {
      const { category, name, environment } = names(req);
      const { version } = parseBody(promoteBody, req.body);
      const result = await secrets.promote(adminActor(adminPrincipalOf(req).subject), environment, category, name, version);
      log.info({ admin: adminPrincipalOf(req).subject, environment, category, name, version }, 'secret version promoted');
      res.json(result);
    })
    .all(methodNotAllowed(['POST']));

  r.route('/keys')
    .get(requireScope('keys:rotate'), async (_req, res) => res.json(await keyRotation.status()))
    .all(methodNotAllowed(['GET']));

  r.route('/keys/rotate')
    .post(requireScope('keys:rotate'), async (req, res) => {
      const { key_id } = parseBody(z.strictObject({ key_id: keyId.optional() }), req.body ?? {});
      const target = key_id ?? (await deps.addKey());
      const rotation = await keyRotation.request(target, adminActor(adminPrincipalOf(req).subject));
      res.status(202).json({ rotation: { id: rotation.id, target_key_id: rotation.target_key_id, state: rotation.state } });
    })
    .all(methodNotAllowed(['POST']));

  return r;
}
