// From policy text to validated rules, every problem with its line and column.
//
// The YAML is walked as a syntax tree (the `yaml` package keeps each node's offsets) rather
// than converted to plain objects first: plain objects have lost the positions a message
// must point at. JSON is YAML, so a JSON policy goes through the same path.
import { isAlias, isMap, isScalar, isSeq, LineCounter, type Node, type Pair, parseDocument, type YAMLMap } from 'yaml';
import { isPuppetArcOid, puppetExtensionName, puppetExtensionOid } from '../tls/certificate';
import { compileGlob, type Glob } from './glob';
import { PolicyError, type PolicyProblem } from './policy-error';
import { POLICY_ACTIONS, type PolicyAction } from './policy-types';

/** One `match` entry: the caller's attribute must match one of the patterns. */
export interface MatchClause {
  /** `certname`, `environment`, or an extension's short name (pp_role) / dotted OID. */
  key: string;
  globs: Glob[];
}

export interface FactPattern {
  source: string;
  category: Glob;
  name: Glob;
}

export interface ParsedRule {
  index: number;
  line: number;
  name: string | null;
  effect: 'allow' | 'deny';
  /** In POLICY_ACTIONS order, no repeats. */
  actions: PolicyAction[];
  /** All must hold (AND); within a clause any pattern may match (OR). Empty: every node. */
  match: MatchClause[];
  facts: FactPattern[];
  sensitive: boolean | 'any';
}

const TOP_KEYS = ['rules', 'version'];
const RULE_KEYS = ['name', 'match', 'allow', 'deny', 'facts', 'sensitive'];

class Problems {
  readonly list: PolicyProblem[] = [];
  constructor(
    private readonly source: string,
    private readonly lines: LineCounter,
  ) {}

  at(offset: number, message: string): void {
    const { line, col } = this.lines.linePos(offset);
    this.list.push({ source: this.source, line, col, message });
  }

  node(node: Node | Pair | null | undefined, message: string, fallbackOffset = 0): void {
    const target = node && 'range' in node ? node : node && 'key' in node ? (node.key as Node | null) : null;
    this.at(target?.range?.[0] ?? fallbackOffset, message);
  }
}

/** Parses and validates; throws PolicyError listing every problem found. */
export function parsePolicy(text: string, source: string): ParsedRule[] {
  const lines = new LineCounter();
  const problems = new Problems(source, lines);
  // uniqueKeys: a repeated key would silently drop one of two grants.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, version: '1.2' });
  for (const err of doc.errors) problems.at(err.pos[0], err.message.split('\n')[0]);
  if (problems.list.length) throw new PolicyError(problems.list);

  const root = doc.contents as Node | null;
  // An empty file is refused rather than read as "no rules": a file caught half-written
  // by the watcher must not replace a restrictive policy with the open defaults.
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) {
    problems.at(0, 'the policy is empty; write `rules: []` for the built-in defaults');
    throw new PolicyError(problems.list);
  }
  if (!isMap(root)) {
    problems.node(root, 'a policy is a mapping with a `rules` list');
    throw new PolicyError(problems.list);
  }
  const top = entries(root, TOP_KEYS, 'the policy', problems);
  const version = top.get('version');
  if (version && !(isScalar(version.value) && version.value.value === 1))
    problems.node(version.value as Node, 'version must be 1 (the only format so far)');

  const rulesPair = top.get('rules');
  const rules: ParsedRule[] = [];
  if (!rulesPair) {
    problems.node(root, 'the policy has no `rules` list (write `rules: []` for the built-in defaults)');
  } else if (!isSeq(rulesPair.value)) {
    problems.node((rulesPair.value as Node | null) ?? rulesPair, '`rules` must be a list of rules');
  } else {
    rulesPair.value.items.forEach((item, index) => {
      const rule = parseRule(item as Node, index, problems, lines);
      if (rule) rules.push(rule);
    });
  }
  if (problems.list.length) throw new PolicyError(problems.list.sort((a, b) => a.line - b.line || a.col - b.col));
  return rules;
}

/** The pairs of a mapping by key; unknown and non-string keys are problems. */
function entries(map: YAMLMap, allowed: string[], what: string, problems: Problems): Map<string, Pair> {
  const out = new Map<string, Pair>();
  for (const pair of map.items) {
    const key = pair.key as Node | null;
    if (!isScalar(key) || typeof key.value !== 'string') {
      problems.node(key ?? pair, `keys of ${what} must be strings`);
      continue;
    }
    if (!allowed.includes(key.value)) {
      problems.node(key, `unknown key "${key.value}" in ${what} (expected ${allowed.join(', ')})`);
      continue;
    }
    out.set(key.value, pair);
  }
  return out;
}

/** A string, or a non-empty list of strings; each with its node for messages. */
function strings(node: Node | null, what: string, problems: Problems, fallback: Pair): { value: string; node: Node }[] | null {
  if (node === null) {
    problems.node(fallback, `${what} needs a value`);
    return null;
  }
  if (isAlias(node)) {
    problems.node(node, 'YAML aliases are not supported in a policy');
    return null;
  }
  const items = isSeq(node) ? (node.items as Node[]) : [node];
  if (isSeq(node) && items.length === 0) {
    problems.node(node, `${what} is an empty list, which would match nothing`);
    return null;
  }
  const out: { value: string; node: Node }[] = [];
  for (const item of items) {
    if (isScalar(item) && typeof item.value === 'string') out.push({ value: item.value, node: item });
    else if (isScalar(item) && (typeof item.value === 'number' || typeof item.value === 'boolean')) {
      problems.node(item, `${what} must be a string: quote it ("${String(item.source ?? item.value)}")`);
    } else problems.node(item ?? node, `${what} must be a string or a list of strings`);
  }
  return out.length === items.length ? out : null;
}

function parseRule(node: Node | null, index: number, problems: Problems, lines: LineCounter): ParsedRule | null {
  const where = `rules[${index}]`;
  if (!isMap(node)) {
    problems.node(node, `${where} must be a mapping (name, match, allow or deny, facts, sensitive)`);
    return null;
  }
  const before = problems.list.length;
  const line = lines.linePos(node.range?.[0] ?? 0).line;
  const keys = entries(node, RULE_KEYS, where, problems);

  let name: string | null = null;
  const namePair = keys.get('name');
  if (namePair) name = strings(namePair.value as Node | null, `${where}.name`, problems, namePair)?.[0]?.value ?? null;
  const { effect, actions } = parseEffect(node, keys, where, problems);
  const facts = parseFacts(node, keys.get('facts'), where, problems);
  const sensitive = parseSensitive(keys.get('sensitive'), actions, where, problems);
  const match = parseMatch(keys.get('match'), where, problems);
  if (problems.list.length > before) return null;
  return { index, line, name, effect, actions, match, facts, sensitive };
}

type RuleKeys = ReturnType<typeof entries>;
type RulePair = NonNullable<ReturnType<RuleKeys['get']>>;

/** `allow:` or `deny:` (exactly one), with a list of known actions. */
function parseEffect(node: Node, keys: RuleKeys, where: string, problems: Problems) {
  const allow = keys.get('allow');
  const deny = keys.get('deny');
  let effect: 'allow' | 'deny' = 'allow';
  let actions: PolicyAction[] = [];
  if (allow && deny) problems.node(deny, `${where} has both allow and deny; write two rules`);
  else if (!allow && !deny) problems.node(node, `${where} needs allow: or deny: with a list of actions (${POLICY_ACTIONS.join(', ')})`);
  else {
    const pair = (allow ?? deny)!;
    effect = allow ? 'allow' : 'deny';
    const given = strings(pair.value as Node | null, `${where}.${effect}`, problems, pair) ?? [];
    for (const a of given) {
      if (!(POLICY_ACTIONS as readonly string[]).includes(a.value))
        problems.node(a.node, `unknown action "${a.value}" (expected ${POLICY_ACTIONS.join(', ')})`);
    }
    actions = POLICY_ACTIONS.filter((a) => given.some((g) => g.value === a));
  }
  return { effect, actions };
}

/** `facts:`, required: patterns like `db.*`. */
function parseFacts(node: Node, factsPair: RulePair | undefined, where: string, problems: Problems): FactPattern[] {
  const facts: FactPattern[] = [];
  if (!factsPair) {
    problems.node(node, `${where} needs facts: (patterns like "db.*" or "keystone.db_password"; "*.*" for all)`);
    return facts;
  }
  for (const f of strings(factsPair.value as Node | null, `${where}.facts`, problems, factsPair) ?? []) {
    const pattern = parseFactPattern(f.value);
    if (typeof pattern === 'string') problems.node(f.node, pattern);
    else facts.push(pattern);
  }
  return facts;
}

/** `sensitive:` true, false or any (the default). */
function parseSensitive(sensitivePair: RulePair | undefined, actions: PolicyAction[], where: string, problems: Problems): boolean | 'any' {
  let sensitive: boolean | 'any' = 'any';
  if (sensitivePair) {
    const v = sensitivePair.value as Node | null;
    if (isScalar(v) && (v.value === true || v.value === false || v.value === 'any')) sensitive = v.value as boolean | 'any';
    else problems.node(v ?? sensitivePair, `${where}.sensitive must be true, false or any`);
  }
  // Generated secrets are sensitive by definition: such a rule could never apply.
  if (sensitive === false && actions.includes('generate'))
    problems.node(
      sensitivePair,
      `${where} allows or denies generate on non-sensitive facts only, which matches nothing: generated secrets are always sensitive`,
    );
  return sensitive;
}

/** `match:`, optional: each key (certname, environment, an extension) with its globs. */
function parseMatch(matchPair: RulePair | undefined, where: string, problems: Problems): MatchClause[] {
  const match: MatchClause[] = [];
  const m = (matchPair?.value ?? null) as Node | null;
  if (!matchPair || m === null) return match;
  if (!isMap(m)) {
    problems.node(m, `${where}.match must be a mapping like {pp_role: keystone} (leave it out to match every node)`);
    return match;
  }
  for (const pair of m.items) {
    const keyNode = pair.key as Node | null;
    if (!isScalar(keyNode) || typeof keyNode.value !== 'string') {
      problems.node(keyNode ?? pair, `keys of ${where}.match must be strings`);
      continue;
    }
    const key = matchKey(keyNode.value);
    if ('error' in key) {
      problems.node(keyNode, key.error);
      continue;
    }
    if (match.some((c) => c.key === key.key)) {
      problems.node(keyNode, `${where}.match names ${key.key} twice`);
      continue;
    }
    const kind = key.key === 'certname' ? 'certname' : 'value';
    const globs: Glob[] = [];
    for (const s of strings(pair.value as Node | null, `${where}.match.${keyNode.value}`, problems, pair) ?? []) {
      const glob = compileGlob(s.value, kind);
      if (typeof glob === 'string') problems.node(s.node, glob);
      else globs.push(glob);
    }
    match.push({ key: key.key, globs });
  }
  return match;
}

/** `certname`, `environment`, or a Puppet extension, named as Caller.extensions names it. */
function matchKey(raw: string): { key: string } | { error: string } {
  if (raw === 'certname' || raw === 'environment') return { key: raw };
  let oid = '';
  try {
    oid = puppetExtensionOid(raw);
  } catch {
    return {
      error: `unknown match key "${raw}" (expected certname, environment, or a Puppet extension such as pp_role, pp_environment, pp_auth_role)`,
    };
  }
  // Only Puppet-arc extensions reach Caller.extensions: any other OID would never match.
  if (!isPuppetArcOid(oid)) return { error: `extension ${raw} is outside Puppet's arc 1.3.6.1.4.1.34380, so no caller ever carries it` };
  return { key: puppetExtensionName(oid) };
}

/** `CATEGORY.NAME`, each part a glob of a Facter-style name. */
function parseFactPattern(source: string): FactPattern | string {
  const parts = source.split('.');
  if (parts.length !== 2)
    return `fact pattern "${source}" must be CATEGORY.NAME, like "db.*" or "keystone.db_password" ("*.*" for every fact)`;
  const category = compileGlob(parts[0], 'fact part');
  if (typeof category === 'string') return `fact pattern "${source}": ${category}`;
  const name = compileGlob(parts[1], 'fact part');
  if (typeof name === 'string') return `fact pattern "${source}": ${name}`;
  return { source, category, name };
}
