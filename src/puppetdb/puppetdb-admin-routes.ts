import express from 'express';
import { z } from 'zod';
import { requireScope } from '../admin/admin-auth';
import { adminPrincipalOf } from '../admin/admin-principal';
import { adminActor } from '../audit/auditor';
import { parsePuppetdbUrl } from '../config/puppetdb-url';
import { BadRequestError } from '../errors/app-error';
import { ConfigError } from '../errors/config-error';
import { methodNotAllowed } from '../http/method-not-allowed';
import { parseBody } from '../http/validate';
import { DEFAULT_SENSITIVE_NAMES, type FactImporter, sensitiveNameGlobs } from './fact-import';
import type { PuppetdbClient } from './puppetdb-client';

const importBody = z.strictObject({
  puppetdb_url: z.string().min(1).max(2000).optional(),
  apply: z.boolean().default(false),
  sensitive_names: z.array(z.string().max(64)).max(100).optional(),
});

/**
 * Admin API for PuppetDB (scope facts:import): `POST /puppetdb/import` reads the old module's
 * exports from PuppetDB with the broker's certificate and imports them (a dry run unless
 * `apply`). It runs in the broker, not in the CLI, because only the broker may write its store
 * (the embedded store is locked by the running broker), holds the keys secrets are sealed with,
 * and knows which admin asks.
 */
export function puppetdbAdminRoutes(deps: {
  importer: FactImporter;
  /** A client for a (checked) URL, with the broker's certificate. */
  clientFor: (url: string) => PuppetdbClient;
  /** --puppetdb-url, used when the request names none. */
  defaultUrl?: string;
}): express.Router {
  const r = express.Router();
  r.route('/puppetdb/import')
    .post(requireScope('facts:import'), async (req, res) => {
      const body = parseBody(importBody, req.body ?? {});
      const url = body.puppetdb_url ?? deps.defaultUrl;
      if (!url) throw new BadRequestError('invalid_body', 'field puppetdb_url: is required (the broker has no --puppetdb-url)');
      try {
        parsePuppetdbUrl(url, body.puppetdb_url ? 'field puppetdb_url' : '--puppetdb-url');
      } catch (err) {
        if (err instanceof ConfigError) throw new BadRequestError('invalid_body', err.message);
        throw err;
      }
      const client = deps.clientFor(url);
      const sensitiveNames = body.sensitive_names ?? DEFAULT_SENSITIVE_NAMES;
      const globs = sensitiveNameGlobs(sensitiveNames);
      if (typeof globs === 'string') throw new BadRequestError('invalid_body', `field sensitive_names: ${globs}`);
      const report = await deps.importer.run(client, {
        apply: body.apply,
        sensitiveNames,
        actor: adminActor(adminPrincipalOf(req).subject),
      });
      res.set('Cache-Control', 'no-store').json(report);
    })
    .all(methodNotAllowed(['POST']));
  return r;
}
