// Trust warnings: rules that are valid but hand secrets to whoever asks the CA nicely.

import type { CompiledPolicy } from './compiled-policy';
import { isWildcardOnly } from './glob';
import type { RuleRef } from './policy-types';

export interface PolicyWarning {
  /** The rule concerned; null for the policy as a whole. */
  rule: RuleRef | null;
  line: number;
  message: string;
}

/**
 * Extensions the Puppet CA refuses in a CSR unless `allow-authorization-extensions` is set:
 * a node cannot simply claim them. Every other pp_* (and environment, which comes from
 * pp_environment) is whatever the agent wrote into its CSR (docs/policy.md, "Trust").
 */
const CA_GUARDED_KEYS = new Set(['pp_auth_role', 'pp_authorization']);

export function checkPolicy(policy: CompiledPolicy): PolicyWarning[] {
  const warnings: PolicyWarning[] = [];
  for (const rule of policy.rules) {
    if (rule.effect !== 'allow') continue; // a deny can only take access away
    const readsSecrets = rule.actions.includes('read') && rule.sensitive !== false;
    const generates = rule.actions.includes('generate');
    if (!readsSecrets && !generates) continue;
    const identified = rule.match.some(
      (c) => CA_GUARDED_KEYS.has(c.key) || (c.key === 'certname' && c.globs.every((g) => !isWildcardOnly(g))),
    );
    if (identified) continue;
    const grants = [readsSecrets && 'read of sensitive facts', generates && 'generate (and so read) of secrets']
      .filter(Boolean)
      .join(' and ');
    const claimed = rule.match.map((c) => `${c.key}=${c.globs.map((g) => g.source).join('|')}`).join(' ');
    const whom = rule.match.length === 0 ? 'to every node' : `to any node whose certificate claims ${claimed}`;
    warnings.push({
      rule: rule.ref,
      line: rule.line,
      message:
        `rules[${rule.index}] grants ${grants} ${whom}; ` +
        (rule.match.length === 0
          ? ''
          : 'these extensions are chosen by the node in its CSR and are only as trustworthy as your CA signing; ') +
        'add a certname match or match pp_auth_role (see docs/policy.md, "Trust")',
    });
  }
  if (!policy.restrictsWrites) {
    warnings.push({
      rule: null,
      line: 1,
      message:
        'no rule allows export or generate, so every node may still export any fact and ask for any secret to be generated ' +
        '(which makes it a requester who may read that secret); add export/generate rules to close this',
    });
  }
  return warnings;
}
