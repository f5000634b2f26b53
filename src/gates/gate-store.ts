import type { Store } from '../db/store';
import type { GateReport, Requirement } from './gate-schemas';

export interface GateRow {
  certname: string;
  environment: string;
  name: string;
  open: boolean;
  requires: Requirement[];
  missing: Requirement[];
  since: Date;
  opened_at: Date | null;
}

/** SQL for gates, the reports of nodes' runs. */
export class GateStore {
  constructor(private readonly store: Store) {}

  /** Upserts one gate; `since` moves only when it opened or closed, `opened_at` when it opened. */
  async report(certname: string, environment: string, name: string, report: GateReport): Promise<{ changed: boolean }> {
    const { rows } = await this.store.query<{ changed: boolean }>(
      `WITH before AS (SELECT open FROM gates WHERE certname = $1 AND name = $3)
       INSERT INTO gates (certname, environment, name, open, requires, missing, opened_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, CASE WHEN $4 THEN now() END)
       ON CONFLICT (certname, name) DO UPDATE SET
         environment = EXCLUDED.environment, requires = EXCLUDED.requires, missing = EXCLUDED.missing, updated_at = now(),
         since = CASE WHEN gates.open <> EXCLUDED.open THEN now() ELSE gates.since END,
         opened_at = CASE WHEN EXCLUDED.open AND NOT gates.open THEN now() ELSE gates.opened_at END,
         open = EXCLUDED.open
       RETURNING (SELECT open FROM before) IS DISTINCT FROM $4 AS changed`,
      [certname, environment, name, report.open, JSON.stringify(report.requires), JSON.stringify(report.missing)],
    );
    return rows[0];
  }

  /** Removes the node's gates that its catalog no longer has. */
  async prune(certname: string, keep: string[]): Promise<string[]> {
    const { rows } = await this.store.query<{ name: string }>(
      'DELETE FROM gates WHERE certname = $1 AND NOT (name = ANY($2::text[])) RETURNING name',
      [certname, keep],
    );
    return rows.map((r) => r.name).sort();
  }

  async ofNode(certname: string): Promise<GateRow[]> {
    const { rows } = await this.store.query<GateRow>(
      'SELECT certname, environment, name, open, requires, missing, since, opened_at FROM gates WHERE certname = $1 ORDER BY name',
      [certname],
    );
    return rows;
  }

  async ofEnvironment(environment: string): Promise<GateRow[]> {
    const { rows } = await this.store.query<GateRow>(
      'SELECT certname, environment, name, open, requires, missing, since, opened_at FROM gates WHERE environment = $1 ORDER BY certname, name',
      [environment],
    );
    return rows;
  }
}
