import { UnavailableError } from './app-error';

/** The audit trail cannot be written: changes and secret hand-outs stop (fail closed); plain reads go on. */
export class AuditUnavailableError extends UnavailableError {
  constructor(cause: Error) {
    super('audit_unavailable', 'the audit trail cannot be written, so nothing that must be recorded is done; try again later');
    this.cause = cause;
  }
}
