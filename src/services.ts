import type { Auditor } from './audit/auditor';
import type { Store } from './db/store';
import { DEFAULT_POLICY } from './policy';
import { FactService, type PolicySource } from './facts/fact-service';
import { FactStore } from './facts/fact-store';
import { ViewVersions } from './facts/view-versions';
import type { Logger } from './log/logger';
import { NodeService } from './nodes/node-service';
import { NodeStore } from './nodes/node-store';
import { SecretService, type SecretsConfig } from './secrets/secret-service';
import { SecretStore } from './secrets/secret-store';
import type { SecretVault } from './secrets/secret-vault';

export interface Services {
  facts: FactService;
  secrets: SecretService;
  nodes: NodeService;
  viewVersions: ViewVersions;
}

/** Wires each service to its store: one place, used by the broker and by the tests. */
export function createServices(
  store: Store,
  vault: SecretVault,
  config: SecretsConfig,
  log: Logger,
  audit: Auditor,
  policy: PolicySource = { current: DEFAULT_POLICY },
): Services {
  const viewVersions = new ViewVersions(store, log);
  const factStore = new FactStore(store, (environment, version) => viewVersions.committed(environment, version));
  const secrets = new SecretService(new SecretStore(store), factStore, vault, config, audit, policy);
  return {
    facts: new FactService(factStore, secrets, viewVersions, audit, policy),
    secrets,
    nodes: new NodeService(new NodeStore(store), log),
    viewVersions,
  };
}
