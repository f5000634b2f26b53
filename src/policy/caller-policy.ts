import type { Caller } from '../identity/caller';
import type { Glob } from './glob';
import type { ParsedRule } from './policy-parse';
import type { DecisionBasis, FactRef, GenerateRef, PolicyAction, PolicyDecision, ReadableFact, RuleRef } from './policy-types';

export interface CompiledRule extends ParsedRule {
  text: string;
  ref: RuleRef;
}

/** A rule whose category pattern matched, with the name patterns that go with that category. */
interface Candidate {
  rule: CompiledRule;
  names: Glob[];
}

/** A rule decided, or a default did. Kept allocation-free: canRead runs per fact of a view. */
type Outcome = CompiledRule | DecisionBasis;

const ACTION_INDEX: Record<PolicyAction, number> = { read: 0, export: 1, generate: 2 };
const ALLOWED_BASES = new Set<DecisionBasis>(['own_export', 'default_non_sensitive', 'default_requester', 'default_open']);
/** Categories remembered per action; a view has tens, a node publishing junk must not grow it forever. */
const CATEGORY_CACHE_SIZE = 4096;

/**
 * One caller's decisions under one policy version. Rules that cannot match this caller are
 * gone already (CompiledPolicy.forCaller); per category the candidate rules are worked out
 * once, so per fact only the name patterns of a few rules remain to test.
 *
 * Rules are read in file order and the first one that matches caller, action and fact
 * decides (allow or deny), as in a firewall: "allow keystone, then deny everyone" reads the
 * way it works. No rule: the defaults decide.
 */
export class CallerPolicy {
  private readonly byAction: CompiledRule[][] = [[], [], []];
  /**
   * Candidate rules by category, per action, made on first use. Not an LRUCache: lru-cache
   * allocates its arrays for `max` entries up front (~90 KB at 4,096), three per caller and
   * thousands of callers cached came to ~270 KB per node that ever connected.
   */
  private readonly byCategory: (Map<string, Candidate[]> | undefined)[] = [undefined, undefined, undefined];
  /** False when no read rule of this caller touches non-sensitive facts: the default then holds for all of them. */
  private readonly nonSensitiveReadRules: boolean;
  /** Rules left after dropping those whose match fails for this caller (diagnostics). */
  readonly ruleCount: number;

  constructor(
    readonly caller: Caller,
    private readonly restrictsWrites: boolean,
    rules: readonly CompiledRule[],
    /**
     * Policy version + identity hash, for a view's ETag: what a caller may see changes with
     * the policy and with its certificate (a re-issued one with another pp_role must not be
     * answered 304 from the old role's view).
     */
    readonly tag: string,
  ) {
    for (const rule of rules) for (const action of rule.actions) this.byAction[ACTION_INDEX[action]].push(rule);
    this.nonSensitiveReadRules = this.byAction[0].some((r) => r.sensitive !== true);
    this.ruleCount = rules.length;
  }

  canRead(fact: ReadableFact): boolean {
    return allowed(this.readOutcome(fact));
  }

  /** Publishing (and the kind of fact published: sensitive or not). */
  canExport(fact: FactRef): boolean {
    return allowed(this.writeOutcome(1, fact.category, fact.name, fact.sensitive));
  }

  /** Asking the broker to generate a secret (which makes the caller one of its requesters). */
  canGenerate(fact: GenerateRef): boolean {
    return allowed(this.writeOutcome(2, fact.category, fact.name, true));
  }

  decide(action: PolicyAction, fact: ReadableFact): PolicyDecision {
    const outcome =
      action === 'read'
        ? this.readOutcome(fact)
        : this.writeOutcome(action === 'export' ? 1 : 2, fact.category, fact.name, action === 'generate' ? true : fact.sensitive);
    if (typeof outcome === 'string')
      return { action, allowed: allowed(outcome), basis: outcome, rule: null, reason: defaultReason(outcome, this.caller.certname) };
    return {
      action,
      allowed: outcome.effect === 'allow',
      basis: 'rule',
      rule: outcome.ref,
      reason: `rules[${outcome.index}] (line ${outcome.line}${outcome.name ? `, "${outcome.name}"` : ''}) ${outcome.effect === 'allow' ? 'allows' : 'denies'} it: ${outcome.text}`,
    };
  }

  private readOutcome(fact: ReadableFact): Outcome {
    // Its own value is no secret to the exporter; refusing it would only break the module's comparisons.
    if (fact.exporters.includes(this.caller.certname)) return 'own_export';
    if (!fact.sensitive && !this.nonSensitiveReadRules) return 'default_non_sensitive';
    const rule = this.firstRule(0, fact.category, fact.name, fact.sensitive);
    if (rule) return rule;
    if (!fact.sensitive) return 'default_non_sensitive';
    return fact.requesters?.includes(this.caller.certname) ? 'default_requester' : 'default_sensitive';
  }

  private writeOutcome(action: 1 | 2, category: string, name: string, sensitive: boolean): Outcome {
    return this.firstRule(action, category, name, sensitive) ?? (this.restrictsWrites ? 'default_restricted' : 'default_open');
  }

  private firstRule(action: number, category: string, name: string, sensitive: boolean): CompiledRule | null {
    const rules = this.byAction[action];
    if (rules.length === 0) return null;
    let cache = this.byCategory[action];
    if (!cache) cache = this.byCategory[action] = new Map();
    let candidates = cache.get(category);
    if (!candidates) {
      candidates = [];
      for (const rule of rules) {
        const names = rule.facts.filter((f) => f.category.test(category)).map((f) => f.name);
        if (names.length) candidates.push({ rule, names });
      }
      // Bounded: working the candidates out again is cheap, memory for made-up categories is not.
      if (cache.size >= CATEGORY_CACHE_SIZE) cache.clear();
      cache.set(category, candidates);
    }
    for (const { rule, names } of candidates) {
      if (rule.sensitive !== 'any' && rule.sensitive !== sensitive) continue;
      for (const glob of names) if (glob.test(name)) return rule;
    }
    return null;
  }
}

function allowed(outcome: Outcome): boolean {
  return typeof outcome === 'string' ? ALLOWED_BASES.has(outcome) : outcome.effect === 'allow';
}

function defaultReason(basis: DecisionBasis, certname: string): string {
  switch (basis) {
    case 'own_export':
      return `${certname} exports this fact itself, and a node always reads its own facts`;
    case 'default_non_sensitive':
      return 'no rule applies; by default non-sensitive facts are readable by every node of the environment';
    case 'default_requester':
      return `no rule applies; ${certname} asked the broker to generate this secret, and requesters may read it by default`;
    case 'default_sensitive':
      return 'no rule applies; by default a sensitive fact is readable only by its exporter and by the nodes that asked for it to be generated';
    case 'default_open':
      return 'no rule applies; no rule in the policy allows export or generate, so every node may export and generate anything (the behaviour without a policy)';
    case 'default_restricted':
      return 'no rule applies; the policy has rules allowing export or generate, so everything else is refused';
    default:
      return basis;
  }
}
