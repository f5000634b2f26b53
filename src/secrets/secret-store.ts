import type { Queryable, Store } from '../db/store';
import type { Sealed } from './cipher';

export const BROKER_EXPORTER = '@broker'; // not a valid certname, so never mistaken for a node

export interface SecretVersionRow {
  fact_id: number;
  environment: string;
  category: string;
  name: string;
  exporter: string;
  version: number;
  multi: boolean;
  state: 'pending' | 'current' | 'previous' | 'destroyed';
  key_id: string;
  nonce: Buffer;
  ciphertext: Buffer;
}

export interface SightingRow {
  exporter: string;
  version: number;
  certname: string;
  first_seen: Date;
  last_seen: Date;
  count: number;
}

/** SQL for encrypted values, their versions and their sightings. */
export class SecretStore {
  constructor(private readonly store: Store) {}

  get db(): Store {
    return this.store;
  }

  async currentFingerprints(tx: Queryable, factId: number): Promise<Map<string, Buffer>> {
    const { rows } = await tx.query<{ exporter: string; fingerprint: Buffer }>(
      "SELECT exporter, fingerprint FROM secret_versions WHERE fact_id = $1 AND state = 'current'",
      [factId],
    );
    return new Map(rows.map((r) => [r.exporter, r.fingerprint]));
  }

  /** Adds a version; a new current one moves the old current to previous for the grace period. */
  async addVersion(
    tx: Queryable,
    v: {
      factId: number;
      exporter: string;
      version: number;
      state: 'pending' | 'current';
      sealed: Sealed;
      fingerprint: Buffer;
      graceSeconds: number;
    },
  ): Promise<void> {
    if (v.state === 'current') await this.retireCurrent(tx, v.factId, v.exporter, v.graceSeconds);
    await tx.query(
      `INSERT INTO secret_versions (fact_id, exporter, version, state, key_id, nonce, ciphertext, fingerprint)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [v.factId, v.exporter, v.version, v.state, v.sealed.keyId, v.sealed.nonce, v.sealed.ciphertext, v.fingerprint],
    );
  }

  async retireCurrent(tx: Queryable, factId: number, exporter: string, graceSeconds: number): Promise<void> {
    await tx.query(
      `UPDATE secret_versions SET state = 'previous', retired_at = now(), expires_at = now() + make_interval(secs => $3)
        WHERE fact_id = $1 AND exporter = $2 AND state = 'current'`,
      [factId, exporter, graceSeconds],
    );
  }

  async promote(tx: Queryable, factId: number, exporter: string, version: number, graceSeconds: number): Promise<boolean> {
    await this.retireCurrent(tx, factId, exporter, graceSeconds);
    const r = await tx.query(
      "UPDATE secret_versions SET state = 'current' WHERE fact_id = $1 AND exporter = $2 AND version = $3 AND state = 'pending'",
      [factId, exporter, version],
    );
    return r.rowCount === 1;
  }

  /** A withdrawn value is no longer readable: its ciphertexts go, its fingerprints and sightings stay. */
  async destroyAll(tx: Queryable, factId: number, exporter: string): Promise<void> {
    await tx.query(
      `UPDATE secret_versions SET state = 'destroyed', key_id = NULL, nonce = NULL, ciphertext = NULL, destroyed_at = now()
        WHERE fact_id = $1 AND exporter = $2 AND state <> 'destroyed'`,
      [factId, exporter],
    );
  }

  /** Versions a reader may get: current, pending, and previous within its grace period. */
  async readable(q: Queryable, env: string, category: string, name: string, version?: number): Promise<SecretVersionRow[]> {
    const { rows } = await q.query<SecretVersionRow>(
      `SELECT s.fact_id, f.environment, f.category, f.name, f.multi, s.exporter, s.version, s.state, s.key_id, s.nonce, s.ciphertext
         FROM facts f JOIN secret_versions s ON s.fact_id = f.id
        WHERE f.environment = $1 AND f.category = $2 AND f.name = $3 AND f.sensitive
          AND s.ciphertext IS NOT NULL
          AND ($4::integer IS NULL OR s.version = $4)
          AND (s.state IN ('current', 'pending') OR (s.state = 'previous' AND s.expires_at > now()))
        ORDER BY s.exporter, s.version`,
      [env, category, name, version ?? null],
    );
    return rows;
  }

  /** Who asked for a generated secret: by default, its readers. */
  async addRequester(tx: Queryable, factId: number, certname: string): Promise<void> {
    await tx.query('INSERT INTO secret_requesters (fact_id, certname) VALUES ($1, $2) ON CONFLICT DO NOTHING', [factId, certname]);
  }

  async requesters(q: Queryable, factId: number): Promise<string[]> {
    const { rows } = await q.query<{ certname: string }>('SELECT certname FROM secret_requesters WHERE fact_id = $1', [factId]);
    return rows.map((r) => r.certname);
  }

  /** One row per node x secret x version: a read bumps it, in the same transaction as the read. */
  /** Counts a hand-out; true when it is this node's first sighting of this version. */
  async recordSighting(tx: Queryable, factId: number, exporter: string, version: number, certname: string): Promise<boolean> {
    const { rows } = await tx.query<{ first: boolean }>(
      `INSERT INTO secret_sightings (fact_id, exporter, version, certname) VALUES ($1, $2, $3, $4)
       ON CONFLICT (fact_id, exporter, version, certname) DO UPDATE
         SET last_seen = now(), count = secret_sightings.count + 1
       RETURNING (xmax = 0) AS first`,
      [factId, exporter, version, certname],
    );
    return rows[0].first;
  }

  /** Points a first sighting at the audit entry that recorded it (verify checks both agree). */
  async linkSighting(tx: Queryable, factId: number, exporter: string, version: number, certname: string, auditSeq: number): Promise<void> {
    await tx.query('UPDATE secret_sightings SET audit_seq = $5 WHERE fact_id = $1 AND exporter = $2 AND version = $3 AND certname = $4', [
      factId,
      exporter,
      version,
      certname,
      auditSeq,
    ]);
  }

  async sightings(factId: number): Promise<SightingRow[]> {
    const { rows } = await this.store.query<SightingRow>(
      'SELECT exporter, version, certname, first_seen, last_seen, count FROM secret_sightings WHERE fact_id = $1 ORDER BY version, certname',
      [factId],
    );
    return rows;
  }

  async versions(factId: number) {
    const { rows } = await this.store.query<{
      exporter: string;
      version: number;
      state: string;
      key_id: string | null;
      created_at: Date;
      retired_at: Date | null;
      expires_at: Date | null;
    }>(
      'SELECT exporter, version, state, key_id, created_at, retired_at, expires_at FROM secret_versions WHERE fact_id = $1 ORDER BY exporter, version',
      [factId],
    );
    return rows;
  }

  async list(env?: string) {
    const { rows } = await this.store.query<{
      environment: string;
      category: string;
      name: string;
      generated: boolean;
      multi: boolean;
      exporters: string[];
      current_version: number | null;
      versions: number;
    }>(
      `SELECT f.environment, f.category, f.name, f.generator IS NOT NULL AS generated, f.multi,
              array_agg(DISTINCT s.exporter) AS exporters,
              max(s.version) FILTER (WHERE s.state = 'current') AS current_version,
              count(*)::int AS versions
         FROM facts f JOIN secret_versions s ON s.fact_id = f.id
        WHERE f.sensitive AND ($1::text IS NULL OR f.environment = $1)
        GROUP BY f.id ORDER BY f.environment, f.category, f.name`,
      [env ?? null],
    );
    return rows;
  }

  /** Ends the grace period of previous versions: their ciphertexts are destroyed. */
  async destroyExpired(): Promise<number> {
    const r = await this.store.query(
      `UPDATE secret_versions SET state = 'destroyed', key_id = NULL, nonce = NULL, ciphertext = NULL, destroyed_at = now()
        WHERE state = 'previous' AND expires_at <= now()`,
    );
    return r.rowCount;
  }
}
