import express from 'express';
import type { Store } from '../db/store';
import type { PolicyHolder } from '../policy';
import { methodNotAllowed } from '../http/method-not-allowed';
import type { RevocationList } from '../tls/revocation';
import type { BrokerMetrics } from './metrics';

export function healthRoutes(store: Store, revocation: RevocationList, metrics: BrokerMetrics, policy: PolicyHolder): express.Router {
  const r = express.Router();

  const storeAnswers = () =>
    store.query('SELECT 1').then(
      () => true,
      () => false,
    );

  r.route('/v1/health')
    .get(async (_req, res) => {
      const storeOk = await storeAnswers();
      const crl = revocation.status();
      const policyStatus = policy.status();
      const degraded = !storeOk || crl.crls.some((c) => c.stale) || crl.error !== null || policyStatus.last_error !== null;
      res.status(storeOk ? 200 : 503).json({
        status: !storeOk ? 'down' : degraded ? 'degraded' : 'ok',
        store: { kind: store.kind, ok: storeOk },
        revocation: { enabled: revocation.enabled, crls: crl.crls, last_error: crl.error },
        policy: policyStatus,
      });
    })
    .all(methodNotAllowed(['GET']));

  r.route('/v1/ready')
    .get(async (_req, res) => {
      const ok = await storeAnswers();
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
