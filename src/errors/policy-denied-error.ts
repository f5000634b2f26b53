import { AppError } from './app-error';

/**
 * A request the access policy refuses. Reads answer like a missing fact (404), so a refused
 * read does not reveal that the fact exists; writes answer 403 policy_denied. Either way the
 * refusal reaches the audit trail with the rule that decided it.
 */
export class PolicyDeniedError extends AppError {
  readonly auditReason = 'policy_denied';

  constructor(
    status: 403 | 404,
    code: string,
    message: string,
    readonly rule: string | null,
  ) {
    super(status, code, message);
  }
}
