import type { Auditor } from '../audit/auditor';
import type { Store } from '../db/store';
import type { SensitiveValues } from '../facts/fact-service';
import { FactStore } from '../facts/fact-store';
import type { Logger } from '../log/logger';
import type { NodeLifecycle } from '../nodes/node-lifecycle';
import { NodeStore } from '../nodes/node-store';
import { FactImporter } from './fact-import';
import { PuppetdbLiveness } from './liveness';
import { puppetdbAdminRoutes } from './puppetdb-admin-routes';
import { PuppetdbClient, type PuppetdbTls } from './puppetdb-client';

export interface PuppetdbConfig {
  url: string;
  intervalMs: number;
}

export interface PuppetdbDeps {
  store: Store;
  tls: PuppetdbTls;
  lifecycle: NodeLifecycle;
  sensitive: SensitiveValues;
  audit: Auditor;
  /** Told each environment's new view version once an import's transaction committed (read-your-writes). */
  onViewCommitted: (environment: string, version: number) => void;
  defaultEnvironment: string;
  log: Logger;
}

/**
 * The broker's PuppetDB part: the liveness poller when --puppetdb-url is given (close() stops
 * it, letting an apply in progress finish), and the admin route of the importer, which works
 * with or without it (the admin may name a PuppetDB per import).
 */
export function openPuppetdb(config: PuppetdbConfig | undefined, deps: PuppetdbDeps) {
  const clientFor = (url: string) => new PuppetdbClient(url, deps.tls);
  const nodes = new NodeStore(deps.store);
  const liveness = config && new PuppetdbLiveness(clientFor(config.url), deps.lifecycle, nodes, config.intervalMs, deps.log).start();
  if (config) deps.log.info({ puppetdb: config.url, interval_s: config.intervalMs / 1000 }, 'node liveness from PuppetDB');
  const importer = new FactImporter({
    store: deps.store,
    facts: new FactStore(deps.store, deps.onViewCommitted),
    sensitive: deps.sensitive,
    nodes,
    audit: deps.audit,
    defaultEnvironment: deps.defaultEnvironment,
    log: deps.log,
  });
  return {
    liveness,
    routes: puppetdbAdminRoutes({ importer, clientFor, defaultUrl: config?.url }),
    close: () => liveness?.close(),
  };
}
