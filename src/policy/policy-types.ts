// The vocabulary shared by the policy engine and the services that ask it.

export type PolicyAction = 'read' | 'export' | 'generate';
export const POLICY_ACTIONS: readonly PolicyAction[] = ['read', 'export', 'generate'];

/** A fact as a decision needs it; the environment is implicit (a view is per environment). */
export interface FactRef {
  category: string;
  name: string;
  sensitive: boolean;
}

/** A fact being read: who exports it, and for broker-generated secrets, who asked for it. */
export interface ReadableFact extends FactRef {
  /** Certnames holding a value of the fact (one for a single fact, several for per-node). */
  exporters: readonly string[];
  /** Certnames that asked the broker to generate it (broker-generated secrets only). */
  requesters?: readonly string[];
}

/** A secret a node asks the broker to generate: always sensitive. */
export interface GenerateRef {
  category: string;
  name: string;
}

/** A rule as explain and the audit trail name it. */
export interface RuleRef {
  /** Position in the file's `rules` list, from 0 (printed as rules[index]). */
  index: number;
  /** 1-based line of the rule in the policy file. */
  line: number;
  /** The rule's `name`, when it has one. */
  name: string | null;
  /** One-line summary: "allow read db.password (sensitive only) for pp_role=keystone". */
  text: string;
}

/**
 * Why a decision came out as it did. `rule` means a rule decided; the others are the
 * built-in defaults (docs/policy.md, "Evaluation").
 */
export type DecisionBasis =
  | 'own_export' // a node always reads what it exports itself
  | 'rule'
  | 'default_non_sensitive' // non-sensitive facts: every node of the environment
  | 'default_requester' // a broker-generated secret this node asked for
  | 'default_sensitive' // sensitive facts: exporter (and requesters) only
  | 'default_open' // no rule allows export or generate: writes stay open (old behaviour)
  | 'default_restricted'; // the policy allows export/generate only where a rule says so

export interface PolicyDecision {
  action: PolicyAction;
  allowed: boolean;
  basis: DecisionBasis;
  rule: RuleRef | null;
  reason: string;
}
