import type { Queryable } from '../db/store';
import type { Actor, AuditEventInput } from './audit-entry';

/** What services need of the audit log: append in their transaction, or on its own. */
export interface Auditor {
  append(tx: Queryable, input: AuditEventInput): Promise<number>;
  appendNow(input: AuditEventInput): Promise<number>;
  refused(actor: Actor, reason: string, target?: { environment?: string; category?: string; name?: string }): void;
}

export const nodeActor = (certname: string): Actor => ({ kind: 'node', name: certname });
export const adminActor = (subject: string): Actor => ({ kind: 'admin', name: subject });
