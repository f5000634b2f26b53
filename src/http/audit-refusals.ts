import type { ErrorRequestHandler } from 'express';
import { nodeActor, type Auditor } from '../audit/auditor';
import { AppError } from '../errors/app-error';
import { PolicyDeniedError } from '../errors/policy-denied-error';
import { findCaller } from './caller';

/** Refusals that say something about a node's intent, not a typo: these reach the audit trail. */
const AUDITED = new Set(['fact_owned_by_other', 'secret_generated', 'secret_not_generated']);

const FACT_PATH = /^\/v1\/(?:facts|secrets)\/([a-z][a-z0-9_]{0,63})\/([a-z][a-z0-9_]{0,63})(?:\/|$)/;

/** Records refused accesses (counted per node, reason and fact), then lets the error mapper answer. */
export function auditRefusals(audit: Auditor): ErrorRequestHandler {
  return (err, req, _res, next) => {
    const caller = findCaller(req);
    if (caller && err instanceof AppError && (AUDITED.has(err.code) || err instanceof PolicyDeniedError)) {
      // Route parameters are gone by the time an error reaches the app; the path still names the fact.
      const [, category, name] = FACT_PATH.exec(req.path) ?? [];
      audit.refused(nodeActor(caller.certname), err instanceof PolicyDeniedError ? err.auditReason : err.code, { environment: caller.environment, category, name });
    }
    next(err);
  };
}
