import express from 'express';
import { z } from 'zod';
import { requireScope } from '../admin/admin-auth';
import { adminPrincipalOf } from '../admin/admin-principal';
import { factParams } from '../http/fact-params';
import { methodNotAllowed } from '../http/method-not-allowed';
import { parseBody } from '../http/validate';
import { checkCertname } from '../schemas/certname';
import { environmentName } from '../schemas/environment';
import { factName } from '../schemas/fact-name';
import { isoTime, wholeNumber } from '../schemas/query-values';
import type { AuditService } from './audit-service';

const envQuery = (fallback: string) => z.strictObject({ environment: environmentName.default(fallback) });
const eventQuery = z.strictObject({
  since: isoTime.optional(),
  until: isoTime.optional(),
  actor: z.string().max(255).optional(),
  environment: environmentName.optional(),
  category: factName.optional(),
  name: factName.optional(),
  action: z.string().max(64).optional(),
  limit: wholeNumber(1, 10_000).default(100),
});

/** Admin API for audit (scope audit:read; pruning needs audit:prune). Routes parse and call the service. */
export function auditAdminRoutes(deps: { audit: AuditService; defaultEnvironment: string }): express.Router {
  const r = express.Router();
  const { audit } = deps;
  const env = envQuery(deps.defaultEnvironment);
  const fact = (req: express.Request) => ({ ...factParams(req), ...parseBody(env, req.query) });

  r.route('/audit/facts/:category/:name/sightings')
    .get(requireScope('audit:read'), async (req, res) => {
      const f = fact(req);
      res.json({ ...f, sightings: await audit.whoSaw(f.environment, f.category, f.name) });
    })
    .all(methodNotAllowed(['GET']));

  r.route('/audit/facts/:category/:name/not-current')
    .get(requireScope('audit:read'), async (req, res) => {
      const f = fact(req);
      res.json({ ...f, nodes: await audit.notCurrent(f.environment, f.category, f.name) });
    })
    .all(methodNotAllowed(['GET']));

  r.route('/audit/nodes/:certname/sightings')
    .get(requireScope('audit:read'), async (req, res) => {
      const { since } = parseBody(z.strictObject({ since: isoTime.optional() }), req.query);
      const certname = checkCertname(String(req.params.certname));
      res.json({ certname, sightings: await audit.nodeSaw(certname, since) });
    })
    .all(methodNotAllowed(['GET']));

  r.route('/audit/events')
    .get(requireScope('audit:read'), async (req, res) => res.json({ events: await audit.events(parseBody(eventQuery, req.query)) }))
    .all(methodNotAllowed(['GET']));

  r.route('/audit/leaked')
    .post(requireScope('audit:read'), async (req, res) => {
      const { fingerprints } = parseBody(
        z.strictObject({
          fingerprints: z
            .array(z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits'))
            .min(1)
            .max(16),
        }),
        req.body,
      );
      res.json({
        matches: await audit.leaked(
          adminPrincipalOf(req).subject,
          fingerprints.map((h) => Buffer.from(h, 'hex')),
        ),
      });
    })
    .all(methodNotAllowed(['POST']));

  r.route('/audit/verify')
    .get(requireScope('audit:read'), async (_req, res) => res.json(await audit.verify()))
    .all(methodNotAllowed(['GET']));

  r.route('/audit/prune')
    .post(requireScope('audit:prune'), async (req, res) => {
      const { before } = parseBody(z.strictObject({ before: isoTime }), req.body);
      res.json(await audit.prune(adminPrincipalOf(req).subject, before));
    })
    .all(methodNotAllowed(['POST']));

  return r;
}
