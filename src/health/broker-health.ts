import type { Store } from '../db/store';
import type { PolicyHolder } from '../policy';
import type { RevocationList } from '../tls/revocation';

export type HealthStatus = 'ok' | 'degraded';

/** What an auditor of the trail's integrity reports, if anything is wrong (see AuditLog.integrity). */
export interface IntegritySource {
  readonly integrity: string | null;
}

/** Node liveness read from PuppetDB (src/puppetdb/liveness.ts): how old its last answer is. */
export interface LivenessSource {
  /** Shown as is under `puppetdb`; `stale` (no answer for a while) makes the broker degraded. */
  status(): { stale: boolean };
}

/**
 * The broker's health, in full: store, revocation (CRLs, their dates, the last refused one),
 * policy (file, last parse error), the audit trail's integrity and, with --puppetdb-url, how
 * old PuppetDB's last answer is. Nodes see only the status
 * (GET /v1/health); the details, which name files and errors, are for admins
 * (GET /admin/v1/health).
 */
export class BrokerHealth {
  constructor(
    private readonly store: Store,
    private readonly revocation: RevocationList,
    private readonly policy: PolicyHolder,
    private readonly audit?: IntegritySource,
    private readonly puppetdb?: LivenessSource,
  ) {}

  async storeAnswers(): Promise<boolean> {
    return this.store.query('SELECT 1').then(
      () => true,
      () => false,
    );
  }

  async report() {
    const storeOk = await this.storeAnswers();
    const crl = this.revocation.status();
    const policy = this.policy.status();
    const auditProblem = this.audit?.integrity ?? null;
    const puppetdb = this.puppetdb?.status();
    const degraded =
      puppetdb?.stale === true ||
      crl.crls.some((c) => c.stale) ||
      crl.error !== null ||
      crl.uncovered_cas.length > 0 ||
      policy.last_error !== null ||
      auditProblem !== null;
    // With the store away the broker still answers views it knows (marked stale): degraded, not down.
    const status: HealthStatus = !storeOk || degraded ? 'degraded' : 'ok';
    return {
      status,
      store: { kind: this.store.kind, ok: storeOk },
      revocation: { enabled: this.revocation.enabled, crls: crl.crls, last_error: crl.error, uncovered_cas: crl.uncovered_cas },
      policy,
      audit: { integrity_problem: auditProblem },
      ...(puppetdb ? { puppetdb } : {}),
    };
  }
}
