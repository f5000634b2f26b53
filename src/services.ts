import type { AuditLog } from './audit/audit-log';
import { AuditQueries } from './audit/audit-queries';
import type { Store } from './db/store';
import { FactService, type PolicySource } from './facts/fact-service';
import { FactStore } from './facts/fact-store';
import { ViewVersions } from './facts/view-versions';
import { GateService } from './gates/gate-service';
import { GateStore } from './gates/gate-store';
import { GraphService } from './graph/graph-service';
import { GraphStore } from './graph/graph-store';
import type { Logger } from './log/logger';
import { type LifecycleConfig, NodeLifecycle } from './nodes/node-lifecycle';
import { NodeService } from './nodes/node-service';
import { NodeStore } from './nodes/node-store';
import { DEFAULT_POLICY } from './policy';
import { SecretService, type SecretsConfig } from './secrets/secret-service';
import { SecretStore } from './secrets/secret-store';
import type { SecretVault } from './secrets/secret-vault';

export interface Services {
  facts: FactService;
  secrets: SecretService;
  nodes: NodeService;
  lifecycle: NodeLifecycle;
  gates: GateService;
  graph: GraphService;
  viewVersions: ViewVersions;
  /** Starts what listens (view versions); close() stops it and writes pending node contacts. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface ServiceDeps {
  store: Store;
  vault: SecretVault;
  audit: AuditLog;
  /** The policy in force (a PolicyHolder, reloaded in place); the built-in defaults when absent. */
  policy?: PolicySource;
  log: Logger;
  secrets: SecretsConfig;
  /** Node TTL and purge TTL; PuppetDB's defaults (7 and 14 days) when absent. */
  nodes?: LifecycleConfig;
}

export const DEFAULT_NODE_LIFECYCLE: LifecycleConfig = { ttlSeconds: 7 * 86_400, purgeTtlSeconds: 14 * 86_400 };

/** Wires every service to its store: one place, used by the broker, the tests and the benchmark. */
export function createServices(deps: ServiceDeps): Services {
  const { store, vault, audit, log } = deps;
  const policy = deps.policy ?? { current: DEFAULT_POLICY };
  const viewVersions = new ViewVersions(store, log);
  const factStore = new FactStore(store, (environment, version) => viewVersions.committed(environment, version));
  const secrets = new SecretService(new SecretStore(store), factStore, vault, deps.secrets, audit, policy);
  const nodeStore = new NodeStore(store);
  const nodes = new NodeService(nodeStore, log);
  const facts = new FactService(factStore, secrets, viewVersions, audit, policy);
  const lifecycle = new NodeLifecycle(
    nodeStore,
    nodes,
    factStore,
    facts,
    new AuditQueries(store),
    audit,
    deps.nodes ?? DEFAULT_NODE_LIFECYCLE,
    log,
  );
  return {
    facts,
    secrets,
    nodes,
    lifecycle,
    gates: new GateService(new GateStore(store)),
    graph: new GraphService(new GraphStore(store), () => nodes.flush()),
    viewVersions,
    async start() {
      await viewVersions.start();
      await lifecycle.start();
    },
    async close() {
      await lifecycle.close();
      await viewVersions.stop();
      await nodes.close();
    },
  };
}
