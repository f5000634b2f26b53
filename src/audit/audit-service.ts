import type { Store } from '../db/store';
import type { AuditDevice } from './audit-device';
import { readDevice } from './audit-device';
import type { AuditHeadsFile } from './audit-heads-file';
import type { AuditLog } from './audit-log';
import { AuditQueries, type EventFilter } from './audit-queries';
import { pruneAuditChain, type VerifyReport, verifyAuditChain } from './audit-verify';
import { adminActor } from './auditor';

export interface AuditServiceOptions {
  /** Keys whose signed heads `verify` trusts: this broker's and those given with --audit-trust-key. */
  trustedKeys: () => Buffer[];
  /** This broker's public key: the heads it prunes up to. */
  publicKey: Buffer;
  heads: AuditHeadsFile;
  device?: AuditDevice;
}

/**
 * What admins ask of the audit trail (queries, verify, prune, leaked values), and the events
 * their questions leave in it. Routes parse and call one method here; nothing else reaches
 * the trail's tables from the HTTP side.
 */
export class AuditService {
  readonly queries: AuditQueries;

  constructor(
    private readonly store: Store,
    readonly log: AuditLog,
    private readonly options: AuditServiceOptions,
  ) {
    this.queries = new AuditQueries(store);
  }

  whoSaw(environment: string, category: string, name: string) {
    return this.queries.whoSaw(environment, category, name);
  }

  notCurrent(environment: string, category: string, name: string) {
    return this.queries.notCurrent(environment, category, name);
  }

  nodeSaw(certname: string, since?: Date) {
    return this.queries.nodeSaw(certname, since);
  }

  events(filter: EventFilter) {
    return this.queries.events(filter);
  }

  /** Who received a leaked value, by its keyed fingerprints; the question itself is recorded. */
  async leaked(admin: string, fingerprints: Buffer[]) {
    const matches = await this.queries.leaked(fingerprints);
    await this.log.appendNow({ actor: adminActor(admin), action: 'admin.audit.leaked', detail: { matches: matches.length } });
    return matches;
  }

  /**
   * Checks the whole chain against the heads in the database and outside it, the audit device
   * and the sightings; only a chain found intact is then signed (never the other way round).
   */
  async verify(): Promise<VerifyReport> {
    const { heads, malformed } = this.options.heads.read();
    const report = await verifyAuditChain(this.store, {
      trustedKeys: this.options.trustedKeys(),
      externalHeads: heads,
      device: this.options.device && readDevice(this.options.device.file),
    });
    for (const line of malformed) {
      report.problems.push({
        seq: 0,
        kind: 'heads_file',
        message: `line ${line} of the heads file ${this.options.heads.file} is not a signed head`,
      });
    }
    report.ok = report.problems.length === 0;
    if (report.ok) await this.log.signHead();
    return report;
  }

  /** Deletes entries before a time, up to a head this broker signed, which becomes the anchor. */
  async prune(admin: string, before: Date) {
    await this.log.signHead();
    const result = await pruneAuditChain(this.store, before, this.options.publicKey);
    await this.log.appendNow({
      actor: adminActor(admin),
      action: 'audit.prune',
      detail: { pruned: result.pruned, anchor_seq: result.anchor_seq },
    });
    return result;
  }
}
