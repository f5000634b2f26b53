import type { TLSSocket } from 'node:tls';
import express from 'express';
import { factRoutes } from '../facts/fact-routes';
import { gateRoutes } from '../gates/gate-routes';
import type { BrokerHealth } from '../health/broker-health';
import { healthRoutes } from '../health/health-routes';
import type { BrokerMetrics } from '../health/metrics';
import { findCaller, setCaller } from '../http/caller';
import { errorMapper, sendError } from '../http/error-mapper';
import { requestLog } from '../http/request-log';
import type { Logger } from '../log/logger';
import { nodeRoutes } from '../nodes/node-routes';
import { secretRoutes } from '../secrets/secret-routes';
import type { Services } from '../services';
import type { PeerAuthenticator } from '../tls/peer-authenticator';

export interface AppDeps {
  health: BrokerHealth;
  services: Services;
  authenticator: PeerAuthenticator;
  metrics: BrokerMetrics;
  log: Logger;
  bodyLimitBytes: number;
}

/** The agent port's HTTP layer: authenticate, log, route, map errors. Nothing else. */
export function createAgentApp(deps: AppDeps): express.Express {
  const app = express();
  app.set('etag', false); // views carry their own tag; hashing every body would cost more than the 304 saves
  app.set('x-powered-by', false);
  app.set('query parser', 'simple'); // flat key=value only: no nested objects from the query string

  app.use(requestLog(deps.log, (req) => ({ certname: findCaller(req)?.certname })));

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      const labels = { route, method: req.method };
      deps.metrics.requests.inc({ ...labels, status: String(res.statusCode) });
      if (!res.locals.held) deps.metrics.duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  });

  // Identity comes from the verified certificate only, never from a header or the body.
  app.use((req, _res, next) => {
    try {
      const caller = deps.authenticator.authenticate(req.socket as TLSSocket);
      setCaller(req, caller);
      deps.services.nodes.seen(caller);
      // A deactivated or expired node is active again before its request is handled.
      const returning = deps.services.lifecycle.returning(caller);
      if (returning) returning.then(() => next(), next);
      else next();
    } catch (err) {
      next(err);
    }
  });

  app.use(healthRoutes(deps.health, deps.metrics));
  app.use('/v1', express.json({ limit: deps.bodyLimitBytes, strict: false, type: 'application/json' }));
  app.use('/v1', factRoutes(deps.services.facts, { waiters: deps.services.viewVersions.waiters, metrics: deps.metrics.watch }));
  app.use('/v1', secretRoutes(deps.services.secrets));
  app.use('/v1', nodeRoutes(deps.services.nodes));
  app.use('/v1', gateRoutes(deps.services.gates));

  app.use((req, res) => sendError(res, 404, 'route_not_found', `no route ${req.method} ${req.path}; see docs/api.md`));
  app.use(errorMapper(deps.log));
  return app;
}
