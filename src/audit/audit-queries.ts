import type { Store } from '../db/store';
import type { AuditEntry } from './audit-entry';

export interface EventFilter {
  since?: Date;
  until?: Date;
  actor?: string;
  environment?: string;
  category?: string;
  name?: string;
  action?: string;
  limit: number;
}

const iso = (d: Date | string | null) => (d instanceof Date ? d.toISOString() : d);

/** Timestamps formatted by the server as JS would (ISO 8601, UTC, milliseconds): hundreds of
 *  rows per answer are not parsed into Dates only to be printed again. */
const ts = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The questions auditors ask, each one indexed query. */
export class AuditQueries {
  constructor(private readonly store: Store) {}

  /** Who saw fact X, per version. */
  async whoSaw(environment: string, category: string, name: string) {
    const { rows } = await this.store.query<{
      exporter: string;
      version: number;
      state: string;
      certname: string;
      first_seen: string;
      last_seen: string;
      count: number;
    }>(
      `SELECT s.exporter, s.version, v.state, s.certname, ${ts('s.first_seen')} AS first_seen, ${ts('s.last_seen')} AS last_seen, s.count
         FROM facts f JOIN secret_sightings s ON s.fact_id = f.id
         JOIN secret_versions v ON v.fact_id = s.fact_id AND v.exporter = s.exporter AND v.version = s.version
        WHERE f.environment = $1 AND f.category = $2 AND f.name = $3
        ORDER BY s.version, s.certname`,
      [environment, category, name],
    );
    return rows;
  }

  /** What node N saw (optionally since a time). */
  async nodeSaw(certname: string, since?: Date) {
    const { rows } = await this.store.query<{
      environment: string;
      category: string;
      name: string;
      version: number;
      state: string;
      first_seen: string;
      last_seen: string;
      count: number;
    }>(
      `SELECT f.environment, f.category, f.name, s.version, v.state, ${ts('s.first_seen')} AS first_seen, ${ts('s.last_seen')} AS last_seen, s.count
         FROM secret_sightings s JOIN facts f ON f.id = s.fact_id
         JOIN secret_versions v ON v.fact_id = s.fact_id AND v.exporter = s.exporter AND v.version = s.version
        WHERE s.certname = $1 AND ($2::timestamptz IS NULL OR s.last_seen >= $2)
        ORDER BY s.last_seen DESC`,
      [certname, since ?? null],
    );
    return rows;
  }

  /** Nodes that fetched some version of X but not its current one: who still holds an old value. */
  async notCurrent(environment: string, category: string, name: string) {
    const { rows } = await this.store.query<{ certname: string; newest_version: number; last_seen: Date }>(
      `SELECT s.certname, max(s.version)::int AS newest_version, max(s.last_seen) AS last_seen
         FROM facts f JOIN secret_sightings s ON s.fact_id = f.id
        WHERE f.environment = $1 AND f.category = $2 AND f.name = $3
        GROUP BY s.certname
       HAVING NOT bool_or(EXISTS (SELECT 1 FROM secret_versions v
                                   WHERE v.fact_id = s.fact_id AND v.exporter = s.exporter AND v.version = s.version AND v.state = 'current'))
        ORDER BY s.certname`,
      [environment, category, name],
    );
    return rows.map((r) => ({ ...r, last_seen: iso(r.last_seen) }));
  }

  async events(f: EventFilter) {
    const { rows } = await this.store.query<AuditEntry>(
      `SELECT seq, at, actor_kind, actor, action, environment, category, name, version, count, detail FROM audit_events
        WHERE ($1::timestamptz IS NULL OR at >= $1) AND ($2::timestamptz IS NULL OR at < $2)
          AND ($3::text IS NULL OR actor = $3) AND ($4::text IS NULL OR environment = $4)
          AND ($5::text IS NULL OR category = $5) AND ($6::text IS NULL OR name = $6)
          AND ($7::text IS NULL OR action LIKE $7 || '%')
        ORDER BY seq DESC LIMIT $8`,
      [
        f.since ?? null,
        f.until ?? null,
        f.actor ?? null,
        f.environment ?? null,
        f.category ?? null,
        f.name ?? null,
        f.action ?? null,
        f.limit,
      ],
    );
    return rows.map((r) => ({ ...r, at: iso(r.at) }));
  }

  /** Which secret version has this fingerprint, and who received it: no decryption involved. */
  async leaked(fingerprints: Buffer[]) {
    const { rows } = await this.store.query<{
      fact_id: number;
      environment: string;
      category: string;
      name: string;
      exporter: string;
      version: number;
      state: string;
      created_at: Date;
    }>(
      `SELECT f.id AS fact_id, f.environment, f.category, f.name, v.exporter, v.version, v.state, v.created_at
         FROM secret_versions v JOIN facts f ON f.id = v.fact_id
        WHERE v.fingerprint = ANY ($1::bytea[])
        ORDER BY f.environment, f.category, f.name, v.version`,
      [fingerprints],
    );
    const out = [];
    for (const r of rows) {
      const receivers = await this.store.query<{ certname: string; first_seen: Date; last_seen: Date; count: number }>(
        'SELECT certname, first_seen, last_seen, count FROM secret_sightings WHERE fact_id = $1 AND exporter = $2 AND version = $3 ORDER BY first_seen',
        [r.fact_id, r.exporter, r.version],
      );
      out.push({
        environment: r.environment,
        category: r.category,
        name: r.name,
        exporter: r.exporter,
        version: r.version,
        state: r.state,
        created_at: iso(r.created_at),
        received_by: receivers.rows.map((x) => ({
          certname: x.certname,
          first_seen: iso(x.first_seen),
          last_seen: iso(x.last_seen),
          count: x.count,
        })),
      });
    }
    return out;
  }
}
