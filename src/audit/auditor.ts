import type { Queryable } from '../db/store';
import type { AppError } from '../errors/app-error';
import { PolicyDeniedError } from '../errors/policy-denied-error';
import type { Caller } from '../identity/caller';
import type { Actor, AuditEventInput } from './audit-entry';

/** What services need of the audit log: append in their transaction, or on its own. */
export interface Auditor {
  append(tx: Queryable, input: AuditEventInput): Promise<number>;
  appendNow(input: AuditEventInput): Promise<number>;
  refused(actor: Actor, reason: string, target?: { environment?: string; category?: string; name?: string }): void;
}

export const nodeActor = (certname: string): Actor => ({ kind: 'node', name: certname });
export const adminActor = (subject: string): Actor => ({ kind: 'admin', name: subject });

/**
 * A refusal that says something about a node's intent (a policy denial, a fact another node
 * owns, a generated secret): recorded where it is decided, then thrown by the caller.
 */
export function refusal<E extends AppError>(audit: Auditor, caller: Caller, err: E, fact: { category: string; name: string }): E {
  audit.refused(nodeActor(caller.certname), err instanceof PolicyDeniedError ? err.auditReason : err.code, {
    environment: caller.environment,
    ...fact,
  });
  return err;
}

/** A write the policy refused (403 policy_denied naming the rule's reason), recorded as a refusal. */
export function policyWriteRefusal(
  audit: Auditor,
  caller: Caller,
  decision: { reason: string; rule?: { text: string } | null },
  doing: string,
  fact: { category: string; name: string },
): PolicyDeniedError {
  const what = `${caller.certname} may not ${doing.replace('%s', `${fact.category}.${fact.name}`)}: ${decision.reason}`;
  return refusal(audit, caller, new PolicyDeniedError(403, 'policy_denied', what, decision.rule?.text ?? null), fact);
}
