import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Caller } from '../identity/caller';
import { CallerPolicy, type CompiledRule } from './caller-policy';
import { type MatchClause, type ParsedRule, parsePolicy } from './policy-parse';
import type { FactRef, PolicyAction, PolicyDecision, RuleRef } from './policy-types';

/** Callers whose rules stay prefiltered; beyond it the oldest entry is dropped (FIFO). */
const CALLER_CACHE_SIZE = 10_000;

export interface PolicyExplanation extends PolicyDecision {
  caller: { certname: string; environment: string; extensions: Record<string, string> };
  fact: { category: string; name: string; sensitive: boolean };
  /**
   * Rules that would have applied to this action and fact but do not match the caller,
   * up to the deciding rule: usually the rule the admin meant, and why it missed.
   */
  skipped: { rule: RuleRef; why: string }[];
}

/**
 * A policy compiled once per version: globs are regexes (or plain strings) already, and
 * each caller's applicable rules are picked once and cached with the policy object, so a
 * new version starts with a fresh cache and nothing needs invalidating.
 */
export class CompiledPolicy {
  /** Short hex hash of the rules' meaning: unchanged by comments or layout, so it can go into ETags. */
  readonly version: string;
  readonly rules: readonly CompiledRule[];
  /** True once any rule allows export or generate: from then on, writes need a rule. */
  readonly restrictsWrites: boolean;
  private readonly callers = new LRUCache<string, CallerPolicy>({ max: CALLER_CACHE_SIZE });

  constructor(
    /** File name (or label) the rules came from, for messages. */
    readonly source: string,
    parsed: readonly ParsedRule[],
  ) {
    this.rules = parsed.map((r) => {
      const text = ruleText(r);
      return { ...r, text, ref: { index: r.index, line: r.line, name: r.name, text } };
    });
    this.restrictsWrites = this.rules.some((r) => r.effect === 'allow' && (r.actions.includes('export') || r.actions.includes('generate')));
    this.version = createHash('sha256')
      .update(JSON.stringify(this.rules.map(meaning)))
      .digest('hex')
      .slice(0, 16);
  }

  /** The caller's view of the policy; the same object for the same identity while this version lives. */
  forCaller(caller: Caller): CallerPolicy {
    // JSON, not a joined string: extension values are chosen in the CSR, and a value holding
    // a separator must not make one identity's key equal to another's.
    const key = JSON.stringify([
      caller.certname,
      caller.environment,
      Object.entries(caller.extensions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    ]);
    let policy = this.callers.get(key);
    if (!policy) {
      const tag = `${this.version}.${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
      policy = new CallerPolicy(
        caller,
        this.restrictsWrites,
        this.rules.filter((r) => callerMatches(r.match, caller)),
        tag,
      );
      this.callers.set(key, policy);
    }
    return policy;
  }

  /** The decision with its reason, and the rules that missed the caller: for the CLI, logs and the audit trail. */
  explain(
    caller: Caller,
    action: PolicyAction,
    fact: FactRef & { exporters?: readonly string[]; requesters?: readonly string[] },
  ): PolicyExplanation {
    const sensitive = action === 'generate' ? true : fact.sensitive;
    const decision = this.forCaller(caller).decide(action, { ...fact, sensitive, exporters: fact.exporters ?? [] });
    const until = decision.rule ? decision.rule.index : Infinity;
    const skipped = this.rules
      .filter((r) => r.index < until && r.actions.includes(action) && factMatches(r, fact.category, fact.name, sensitive))
      .map((r) => ({ rule: r.ref, why: whyNot(r.match, caller) }))
      .filter((s): s is { rule: RuleRef; why: string } => s.why !== null);
    return {
      ...decision,
      caller: { certname: caller.certname, environment: caller.environment, extensions: { ...caller.extensions } },
      fact: { category: fact.category, name: fact.name, sensitive },
      skipped,
    };
  }
}

/** Parses, validates and compiles; throws PolicyError (a ConfigError) with line numbers. */
export function compilePolicy(text: string, source: string): CompiledPolicy {
  return new CompiledPolicy(source, parsePolicy(text, source));
}

/** Without a policy file: the defaults alone (docs/policy.md, "Defaults"). */
export const DEFAULT_POLICY = new CompiledPolicy('(built-in default policy)', []);

function attribute(caller: Caller, key: string): string | undefined {
  if (key === 'certname') return caller.certname;
  if (key === 'environment') return caller.environment;
  return Object.hasOwn(caller.extensions, key) ? caller.extensions[key] : undefined;
}

export function callerMatches(match: readonly MatchClause[], caller: Caller): boolean {
  for (const clause of match) {
    const value = attribute(caller, clause.key);
    // A missing extension matches no pattern, not even **: absence is not a role.
    if (value === undefined || !clause.globs.some((g) => g.test(value))) return false;
  }
  return true;
}

function whyNot(match: readonly MatchClause[], caller: Caller): string | null {
  for (const clause of match) {
    const value = attribute(caller, clause.key);
    const wanted = clause.globs.map((g) => g.source).join('|');
    if (value === undefined) return `the caller has no ${clause.key} (the rule wants ${wanted})`;
    if (!clause.globs.some((g) => g.test(value))) return `${clause.key} is ${JSON.stringify(value)}, not ${wanted}`;
  }
  return null;
}

export function factMatches(rule: ParsedRule, category: string, name: string, sensitive: boolean): boolean {
  if (rule.sensitive !== 'any' && rule.sensitive !== sensitive) return false;
  return rule.facts.some((f) => f.category.test(category) && f.name.test(name));
}

/** "allow read db.* (sensitive only) for pp_role=keystone|nova_api" */
function ruleText(r: ParsedRule): string {
  const who = r.match.length ? r.match.map((c) => `${c.key}=${c.globs.map((g) => g.source).join('|')}`).join(' ') : 'every node';
  const which = r.sensitive === 'any' ? '' : r.sensitive ? ' (sensitive only)' : ' (non-sensitive only)';
  return `${r.effect} ${r.actions.join(',')} ${r.facts.map((f) => f.source).join(' ')}${which} for ${who}`;
}

/** What a rule decides, without its name or position: the input of the version hash. */
function meaning(r: ParsedRule): unknown {
  return [r.effect, r.actions, r.match.map((c) => [c.key, c.globs.map((g) => g.source)]), r.facts.map((f) => f.source), r.sensitive];
}
