import client from 'prom-client';

/** Prometheus metrics of one broker. A registry per broker so tests can run several in one process. */
export class BrokerMetrics {
  readonly registry = new client.Registry();
  readonly requests = new client.Counter({
    name: 'exportfact_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly duration = new client.Histogram({
    name: 'exportfact_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly handshakes = new client.Counter({
    name: 'exportfact_tls_connections_total',
    help: 'TLS connections accepted on the agent port',
    registers: [this.registry],
  });
  readonly revokedRefusals = new client.Counter({
    name: 'exportfact_revoked_refusals_total',
    help: 'Requests refused because the client certificate is revoked',
    registers: [this.registry],
  });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'exportfact_' });
  }
}
