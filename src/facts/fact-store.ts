import type { Queryable, Store, Transaction } from '../db/store';
import { VIEW_CHANNEL } from './view-versions';

export interface FactRow {
  id: number;
  multi: boolean;
  sensitive: boolean;
  version: number;
  /** Set for broker-generated secrets: how to make the next value. */
  generator: { length: number; alphabet: string } | null;
}

export interface ViewRow {
  category: string;
  name: string;
  multi: boolean;
  sensitive: boolean;
  version: number;
  exporter: string;
  /** The value as JSON text, straight from the database (null for sensitive facts: never selected). */
  value_json: string | null;
  requesters: string[]; // nodes that asked the broker to generate it (generated secrets only)
}

/** A current exporter of a fact; `active` false when its node is deactivated or expired. */
export interface ExporterRow {
  exporter: string;
  same: boolean;
  version: number;
  active: boolean;
}

export interface ExportRow {
  id: number;
  category: string;
  name: string;
  multi: boolean;
  sensitive: boolean;
  version: number;
}

/** SQL for facts. Every statement takes $n parameters; values go in as JSON text cast to jsonb. */
export class FactStore {
  /**
   * @param onViewCommitted told each environment's new view version once its transaction has
   *   committed, so this broker serves its own write at once (read-your-writes) instead of
   *   waiting for the NOTIFY to come back.
   */
  constructor(
    private readonly store: Store,
    private readonly onViewCommitted: (environment: string, version: number) => void = () => undefined,
  ) {}

  /** Plain queries outside a transaction. */
  get db(): Queryable {
    return this.store;
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.store.transaction(fn);
  }

  /** Creates the fact row when absent and locks it: every writer of one fact queues here. */
  async lockFact(tx: Queryable, env: string, category: string, name: string, multi: boolean, sensitive: boolean): Promise<FactRow> {
    await tx.query('INSERT INTO environments (name) VALUES ($1) ON CONFLICT DO NOTHING', [env]);
    await tx.query(
      `INSERT INTO facts (environment, category, name, multi, sensitive) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (environment, category, name) DO NOTHING`,
      [env, category, name, multi, sensitive],
    );
    const { rows } = await tx.query<FactRow>(
      'SELECT id, multi, sensitive, version, generator FROM facts WHERE environment = $1 AND category = $2 AND name = $3 FOR UPDATE',
      [env, category, name],
    );
    return rows[0];
  }

  async findLocked(tx: Queryable, env: string, category: string, name: string): Promise<FactRow | undefined> {
    const { rows } = await tx.query<FactRow>(
      'SELECT id, multi, sensitive, version, generator FROM facts WHERE environment = $1 AND category = $2 AND name = $3 FOR UPDATE',
      [env, category, name],
    );
    return rows[0];
  }

  async findUnlocked(env: string, category: string, name: string): Promise<FactRow | undefined> {
    const { rows } = await this.store.query<FactRow>(
      'SELECT id, multi, sensitive, version, generator FROM facts WHERE environment = $1 AND category = $2 AND name = $3',
      [env, category, name],
    );
    return rows[0];
  }

  /**
   * Current exporters of a fact, and, when `plainValue` is given, whether each one's value equals
   * it (compared as jsonb, so key order does not matter). Only ever give the value of a
   * non-sensitive fact: a parameter is logged by PostgreSQL's log_statement and auto_explain,
   * so a secret is compared by its keyed fingerprint instead (SensitiveValues), never here.
   */
  async exporters(tx: Queryable, factId: number, plainValue?: unknown): Promise<ExporterRow[]> {
    // An exporter that is no node (the broker's own "@broker") counts as active.
    const from = `FROM fact_values v LEFT JOIN nodes n ON n.certname = v.exporter WHERE v.fact_id = $1 ORDER BY v.exporter`;
    const active = `coalesce(n.state, 'active') = 'active' AS active`;
    if (plainValue === undefined) {
      const { rows } = await tx.query<Omit<ExporterRow, 'same'>>(`SELECT v.exporter, v.version, ${active} ${from}`, [factId]);
      return rows.map((r) => ({ ...r, same: false }));
    }
    const { rows } = await tx.query<ExporterRow>(`SELECT v.exporter, v.value = $2::jsonb AS same, v.version, ${active} ${from}`, [
      factId,
      JSON.stringify(plainValue),
    ]);
    return rows;
  }

  async setKind(tx: Queryable, factId: number, multi: boolean, sensitive: boolean, generator: FactRow['generator'] = null): Promise<void> {
    await tx.query('UPDATE facts SET multi = $2, sensitive = $3, generator = $4::jsonb WHERE id = $1', [
      factId,
      multi,
      sensitive,
      generator && JSON.stringify(generator),
    ]);
  }

  /**
   * Writes a value as the fact's next version, records it, and bumps the environment's view.
   * A sensitive fact's value is not written here (nor in the history): the caller seals it into secret_versions.
   */
  async writeValue(
    tx: Transaction,
    env: string,
    fact: FactRow,
    exporter: string,
    value: unknown,
    action: 'create' | 'change',
  ): Promise<number> {
    const version = await this.nextVersion(tx, fact);
    const json = fact.sensitive ? null : JSON.stringify(value);
    await tx.query(
      `INSERT INTO fact_values (fact_id, exporter, value, version) VALUES ($1, $2, $3::jsonb, $4)
       ON CONFLICT (fact_id, exporter) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version, updated_at = now()`,
      [fact.id, exporter, json, version],
    );
    await tx.query('INSERT INTO fact_history (fact_id, version, exporter, action, value) VALUES ($1, $2, $3, $4, $5::jsonb)', [
      fact.id,
      version,
      exporter,
      action,
      json,
    ]);
    await this.bumpView(tx, env);
    return version;
  }

  /** Removes one exporter's value; returns the new fact version, or undefined if it had none. */
  async withdrawValue(tx: Transaction, env: string, fact: FactRow, exporter: string): Promise<number | undefined> {
    const deleted = await tx.query('DELETE FROM fact_values WHERE fact_id = $1 AND exporter = $2', [fact.id, exporter]);
    if (deleted.rowCount === 0) return undefined;
    const version = await this.nextVersion(tx, fact);
    await tx.query("INSERT INTO fact_history (fact_id, version, exporter, action) VALUES ($1, $2, $3, 'withdraw')", [
      fact.id,
      version,
      exporter,
    ]);
    await this.bumpView(tx, env);
    return version;
  }

  /** Takes the fact's next version number; the caller holds the fact's row lock, so there are no gaps. */
  async nextVersion(tx: Queryable, fact: FactRow): Promise<number> {
    fact.version += 1;
    await tx.query('UPDATE facts SET version = $2 WHERE id = $1', [fact.id, fact.version]);
    return fact.version;
  }

  /** Makes a new current version of an exporter's value visible (secrets: after a rotation). */
  async setCurrentVersion(tx: Transaction, env: string, factId: number, exporter: string, version: number): Promise<void> {
    await tx.query(
      `INSERT INTO fact_values (fact_id, exporter, value, version) VALUES ($1, $2, NULL, $3)
       ON CONFLICT (fact_id, exporter) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`,
      [factId, exporter, version],
    );
    await this.bumpView(tx, env);
  }

  /** Bumps the environment's view and tells every broker (NOTIFY is delivered on commit), this one once committed. */
  private async bumpView(tx: Transaction, env: string): Promise<void> {
    const { rows } = await tx.query<{ view_version: number }>(
      `WITH bumped AS (UPDATE environments SET view_version = view_version + 1 WHERE name = $1 RETURNING name, view_version)
       SELECT view_version, pg_notify('${VIEW_CHANNEL}', name || ':' || view_version) FROM bumped`,
      [env],
    );
    const version = rows[0]?.view_version;
    if (version !== undefined) tx.afterCommit(() => this.onViewCommitted(env, version));
  }

  /** Everything a node exports, in every environment (admins' `nodes show`). */
  async exportsOfNode(
    exporter: string,
  ): Promise<{ environment: string; category: string; name: string; multi: boolean; sensitive: boolean; version: number }[]> {
    const { rows } = await this.store.query<{
      environment: string;
      category: string;
      name: string;
      multi: boolean;
      sensitive: boolean;
      version: number;
    }>(
      `SELECT f.environment, f.category, f.name, f.multi, f.sensitive, v.version
         FROM fact_values v JOIN facts f ON f.id = v.fact_id WHERE v.exporter = $1 ORDER BY f.environment, f.category, f.name`,
      [exporter],
    );
    return rows;
  }

  /** Environments where a node has values (a node purged across environment moves). */
  async environmentsExportedBy(q: Queryable, exporter: string): Promise<string[]> {
    const { rows } = await q.query<{ environment: string }>(
      'SELECT DISTINCT f.environment FROM fact_values v JOIN facts f ON f.id = v.fact_id WHERE v.exporter = $1 ORDER BY 1',
      [exporter],
    );
    return rows.map((r) => r.environment);
  }

  /**
   * A node's values entered or left every view they are in (its state changed): bumps each
   * such environment's view, so readers' ETags change and they see it at their next request.
   */
  async bumpViewsExportedBy(tx: Transaction, exporter: string): Promise<void> {
    for (const environment of await this.environmentsExportedBy(tx, exporter)) await this.bumpView(tx, environment);
  }

  /** The caller's own values, locked in id order so that concurrent prunes cannot deadlock. */
  async exportsOf(q: Queryable, env: string, exporter: string, lock = false): Promise<ExportRow[]> {
    const { rows } = await q.query<ExportRow>(
      `SELECT f.id, f.category, f.name, f.multi, f.sensitive, v.version
         FROM fact_values v JOIN facts f ON f.id = v.fact_id
        WHERE f.environment = $1 AND v.exporter = $2
        ORDER BY f.id ${lock ? 'FOR UPDATE OF f' : ''}`,
      [env, exporter],
    );
    return rows;
  }

  /**
   * Everything readers of an environment see; sensitive values are not even selected. Values
   * of deactivated and expired nodes are left out (kept, and back when the node returns).
   */
  async viewRows(env: string, category?: string): Promise<ViewRow[]> {
    const { rows } = await this.store.query<ViewRow>(
      `SELECT f.category, f.name, f.multi, f.sensitive, v.version, v.exporter,
              CASE WHEN f.sensitive THEN NULL ELSE v.value::text END AS value_json,
              CASE WHEN f.generator IS NULL THEN '{}'::text[]
                   ELSE ARRAY(SELECT r.certname FROM secret_requesters r WHERE r.fact_id = f.id) END AS requesters
         FROM facts f JOIN fact_values v ON v.fact_id = f.id
         LEFT JOIN nodes n ON n.certname = v.exporter
        WHERE f.environment = $1 AND ($2::text IS NULL OR f.category = $2) AND coalesce(n.state, 'active') = 'active'
        ORDER BY f.category, f.name, v.exporter`,
      [env, category ?? null],
    );
    return rows;
  }
}
