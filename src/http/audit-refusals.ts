import type { ErrorRequestHandler } from 'express';
import { nodeActor, type Auditor } from '../audit/auditor';
import { AppError } from '../errors/app-error';
import { findCaller } from './caller';

/** Refusals that say something about a node's intent, not a typo: these reach the audit trail. */
const AUDITED = new Set(['fact_owned_by_other', 'secret_generated', 'secret_not_generated', 'policy_denied']);

/** Records refused accesses (counted per node, reason and fact), then lets the error mapper answer. */
export function auditRefusals(audit: Auditor): ErrorRequestHandler {
  return (err, req, _res, next) => {
    const caller = findCaller(req);
    if (caller && err instanceof AppError && AUDITED.has(err.code)) {
      const { category, name } = req.params as { category?: string; name?: string };
      audit.refused(nodeActor(caller.certname), err.code, { environment: caller.environment, category, name });
    }
    next(err);
  };
}
