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
  // Watch (GET /v1/facts?wait=): held requests are not in the request duration histogram.
  readonly watchWaiting = new client.Gauge({
    name: 'exportfact_watch_waiting',
    help: 'Requests held now until their view changes (GET /v1/facts?wait=)',
    registers: [this.registry],
  });
  readonly watchWoken = new client.Counter({
    name: 'exportfact_watch_woken_total',
    help: 'Held requests answered 200 because the view changed',
    registers: [this.registry],
  });
  readonly watchTimedOut = new client.Counter({
    name: 'exportfact_watch_timeouts_total',
    help: 'Held requests answered 304 because the wait ended with the view unchanged',
    registers: [this.registry],
  });
  readonly watchGone = new client.Counter({
    name: 'exportfact_watch_gone_total',
    help: 'Held requests dropped because the client closed the connection first',
    registers: [this.registry],
  });

  /** The watch counters in the shape the facts routes take. */
  get watch() {
    return { waiting: this.watchWaiting, woken: this.watchWoken, timedOut: this.watchTimedOut, gone: this.watchGone };
  }

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'exportfact_' });
  }
}
