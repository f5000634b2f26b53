import type { Store } from '../db/store';
import type { Requirement } from '../gates/gate-schemas';

export interface GraphNodeRow {
  certname: string;
  role: string | null;
  state: string;
  last_seen: string;
}
export interface ExportRow {
  category: string;
  name: string;
  multi: boolean;
  sensitive: boolean;
  exporter: string;
  version: number;
  state: string;
}
export interface GateRow {
  certname: string;
  name: string;
  open: boolean;
  requires: Requirement[];
  missing: Requirement[];
  since: string;
  opened_at: string | null;
}
export interface SecretRow {
  category: string;
  name: string;
  exporter: string;
  current_version: number;
  /** Each reader's newest version seen. */
  readers: { certname: string; version: number }[];
}

/** Server-formatted timestamps (ISO 8601, UTC): thousands of rows are not parsed into Dates only to be printed again. */
const ts = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The SQL behind the deployment picture of one environment: a few set queries, no per-node round trips. */
export class GraphStore {
  constructor(private readonly store: Store) {}

  async nodes(environment: string): Promise<GraphNodeRow[]> {
    const { rows } = await this.store.query<GraphNodeRow>(
      `SELECT certname, role, state, ${ts('last_seen')} AS last_seen FROM nodes WHERE environment = $1 ORDER BY certname`,
      [environment],
    );
    return rows;
  }

  /** Current values, with whether their exporter is active (the broker's "@broker" is). */
  async exports(environment: string): Promise<ExportRow[]> {
    const { rows } = await this.store.query<ExportRow>(
      `SELECT f.category, f.name, f.multi, f.sensitive, v.exporter, v.version, coalesce(n.state, 'active') AS state
         FROM facts f JOIN fact_values v ON v.fact_id = f.id LEFT JOIN nodes n ON n.certname = v.exporter
        WHERE f.environment = $1 ORDER BY f.category, f.name, v.exporter`,
      [environment],
    );
    return rows;
  }

  /** Who ever exported each fact (its history): who could publish it again. */
  async pastExporters(environment: string): Promise<{ category: string; name: string; exporter: string }[]> {
    const { rows } = await this.store.query<{ category: string; name: string; exporter: string }>(
      `SELECT DISTINCT f.category, f.name, h.exporter FROM facts f JOIN fact_history h ON h.fact_id = f.id WHERE f.environment = $1`,
      [environment],
    );
    return rows;
  }

  async gates(environment: string): Promise<GateRow[]> {
    const { rows } = await this.store.query<GateRow>(
      `SELECT certname, name, open, requires, missing, ${ts('since')} AS since, ${ts('opened_at')} AS opened_at
         FROM gates WHERE environment = $1 ORDER BY certname, name`,
      [environment],
    );
    return rows;
  }

  /** Each secret's current version per exporter, and each reader's newest version seen. */
  async secrets(environment: string): Promise<SecretRow[]> {
    const { rows } = await this.store.query<SecretRow>(
      `SELECT f.category, f.name, v.exporter, v.version AS current_version,
              coalesce((SELECT json_agg(json_build_object('certname', s.certname, 'version', s.version))
                          FROM (SELECT certname, max(version) AS version FROM secret_sightings
                                 WHERE fact_id = f.id AND exporter = v.exporter GROUP BY certname) s), '[]'::json) AS readers
         FROM facts f JOIN secret_versions v ON v.fact_id = f.id AND v.state = 'current'
        WHERE f.environment = $1 ORDER BY f.category, f.name, v.exporter`,
      [environment],
    );
    return rows;
  }

  /** Nodes refused a single fact another node owns, in the last hour: a conflict to show. */
  async conflicts(environment: string): Promise<{ category: string; name: string; certname: string }[]> {
    const { rows } = await this.store.query<{ category: string; name: string; certname: string }>(
      `SELECT DISTINCT category, name, actor AS certname FROM audit_events
        WHERE environment = $1 AND action LIKE 'access.refused%' AND detail->>'reason' = 'fact_owned_by_other'
          AND at > now() - interval '1 hour' AND category IS NOT NULL`,
      [environment],
    );
    return rows;
  }
}
