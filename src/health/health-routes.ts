import express from 'express';
import { methodNotAllowed } from '../http/method-not-allowed';
import type { BrokerHealth } from './broker-health';
import type { BrokerMetrics } from './metrics';

/** Admin-port health: the details (CRLs, policy file and its last error, audit integrity), for any admin. */
export function healthAdminRoutes(health: BrokerHealth): express.Router {
  const r = express.Router();
  r.route('/health')
    .get(async (_req, res) => {
      res.json(await health.report());
    })
    .all(methodNotAllowed(['GET']));
  return r;
}

/** Agent-port health: nodes learn whether the broker is well, not which files and errors it has. */
export function healthRoutes(health: BrokerHealth, metrics: BrokerMetrics): express.Router {
  const r = express.Router();

  r.route('/v1/health')
    .get(async (_req, res) => {
      const { status } = await health.report();
      res.json({ status });
    })
    .all(methodNotAllowed(['GET']));

  r.route('/v1/ready')
    .get(async (_req, res) => {
      const ok = await health.storeAnswers();
      res.status(ok ? 200 : 503).json({ ready: ok });
    })
    .all(methodNotAllowed(['GET']));

  r.route('/metrics')
    .get(async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    })
    .all(methodNotAllowed(['GET']));

  return r;
}
