import { Command, Option } from 'commander';
import { parseDatabaseUrl } from '../config/values';
import { openStore } from '../db/open-store';
import { ConfigError } from '../errors/config-error';
import type { ImportRow } from '../puppetdb/fact-import';
import {
  AdminApiError,
  type AdminClientOptions,
  addAdminClientOptions,
  adminClientFromOptions,
  printable,
  printTable,
} from './admin-client';

/** `exportfact migrate`: the schema (SQL migrations), and `migrate from-puppetdb`: the old module's data. */
export function migrateCommand(): Command {
  return new Command('migrate')
    .description('apply pending SQL migrations and exit (serve also does this at start); `migrate from-puppetdb` imports the old module')
    .addOption(new Option('--data-dir <dir>', 'embedded store folder').env('EXPORTFACT_DATA_DIR'))
    .addOption(new Option('--database-url <url>', 'PostgreSQL URL').env('EXPORTFACT_DATABASE_URL'))
    .addCommand(fromPuppetdbCommand())
    .action(async (o: { dataDir?: string; databaseUrl?: string }) => {
      const store = await openStore(
        o.databaseUrl ? { kind: 'postgres', url: parseDatabaseUrl(o.databaseUrl) } : { kind: 'embedded', dataDir: o.dataDir ?? 'data' },
      );
      await store.close();
      process.stdout.write('schema up to date\n');
    });
}

interface ImportReport {
  puppetdb_url: string;
  mode: 'dry-run' | 'apply';
  resources: number;
  rows: ImportRow[];
  problems: { node: string; resource: string; message: string }[];
  warnings: { node: string; resource: string; message: string }[];
  counts: { create: number; same: number; conflict: number; skipped: number };
  written: number;
  seconds: number;
}

interface FromPuppetdbOptions extends AdminClientOptions {
  puppetdbUrl?: string;
  dryRun?: boolean;
  apply?: boolean;
  sensitiveNames?: string;
}

/** An import of a large estate takes a while (each fact is its own audited transaction). */
const IMPORT_TIMEOUT_MS = 30 * 60_000;
/** Values wider than this are cut in the table (`--json` has them whole). */
const VALUE_WIDTH = 48;

/**
 * `exportfact migrate from-puppetdb`: through the admin API, the broker reads the old module's
 * exported resources from PuppetDB with its own certificate and imports them (dry run unless
 * --apply). Exit 0: everything is in the broker; 1: something was skipped or is in conflict
 * (or PuppetDB gave no answer); 2: a usage or configuration error.
 */
function fromPuppetdbCommand(): Command {
  return addAdminClientOptions(
    new Command('from-puppetdb').description(
      "import the old exportfact module's exported facts from PuppetDB, each as a fact of the node that exported it (dry run unless --apply; scope facts:import)",
    ),
  )
    .addOption(
      new Option('--puppetdb-url <url>', "PuppetDB's TLS URL, e.g. https://puppetdb:8081 (default: the broker's --puppetdb-url)").env(
        'EXPORTFACT_PUPPETDB_URL',
      ),
    )
    .option('--dry-run', 'show what would be imported, write nothing (the default)')
    .option('--apply', 'import: write the facts marked create')
    .option(
      '--sensitive-names <globs>',
      'comma-separated name patterns imported as secrets (default *password*,*secret*,*token*,*key*; "" for none)',
    )
    .action(async (o: FromPuppetdbOptions) => {
      if (o.apply && o.dryRun) throw new ConfigError('give either --dry-run or --apply, not both');
      const body = {
        ...(o.puppetdbUrl ? { puppetdb_url: o.puppetdbUrl } : {}),
        apply: o.apply === true,
        ...(o.sensitiveNames !== undefined
          ? {
              sensitive_names: o.sensitiveNames
                .split(',')
                .map((p) => p.trim())
                .filter(Boolean),
            }
          : {}),
      };
      let report: ImportReport;
      try {
        report = await adminClientFromOptions(o).request<ImportReport>('POST', '/admin/v1/puppetdb/import', body, {
          timeoutMs: IMPORT_TIMEOUT_MS,
        });
      } catch (err) {
        // PuppetDB unreachable, refusing the broker, failing the query: nothing was imported.
        if (err instanceof AdminApiError && err.code.startsWith('puppetdb_')) {
          process.stderr.write(`exportfact: ${err.message}\n`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
      if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else printReport(report);
      if (report.counts.conflict || report.counts.skipped) process.exitCode = 1;
    });
}

function printReport(r: ImportReport): void {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const rate = r.seconds > 0 ? Math.round(r.resources / r.seconds) : r.resources;
  out(
    `PuppetDB ${printable(r.puppetdb_url)}: ${r.resources} resources of the old module read in ${r.seconds.toFixed(2)} s (${rate}/s); ` +
      `${r.rows.length} facts: ${r.counts.create} ${r.mode === 'apply' ? 'created' : 'to create'}, ${r.counts.same} already the same, ` +
      `${r.counts.conflict} in conflict; ${r.counts.skipped} resources skipped`,
  );
  out(r.mode === 'apply' ? `applied: ${r.written} facts written` : 'dry run: nothing written (--apply writes the facts marked create)');
  out();
  printTable(r.rows, [
    { header: 'node' },
    { header: 'environment' },
    { header: 'category' },
    { header: 'name' },
    { header: 'value', value: (row) => (row.sensitive ? '(sensitive)' : cut(row.value ?? '')) },
    { header: 'action' },
  ]);
  const conflicts = r.rows.filter((row) => row.action === 'conflict');
  if (conflicts.length) {
    out('\nconflicts (nothing written for them):');
    for (const c of conflicts) out(`  ${c.node} ${c.category}.${c.name}: ${printable(c.reason ?? '')}`);
  }
  if (r.warnings.length) {
    out('\nwarnings:');
    for (const w of r.warnings) out(`  ${w.node} ${printable(w.resource)}: ${printable(w.message)}`);
  }
  // Each skipped resource: one line naming the node and the resource, on stderr like every error.
  for (const p of r.problems) process.stderr.write(`exportfact: skipped ${p.node} ${printable(p.resource)}: ${printable(p.message)}\n`);
}

function cut(value: string): string {
  const shown = printable(value);
  return shown.length > VALUE_WIDTH ? `${shown.slice(0, VALUE_WIDTH - 1)}…` : shown;
}
