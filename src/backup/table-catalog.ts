import type { Queryable } from '../db/store';

/**
 * The broker's tables as the database itself describes them (pg_catalog, the same on PostgreSQL
 * and PGlite), so a snapshot follows whatever schema version it meets, an old release's
 * included, without a list here to keep in step with sql/.
 */
export interface ColumnSpec {
  name: string;
  /** As format_type() writes it ("integer", "timestamp with time zone", "text[]"): also the cast back. */
  type: string;
}

export interface TableSpec {
  name: string;
  columns: ColumnSpec[];
  /** Identity columns: restored with OVERRIDING SYSTEM VALUE, then their sequences set past the highest value. */
  identity: string[];
  /** Primary key columns: rows are written in that order, so two snapshots of one state are equal. */
  primaryKey: string[];
}

/**
 * Left out of every snapshot:
 * - brokers: which broker processes are alive and what keys they hold, rewritten by each
 *   broker's heartbeat; restored rows would be ghosts a key rotation waits for.
 * - schema_migrations: not copied but re-created, by running the same migrations on the target
 *   (the snapshot names them), so the restored schema is what this code builds.
 */
export const SKIPPED_TABLES: ReadonlySet<string> = new Set(['brokers', 'schema_migrations']);

/** Types whose JSON form (json_build_array) reads back exactly with `(r->>i)::type`. */
const JSON_NATIVE = new Set(['integer', 'bigint', 'smallint', 'boolean', 'text', 'timestamp with time zone']);

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The tables of the current schema, parents before children (foreign keys), then by name. */
export async function readCatalog(db: Queryable): Promise<TableSpec[]> {
  const { rows: columns } = await db.query<{ table: string; column: string; type: string; identity: string; generated: string }>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
            a.attidentity::text AS identity, a.attgenerated::text AS generated
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid
      WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname, a.attnum`,
  );
  const { rows: keys } = await db.query<{ table: string; column: string }>(
    `SELECT c.relname AS table, a.attname AS column
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos) ON true
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      WHERE n.nspname = current_schema() AND i.indisprimary
      ORDER BY c.relname, k.pos`,
  );
  const { rows: references } = await db.query<{ child: string; parent: string }>(
    `SELECT DISTINCT ch.relname AS child, pa.relname AS parent
       FROM pg_constraint f
       JOIN pg_class ch ON ch.oid = f.conrelid
       JOIN pg_class pa ON pa.oid = f.confrelid
       JOIN pg_namespace n ON n.oid = ch.relnamespace
      WHERE f.contype = 'f' AND n.nspname = current_schema() AND ch.relname <> pa.relname`,
  );

  const tables = new Map<string, TableSpec>();
  for (const c of columns) {
    if (SKIPPED_TABLES.has(c.table)) continue;
    // A generated column cannot be written; none exists today, and a silent gap in a backup would be worse than a refusal.
    if (c.generated) throw new Error(`table ${c.table} has a generated column ${c.column}: a snapshot cannot restore it`);
    const t = tables.get(c.table) ?? { name: c.table, columns: [], identity: [], primaryKey: [] };
    t.columns.push({ name: c.column, type: c.type });
    if (c.identity) t.identity.push(c.column);
    tables.set(c.table, t);
  }
  for (const k of keys) tables.get(k.table)?.primaryKey.push(k.column);
  return dependencyOrder(
    [...tables.values()],
    references.filter((r) => tables.has(r.child) && tables.has(r.parent)),
  );
}

/** Kahn's algorithm, ties broken by name: every table after the tables its foreign keys point to. */
function dependencyOrder(tables: TableSpec[], references: { child: string; parent: string }[]): TableSpec[] {
  const parents = new Map(tables.map((t) => [t.name, new Set<string>()]));
  for (const r of references) parents.get(r.child)!.add(r.parent);
  const byName = new Map(tables.map((t) => [t.name, t]));
  const ordered: TableSpec[] = [];
  while (parents.size) {
    const ready = [...parents].filter(([, p]) => [...p].every((name) => !parents.has(name))).map(([name]) => name);
    if (!ready.length) throw new Error(`foreign keys form a cycle between ${[...parents.keys()].join(', ')}`);
    for (const name of ready.sort()) {
      ordered.push(byName.get(name)!);
      parents.delete(name);
    }
  }
  return ordered;
}

/**
 * One row as a JSON array, rendered by the database: bytea as base64 (the lead's format:
 * ciphertexts, nonces and hashes), json/jsonb as their text (so SQL NULL and JSON null stay
 * apart), types JSON holds exactly as themselves, anything else as its text form.
 */
export function rowExpression(t: TableSpec): string {
  const parts = t.columns.map((c) => {
    const col = quoteIdent(c.name);
    if (c.type === 'bytea') return `translate(encode(${col}, 'base64'), E'\\n', '')`;
    if (JSON_NATIVE.has(c.type)) return col;
    return `${col}::text`;
  });
  // json_build_array takes at most 100 arguments (FUNC_MAX_ARGS); our widest table has 13 columns.
  if (parts.length > 100) throw new Error(`table ${t.name} has more than 100 columns`);
  return `json_build_array(${parts.join(', ')})::text`;
}

/** The cast of element i of a row array back to its column. */
function valueExpression(c: ColumnSpec, i: number): string {
  if (c.type === 'bytea') return `decode(r->>${i}, 'base64')`;
  return `(r->>${i})::${c.type}`;
}

/**
 * INSERT of a batch of row arrays given as one JSON array ($1). Rows of another length are
 * skipped here, so the caller's count of inserted rows finds them.
 */
export function insertStatement(t: TableSpec): string {
  const overriding = t.identity.length ? ' OVERRIDING SYSTEM VALUE' : '';
  return `INSERT INTO ${quoteIdent(t.name)} (${t.columns.map((c) => quoteIdent(c.name)).join(', ')})${overriding}
    SELECT ${t.columns.map(valueExpression).join(', ')}
      FROM json_array_elements($1::json) AS r
     WHERE json_typeof(r) = 'array' AND json_array_length(r) = ${t.columns.length}`;
}

export function selectStatement(t: TableSpec): string {
  const order = t.primaryKey.length ? ` ORDER BY ${t.primaryKey.map(quoteIdent).join(', ')}` : '';
  return `SELECT ${rowExpression(t)} AS r FROM ${quoteIdent(t.name)}${order}`;
}
