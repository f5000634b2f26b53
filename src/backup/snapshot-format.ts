import { z } from 'zod';
import { ConfigError } from '../errors/config-error';

/**
 * A snapshot of the database is one stream of JSON lines, the same from both stores and in
 * both directions (the backup file `database.ndjson`, the admin API's `GET /admin/v1/backup`,
 * and what `migrate-store` pipes from one store into the other):
 *
 *   {"snapshot": {...header}}                 first: format, schema version and migrations
 *   {"table": "facts", "columns": [...], ...} then, per table in dependency order, its spec
 *   ["…", 1, true, null]                      and its rows, one JSON array per line
 *   {"end": {...summary}}                     last: row counts, audit chain head, key ids
 *
 * A stream without its end line is incomplete (a cut connection, an interrupted export) and
 * is never accepted. The admin API writes {"error": "..."} instead of the end line when the
 * export fails after the answer started.
 */
export const SNAPSHOT_FORMAT = 1;

const column = z.strictObject({ name: z.string().min(1), type: z.string().min(1) });

export const snapshotHeader = z.strictObject({
  format: z.literal(SNAPSHOT_FORMAT),
  exportfact_version: z.string(),
  store: z.enum(['embedded', 'postgres']),
  taken_at: z.iso.datetime({ offset: true }),
  schema_version: z.number().int().min(0),
  /** Every migration the database had, as NNNN_name: the restore runs the same ones. */
  migrations: z.array(z.string().regex(/^\d{4}_[a-z0-9_]+$/)),
});
export type SnapshotHeader = z.infer<typeof snapshotHeader>;

export const tableLine = z.strictObject({
  table: z.string().min(1),
  columns: z.array(column).min(1),
  identity: z.array(z.string()),
  primary_key: z.array(z.string()),
});
export type TableLine = z.infer<typeof tableLine>;

export const snapshotSummary = z.strictObject({
  rows: z.record(z.string(), z.number().int().min(0)),
  /** The audit chain's end inside the snapshot (absent before the audit schema). */
  audit_chain: z.strictObject({ seq: z.number().int().min(0), hash: z.string().regex(/^[0-9a-f]{64}$/) }).nullable(),
  /** Key ids sealing a value in the snapshot, and the key new values are sealed with: a restore needs every one. */
  key_ids: z.array(z.string()),
  write_key_id: z.string().nullable(),
});
export type SnapshotSummary = z.infer<typeof snapshotSummary>;

export type SnapshotLine =
  | { kind: 'header'; header: SnapshotHeader }
  | { kind: 'table'; table: TableLine }
  | { kind: 'row'; text: string }
  | { kind: 'end'; summary: SnapshotSummary }
  | { kind: 'error'; message: string };

/** Reads one line of a snapshot; `where` names it in the error ("database.ndjson line 3"). */
export function parseSnapshotLine(text: string, where: string): SnapshotLine {
  // Rows are passed on as the database wrote them, unparsed: the importer's SQL reads them.
  if (text.startsWith('[')) return { kind: 'row', text };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SnapshotFormatError(`${where} is not JSON`);
  }
  const v = value as Record<string, unknown>;
  const parsed = (() => {
    if (v && typeof v === 'object' && 'snapshot' in v) {
      const h = snapshotHeader.safeParse(v.snapshot);
      return h.success ? ({ kind: 'header', header: h.data } as const) : h.error;
    }
    if (v && typeof v === 'object' && 'table' in v) {
      const t = tableLine.safeParse(v);
      return t.success ? ({ kind: 'table', table: t.data } as const) : t.error;
    }
    if (v && typeof v === 'object' && 'end' in v) {
      const e = snapshotSummary.safeParse(v.end);
      return e.success ? ({ kind: 'end', summary: e.data } as const) : e.error;
    }
    if (v && typeof v === 'object' && typeof v.error === 'string') return { kind: 'error', message: v.error } as const;
    return new Error('not a line of a snapshot');
  })();
  if (parsed instanceof Error) {
    const detail = parsed instanceof z.ZodError ? parsed.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : parsed.message;
    throw new SnapshotFormatError(`${where}: ${detail}`);
  }
  return parsed;
}

export const headerText = (h: SnapshotHeader) => JSON.stringify({ snapshot: h });
export const tableText = (t: TableLine) => JSON.stringify(t);
export const endText = (s: SnapshotSummary) => JSON.stringify({ end: s });

/** A snapshot that is malformed or incomplete: never restored from (one line, exit 2, like every refusal). */
export class SnapshotFormatError extends ConfigError {}

/**
 * Follows the shape of a stream line by line (header first, rows only inside a table, the end
 * line last, counts as announced) and throws at the first line out of place. Every reader of
 * a snapshot (the backup writer, the restore check, the importer) goes through one of these.
 */
export class SnapshotShape {
  header?: SnapshotHeader;
  table?: TableLine;
  summary?: SnapshotSummary;
  readonly counted = new Map<string, number>();
  private lines = 0;

  constructor(private readonly source: string) {}

  accept(text: string): SnapshotLine {
    this.lines++;
    const where = `${this.source} line ${this.lines}`;
    const line = parseSnapshotLine(text, where);
    if (line.kind === 'error') throw new SnapshotFormatError(`${this.source}: the export failed: ${line.message}`);
    if (this.summary) throw new SnapshotFormatError(`${where}: data after the end line`);
    if (!this.header && line.kind !== 'header') throw new SnapshotFormatError(`${where}: a snapshot starts with its header`);
    switch (line.kind) {
      case 'header':
        if (this.header) throw new SnapshotFormatError(`${where}: a second header`);
        this.header = line.header;
        break;
      case 'table':
        if (this.counted.has(line.table.table)) throw new SnapshotFormatError(`${where}: table ${line.table.table} appears twice`);
        this.table = line.table;
        this.counted.set(line.table.table, 0);
        break;
      case 'row':
        if (!this.table) throw new SnapshotFormatError(`${where}: a row before any table`);
        this.counted.set(this.table.table, this.counted.get(this.table.table)! + 1);
        break;
      case 'end': {
        for (const [table, n] of this.counted) {
          if (line.summary.rows[table] !== n)
            throw new SnapshotFormatError(
              `${where}: the end line counts ${line.summary.rows[table]} rows of ${table}, the stream holds ${n}`,
            );
        }
        const missing = Object.keys(line.summary.rows).filter((t) => !this.counted.has(t));
        if (missing.length) throw new SnapshotFormatError(`${where}: the end line counts tables the stream lacks: ${missing.join(', ')}`);
        this.summary = line.summary;
        this.table = undefined;
        break;
      }
    }
    return line;
  }

  /** After the last line: a stream that stopped before its end line is refused. */
  finish(): { header: SnapshotHeader; summary: SnapshotSummary } {
    if (!this.header || !this.summary)
      throw new SnapshotFormatError(`${this.source} ends before its end line: the snapshot is incomplete (an interrupted export)`);
    return { header: this.header, summary: this.summary };
  }
}
