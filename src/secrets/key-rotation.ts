import crypto from 'node:crypto';
import os from 'node:os';
import type { Actor } from '../audit/audit-entry';
import type { Auditor } from '../audit/auditor';
import type { Store } from '../db/store';
import { ConflictError, NotFoundError } from '../errors/app-error';
import type { Logger } from '../log/logger';
import type { SecretAddress } from './cipher';
import type { SecretVault } from './secret-vault';

/** A broker whose heartbeat is older than this is taken for dead and no longer waited for. */
export const BROKER_LIVENESS_SECONDS = 20;

interface RotationRow {
  id: number;
  target_key_id: string;
  state: 'waiting' | 'reencrypting' | 'done';
  requested_by: string;
  requested_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  rows_done: number;
}

/**
 * Online key rotation across every broker sharing the store:
 * 1. each broker records the key ids it has loaded (heartbeat);
 * 2. a rotation waits until every live broker has the target key, then makes it the write key;
 * 3. brokers re-seal old rows in small batches, each batch its own transaction claimed with
 *    SKIP LOCKED, so serving goes on and a broker killed mid-way loses nothing: the rest resume.
 */
export class KeyRotation {
  readonly brokerId = crypto.randomUUID();
  private busy = false;

  constructor(
    private readonly store: Store,
    private readonly vault: SecretVault,
    private readonly log: Logger,
    private readonly audit: Auditor,
    private readonly batchSize = 200,
  ) {}

  async register(): Promise<void> {
    await this.store.query('INSERT INTO brokers (id, hostname, pid, key_ids) VALUES ($1, $2, $3, $4)', [
      this.brokerId,
      os.hostname(),
      process.pid,
      this.vault.loadedKeyIds,
    ]);
  }

  async unregister(): Promise<void> {
    await this.store.query('DELETE FROM brokers WHERE id = $1', [this.brokerId]);
  }

  /** Heartbeat, then one step of any open rotation. Called on an interval; never overlaps itself. */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.store.query('UPDATE brokers SET heartbeat_at = now(), key_ids = $2 WHERE id = $1', [
        this.brokerId,
        this.vault.loadedKeyIds,
      ]);
      await this.store.query(`DELETE FROM brokers WHERE heartbeat_at < now() - make_interval(secs => $1)`, [BROKER_LIVENESS_SECONDS * 3]);
      await this.step();
      const { rows } = await this.store.query<{ write_key_id: string }>('SELECT write_key_id FROM keyring_state');
      if (rows[0] && rows[0].write_key_id !== this.vault.currentWriteKeyId && this.vault.hasKey(rows[0].write_key_id)) {
        this.vault.setWriteKeyId(rows[0].write_key_id);
      }
    } finally {
      this.busy = false;
    }
  }

  async request(targetKeyId: string, requestedBy: Actor): Promise<RotationRow> {
    if (!this.vault.hasKey(targetKeyId))
      throw new NotFoundError('key_not_loaded', `key ${targetKeyId} is not in this broker's keyring ${this.vault.keyringFile}`);
    const { rows: state } = await this.store.query<{ write_key_id: string }>('SELECT write_key_id FROM keyring_state');
    if (state[0]?.write_key_id === targetKeyId) {
      const left = await this.rowsNotOn(targetKeyId);
      if (left === 0) throw new ConflictError('key_already_current', `key ${targetKeyId} already seals every secret`);
    }
    try {
      const row = await this.store.transaction(async (tx) => {
        const { rows } = await tx.query<RotationRow>(
          'INSERT INTO key_rotations (target_key_id, state, requested_by) VALUES ($1, $2, $3) RETURNING *',
          [targetKeyId, 'waiting', requestedBy.name],
        );
        await this.audit.append(tx, {
          actor: requestedBy,
          action: 'key.rotation.request',
          detail: { rotation: rows[0].id, target_key_id: targetKeyId },
        });
        return rows[0];
      });
      this.log.info({ rotation: row.id, target: targetKeyId, by: requestedBy.name }, 'key rotation requested');
      return row;
    } catch (err) {
      if ((err as { code?: string }).code === '23505')
        throw new ConflictError('rotation_in_progress', 'a key rotation is already in progress; see exportfact keys status');
      throw err;
    }
  }

  private async rowsNotOn(keyId: string): Promise<number> {
    const { rows } = await this.store.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM secret_versions WHERE ciphertext IS NOT NULL AND key_id <> $1',
      [keyId],
    );
    return rows[0].n;
  }

  private async step(): Promise<void> {
    const { rows } = await this.store.query<RotationRow>("SELECT * FROM key_rotations WHERE state <> 'done'");
    const rotation = rows[0];
    if (!rotation) return;
    if (rotation.state === 'waiting') {
      const lacking = await this.brokersLacking(rotation.target_key_id);
      if (lacking.length) return;
      // Every live broker can now read the new key: make it the write key, then re-seal.
      await this.store.transaction(async (tx) => {
        const moved = await tx.query(
          "UPDATE key_rotations SET state = 'reencrypting', started_at = now() WHERE id = $1 AND state = 'waiting'",
          [rotation.id],
        );
        if (moved.rowCount) await tx.query('UPDATE keyring_state SET write_key_id = $1', [rotation.target_key_id]);
      });
      this.vault.setWriteKeyId(rotation.target_key_id);
      this.log.info({ rotation: rotation.id, target: rotation.target_key_id }, 're-encryption started');
      return;
    }
    if (!this.vault.hasKey(rotation.target_key_id)) return;
    // Batches for up to a second per tick: each is its own short transaction, and requests
    // are served between them, so re-encryption never stalls the broker.
    const until = Date.now() + 1000;
    let done = 0;
    do done = await this.reencryptBatch(rotation);
    while (done > 0 && Date.now() < until);
    if (done === 0 && (await this.rowsNotOn(rotation.target_key_id)) === 0) {
      const finished = await this.store.transaction(async (tx) => {
        const r = await tx.query(
          "UPDATE key_rotations SET state = 'done', finished_at = now() WHERE id = $1 AND state = 'reencrypting' RETURNING rows_done",
          [rotation.id],
        );
        if (!r.rowCount) return false;
        await tx.query('UPDATE key_checks SET retired_at = now() WHERE key_id <> $1 AND retired_at IS NULL', [rotation.target_key_id]);
        await this.audit.append(tx, {
          actor: { kind: 'broker', name: os.hostname() },
          action: 'key.rotation.done',
          detail: { rotation: rotation.id, target_key_id: rotation.target_key_id },
        });
        return true;
      });
      if (finished) {
        this.log.info({ rotation: rotation.id, target: rotation.target_key_id }, 'key rotation done; older keys are retired');
      }
    }
  }

  /** Re-seals one batch with the target key; rows another broker holds are skipped, not waited for. */
  private async reencryptBatch(rotation: RotationRow): Promise<number> {
    return this.store.transaction(async (tx) => {
      const { rows } = await tx.query<SecretAddress & { fact_id: number; key_id: string; nonce: Buffer; ciphertext: Buffer }>(
        `SELECT s.fact_id, f.environment, f.category, f.name, s.exporter, s.version, s.key_id, s.nonce, s.ciphertext
           FROM secret_versions s JOIN facts f ON f.id = s.fact_id
          WHERE s.ciphertext IS NOT NULL AND s.key_id <> $1
          ORDER BY s.fact_id, s.exporter, s.version
          LIMIT $2
          FOR UPDATE OF s SKIP LOCKED`,
        [rotation.target_key_id, this.batchSize],
      );
      let resealed = 0;
      for (const row of rows) {
        if (!this.vault.hasKey(row.key_id)) continue; // an old key this broker lacks: another broker will do it
        const value = await this.vault.open(row, row);
        const sealed = await this.vault.seal(row, value, rotation.target_key_id);
        await tx.query(
          'UPDATE secret_versions SET key_id = $4, nonce = $5, ciphertext = $6 WHERE fact_id = $1 AND exporter = $2 AND version = $3',
          [row.fact_id, row.exporter, row.version, sealed.keyId, sealed.nonce, sealed.ciphertext],
        );
        resealed++;
      }
      if (resealed) await tx.query('UPDATE key_rotations SET rows_done = rows_done + $2 WHERE id = $1', [rotation.id, resealed]);
      return resealed;
    });
  }

  private async brokersLacking(keyId: string): Promise<string[]> {
    const { rows } = await this.store.query<{ id: string; hostname: string; pid: number }>(
      `SELECT id, hostname, pid FROM brokers
        WHERE heartbeat_at > now() - make_interval(secs => $2) AND NOT ($1 = ANY (key_ids))`,
      [keyId, BROKER_LIVENESS_SECONDS],
    );
    return rows.map((r) => `${r.hostname}:${r.pid}`);
  }

  /** Rows per key, brokers per key, and the open rotation if any. */
  async status() {
    const [keys, brokers, rotations, write] = await Promise.all([
      this.store.query<{ key_id: string; rows: number; retired_at: Date | null }>(
        `SELECT k.key_id, count(s.key_id)::int AS rows, k.retired_at
           FROM key_checks k LEFT JOIN secret_versions s ON s.key_id = k.key_id
          GROUP BY k.key_id, k.retired_at ORDER BY k.key_id`,
      ),
      this.store.query<{ id: string; hostname: string; pid: number; key_ids: string[]; heartbeat_at: Date; live: boolean }>(
        `SELECT id, hostname, pid, key_ids, heartbeat_at, heartbeat_at > now() - make_interval(secs => $1) AS live FROM brokers ORDER BY started_at`,
        [BROKER_LIVENESS_SECONDS],
      ),
      this.store.query<RotationRow>('SELECT * FROM key_rotations ORDER BY id DESC LIMIT 5'),
      this.store.query<{ write_key_id: string }>('SELECT write_key_id FROM keyring_state'),
    ]);
    return {
      write_key_id: write.rows[0]?.write_key_id ?? null,
      keys: keys.rows.map((k) => ({
        key_id: k.key_id,
        rows: k.rows,
        retired: k.retired_at !== null,
        brokers: brokers.rows.filter((b) => b.live && b.key_ids.includes(k.key_id)).map((b) => `${b.hostname}:${b.pid}`),
      })),
      brokers: brokers.rows.map((b) => ({
        id: b.id,
        host: `${b.hostname}:${b.pid}`,
        live: b.live,
        key_ids: b.key_ids,
        heartbeat_at: b.heartbeat_at.toISOString(),
      })),
      rotations: rotations.rows.map((r) => ({
        ...r,
        requested_at: r.requested_at.toISOString(),
        started_at: r.started_at?.toISOString() ?? null,
        finished_at: r.finished_at?.toISOString() ?? null,
      })),
    };
  }
}
