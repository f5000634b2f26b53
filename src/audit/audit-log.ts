import type { Queryable, Store } from '../db/store';
import type { Logger } from '../log/logger';
import { chainHash, type Actor, type AuditEntry, type AuditEventInput } from './audit-entry';
import type { AuditSigner } from './audit-signer';

/** Repeated refusals of one node for one reason and target are summed over this window. */
export const REFUSAL_WINDOW_MS = 60_000;

/**
 * Appends events to the hash chain. An append happens in the caller's transaction (the change
 * and its event commit together, or neither), after locking the chain's end: appends from
 * several brokers queue there, so the chain never forks.
 */
export class AuditLog {
  private readonly refusals = new Map<string, { input: AuditEventInput; count: number }>();
  private refusalTimer?: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly signer: AuditSigner,
    private readonly log: Logger,
    private readonly refusalWindowMs = REFUSAL_WINDOW_MS,
  ) {}

  async append(tx: Queryable, input: AuditEventInput): Promise<number> {
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
      [entry.seq, entry.at, entry.actor_kind, entry.actor, entry.action, entry.environment, entry.category, entry.name, entry.version, entry.count, JSON.stringify(entry.detail), rows[0].hash, hash],
    );
    await tx.query('UPDATE audit_chain SET seq = $1, hash = $2', [entry.seq, hash]);
    return entry.seq;
  }

  /** An event that is not part of another change (admin reads, key rotation steps). */
  appendNow(input: AuditEventInput): Promise<number> {
    return this.store.transaction((tx) => this.append(tx, input));
  }

  /**
   * A refused access. The first of a kind is appended at once; repeats by the same actor for the
   * same reason and target within the window are counted and appended as one event when it ends,
   * so a misbehaving node cannot flood the log.
   */
  refused(actor: Actor, reason: string, target: { environment?: string; category?: string; name?: string } = {}): void {
    const key = [actor.kind, actor.name, reason, target.environment, target.category, target.name].join('\0');
    const known = this.refusals.get(key);
    if (known) {
      known.count++;
      return;
    }
    const input: AuditEventInput = { actor, action: 'access.refused', ...target, detail: { reason } };
    this.refusals.set(key, { input, count: 0 });
    this.appendNow(input).catch((err: Error) => this.log.error({ err: err.message }, 'could not record a refused access'));
    this.refusalTimer ??= setTimeout(() => void this.flushRefusals(), this.refusalWindowMs).unref();
  }

  async flushRefusals(): Promise<void> {
    clearTimeout(this.refusalTimer);
    this.refusalTimer = undefined;
    const repeated = [...this.refusals.values()].filter((r) => r.count > 0);
    this.refusals.clear();
    for (const r of repeated) {
      await this.appendNow({ ...r.input, action: 'access.refused.repeated', count: r.count }).catch((err: Error) =>
        this.log.error({ err: err.message }, 'could not record repeated refusals'),
      );
    }
  }

  /** Signs the chain's current end; nothing to do when it is already signed by this key. */
  async signHead(): Promise<void> {
    const { rows } = await this.store.query<{ seq: number; hash: Buffer }>('SELECT seq, hash FROM audit_chain');
    const head = rows[0];
    if (head.seq === 0) return;
    const signedAt = new Date();
    const signature = await this.signer.sign(head.seq, head.hash, signedAt);
    await this.store.query(
      `INSERT INTO audit_heads (seq, hash, signed_at, public_key, signature) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (seq, public_key) DO NOTHING`,
      [head.seq, head.hash, signedAt, this.signer.publicKey, signature],
    );
  }

  async close(): Promise<void> {
    await this.flushRefusals();
    await this.signHead();
  }
}
