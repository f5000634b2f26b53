import type { Store } from './db/store';
import { FactService } from './facts/fact-service';
import { FactStore } from './facts/fact-store';
import { NodeService } from './nodes/node-service';
import { NodeStore } from './nodes/node-store';
import { SecretService, type SecretsConfig } from './secrets/secret-service';
import { SecretStore } from './secrets/secret-store';
import type { SecretVault } from './secrets/secret-vault';

export interface Services {
  facts: FactService;
  secrets: SecretService;
  nodes: NodeService;
}

/** Wires each service to its store: one place, used by the broker and by the tests. */
export function createServices(store: Store, vault: SecretVault, config: SecretsConfig): Services {
  const factStore = new FactStore(store);
  const secrets = new SecretService(new SecretStore(store), factStore, vault, config);
  return { facts: new FactService(factStore, secrets), secrets, nodes: new NodeService(new NodeStore(store)) };
}
