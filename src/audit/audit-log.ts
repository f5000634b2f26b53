import type { Queryable, Store } from '../db/store';
import { AuditUnavailableError } from '../errors/audit-unavailable-error';
import { isConnectionFailure } from '../errors/store-errors';
import type { Logger } from '../log/logger';
import { type Actor, type AuditEntry, type AuditEventInput, chainHash } from './audit-entry';
import type { AuditHeadsFile } from './audit-heads-file';
import type { AuditSigner } from './audit-signer';
import { chainExtends } from './audit-verify';
import { type SignedHead, verifyHead } from './signed-head';

/** Refusals of one node for one reason are summed over this window. */
export const REFUSAL_WINDOW_MS = 60_000;
/** Targets named in one summed refusal event; the count says how many there were in all. */
const TARGETS_NAMED = 20;

/** The channel an append notifies (on commit), for followers such as the audit device. */
export const AUDIT_CHANNEL = 'exportfact_audit';

interface RefusalWindow {
  input: AuditEventInput;
  count: number;
  targets: Set<string>;
}

/**
 * Appends events to the hash chain. An append happens in the caller's transaction (the change
 * and its event commit together, or neither), after locking the chain's end: appends from
 * several brokers queue there, so the chain never forks.
 */
export class AuditLog {
  private readonly refusals = new Map<string, RefusalWindow>();
  private refusalTimer?: NodeJS.Timeout;
  /** The last head this broker signed, from which the next signature's check starts. */
  private lastSigned?: { seq: number; hash: Buffer };
  /** Why the chain was not signed last time; null once a check passed. */
  private integrityProblem: string | null = null;

  constructor(
    private readonly store: Store,
    private readonly signer: AuditSigner,
    private readonly log: Logger,
    private readonly heads: AuditHeadsFile,
    private readonly trustedKeys: () => Buffer[],
    private readonly refusalWindowMs = REFUSAL_WINDOW_MS,
  ) {}

  /** Appends in the caller's transaction; a failure to write the trail is 503 audit_unavailable, never a 500. */
  async append(tx: Queryable, input: AuditEventInput): Promise<number> {
    try {
      return await this.appendUnchecked(tx, input);
    } catch (err) {
      if (isConnectionFailure(err)) throw err;
      throw new AuditUnavailableError(err as Error);
    }
  }

  private async appendUnchecked(tx: Queryable, input: AuditEventInput): Promise<number> {
    const { rows } = await tx.query<{ seq: number; hash: Buffer }>('SELECT seq, hash FROM audit_chain FOR UPDATE');
    const entry: AuditEntry = {
      seq: rows[0].seq + 1,
      at: new Date(),
      actor_kind: input.actor.kind,
      actor: input.actor.name,
      action: input.action,
      environment: input.environment ?? null,
      category: input.category ?? null,
      name: input.name ?? null,
      version: input.version ?? null,
      count: input.count ?? 1,
      detail: input.detail ?? {},
    };
    const hash = await chainHash(rows[0].hash, entry);
    await tx.query(
      `INSERT INTO audit_events (seq, at, actor_kind, actor, action, environment, category, name, version, count, detail, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13)`,
      [
        entry.seq,
        entry.at,
        entry.actor_kind,
        entry.actor,
        entry.action,
        entry.environment,
        entry.category,
        entry.name,
        entry.version,
        entry.count,
        JSON.stringify(entry.detail),
        rows[0].hash,
        hash,
      ],
    );
    await tx.query(`UPDATE audit_chain SET seq = $1, hash = $2 RETURNING pg_notify('${AUDIT_CHANNEL}', $3)`, [
      entry.seq,
      hash,
      String(entry.seq),
    ]);
    return entry.seq;
  }

  /** An event that is not part of another change (admin reads, key rotation steps). */
  appendNow(input: AuditEventInput): Promise<number> {
    return this.store.transaction((tx) => this.append(tx, input));
  }

  /**
   * A refused access. The first refusal of a node for a reason is appended at once; further
   * ones within the window, whatever fact they aim at, are counted and appended as one event
   * when it ends (naming the first targets), so a node probing thousands of names cannot
   * flood the log.
   */
  refused(actor: Actor, reason: string, target: { environment?: string; category?: string; name?: string } = {}): void {
    const key = [actor.kind, actor.name, reason].join('\0');
    const targetName = target.category ? `${target.environment ?? ''}/${target.category}.${target.name ?? ''}` : '';
    const known = this.refusals.get(key);
    if (known) {
      known.count++;
      if (targetName && known.targets.size < TARGETS_NAMED) known.targets.add(targetName);
      return;
    }
    const input: AuditEventInput = { actor, action: 'access.refused', ...target, detail: { reason } };
    this.refusals.set(key, { input, count: 0, targets: new Set() });
    this.appendNow(input).catch((err: Error) => this.log.error({ err: err.message }, 'could not record a refused access'));
    this.refusalTimer ??= setTimeout(() => void this.flushRefusals(), this.refusalWindowMs).unref();
  }

  async flushRefusals(): Promise<void> {
    clearTimeout(this.refusalTimer);
    this.refusalTimer = undefined;
    const repeated = [...this.refusals.values()].filter((r) => r.count > 0);
    this.refusals.clear();
    for (const r of repeated) {
      const { environment, category, name, ...rest } = r.input;
      // One target throughout: keep it on the event; several: name them in the detail.
      const single = r.targets.size <= 1 && [...r.targets][0] === `${environment ?? ''}/${category}.${name ?? ''}`;
      const input: AuditEventInput = single
        ? { ...r.input, action: 'access.refused.repeated', count: r.count }
        : {
            ...rest,
            environment,
            action: 'access.refused.repeated',
            count: r.count,
            detail: { ...r.input.detail, targets: [...r.targets] },
          };
      await this.appendNow(input).catch((err: Error) => this.log.error({ err: err.message }, 'could not record repeated refusals'));
    }
  }

  /**
   * Signs the chain's current end, but only after checking that the chain still extends the
   * last head this broker signed: a chain rewritten in the database is never blessed. Each
   * head goes to the database and to the heads file outside it. Returns the head signed, or
   * undefined (nothing new, or the check failed: then `integrity` says why).
   */
  async signHead(): Promise<SignedHead | undefined> {
    const from = this.lastSigned ?? this.heads.last() ?? (await this.newestOwnHead());
    const { problem, end } = await chainExtends(this.store, from, this.trustedKeys());
    if (problem) {
      if (problem !== this.integrityProblem)
        this.log.error({ problem }, 'the audit chain does not extend the last signed head: not signing it; run `exportfact audit verify`');
      this.integrityProblem = problem;
      return undefined;
    }
    this.integrityProblem = null;
    if (end.seq === 0 || (from && from.seq === end.seq)) {
      this.lastSigned = end;
      return undefined;
    }
    const signedAt = new Date();
    const head: SignedHead = {
      seq: end.seq,
      hash: end.hash,
      signedAt,
      publicKey: this.signer.publicKey,
      signature: await this.signer.sign(end.seq, end.hash, signedAt),
    };
    await this.store.query(
      `INSERT INTO audit_heads (seq, hash, signed_at, public_key, signature) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (seq, public_key) DO NOTHING`,
      [head.seq, head.hash, head.signedAt, head.publicKey, head.signature],
    );
    this.heads.append(head);
    this.lastSigned = end;
    return head;
  }

  /** Why the last signing was refused (health shows it), or null. */
  get integrity(): string | null {
    return this.integrityProblem;
  }

  /** Without a heads file yet (a first start, or an upgrade), the newest head this key signed whose signature holds. */
  private async newestOwnHead(): Promise<{ seq: number; hash: Buffer } | undefined> {
    const { rows } = await this.store.query<{ seq: number; hash: Buffer; signed_at: Date; signature: Buffer }>(
      'SELECT seq, hash, signed_at, signature FROM audit_heads WHERE public_key = $1 ORDER BY seq DESC LIMIT 1',
      [this.signer.publicKey],
    );
    const h = rows[0];
    if (!h) return undefined;
    return (await verifyHead({ seq: h.seq, hash: h.hash, signedAt: h.signed_at, publicKey: this.signer.publicKey, signature: h.signature }))
      ? h
      : undefined;
  }

  async close(): Promise<void> {
    await this.flushRefusals();
    await this.signHead();
  }
}
