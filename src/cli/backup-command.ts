import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { Command, Option } from 'commander';
import { takeBackup } from '../backup/backup';
import type { Manifest } from '../backup/backup-manifest';
import { exportSnapshot, type LineSink } from '../backup/export-snapshot';
import { migrateStore } from '../backup/migrate-store';
import { restoreBackup } from '../backup/restore';
import { mergeOptionSources, withFileLines } from '../config/option-sources';
import { longName, SERVE_OPTIONS } from '../config/serve-options';
import { type StateFileOptions, type StoreConfig, stateFiles, storeConfig } from '../config/state-files';
import { parseDatabaseUrl } from '../config/values';
import { EmbeddedStore } from '../db/embedded-store';
import { databaseWhere, openStoreAsIs } from '../db/open-store';
import { ConfigError } from '../errors/config-error';
import { type AdminClient, type AdminClientOptions, addAdminClientOptions, adminClientFromOptions } from './admin-client';

/**
 * serve's options that say where a broker's state is: backup reads them, restore writes to
 * them, both from the same flags, variables or configuration file as `serve` itself.
 */
const STATE_OPTIONS = new Set([
  'config',
  'data-dir',
  'database-url',
  'keyring',
  'audit-key',
  'audit-heads',
  'audit-device',
  'admin-signing-key',
]);

function addStateOptions(cmd: Command): Command {
  for (const spec of SERVE_OPTIONS)
    if (STATE_OPTIONS.has(longName(spec))) cmd.addOption(new Option(spec.flags, spec.description).env(spec.env));
  return cmd;
}

const say = (line: string) => process.stderr.write(`exportfact: ${line}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const totalRows = (rows: Record<string, number>) => Object.values(rows).reduce((a, b) => a + b, 0);

export function backupCommand(): Command {
  const cmd = new Command('backup')
    .description(
      'write a consistent backup of the store and the files outside it (keyring, audit and admin keys, audit heads) to a new folder',
    )
    .requiredOption('--out <dir>', 'new or empty folder for the backup (files 0600)')
    .option(
      '--keys-out <dir>',
      'put the keys folder (keyring, signing keys, audit heads) here instead of OUT/keys: keep it away from the database copy',
    );
  // Where the store and the files are (serve's options), then how to reach a broker that holds an embedded folder.
  return addAdminClientOptions(addStateOptions(cmd)).action(async (_o: unknown, cmd: Command) => {
    const merged = mergeOptionSources(cmd);
    const o = merged.values as unknown as StateFileOptions & AdminClientOptions & { out: string; keysOut?: string };
    const store = withFileLines(merged, () => storeConfig(o));
    const started = Date.now();
    const manifest = await takeBackup({
      out: o.out,
      keysOut: o.keysOut,
      files: stateFiles(o),
      keyringJson: process.env.EXPORTFACT_KEYRING_JSON || undefined,
      snapshot: await snapshotSource(store, o),
    });
    if (o.json) return void process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
    printBackup(manifest, o.out, o.keysOut ?? path.join(o.out, 'keys'), Date.now() - started);
  });
}

/**
 * Where the snapshot comes from. PostgreSQL: read directly, in one repeatable-read transaction
 * beside the running brokers. An embedded folder nobody holds: opened (and locked) here. An
 * embedded folder a running broker holds: through that broker's admin API, as only it may open
 * the folder (two processes on one PGlite folder lose writes).
 */
async function snapshotSource(store: StoreConfig, o: AdminClientOptions): Promise<(write: LineSink) => Promise<unknown>> {
  if (store.kind === 'postgres') return (write) => fromStore(store, write);
  if (!fs.existsSync(path.join(store.dataDir, 'pgdata')))
    throw new ConfigError(
      `--data-dir ${store.dataDir} holds no embedded store (no pgdata folder); give the broker's --data-dir or --database-url`,
    );
  if (!(await EmbeddedStore.inUse(store.dataDir))) return (write) => fromStore(store, write);
  const client = adminClientFromOptions(o);
  if (!client.authenticated)
    throw new ConfigError(
      `a running broker holds ${store.dataDir}: the backup goes through its admin API (--admin-url, default ${client.url}); give a token with scope backup:read (EXPORTFACT_ADMIN_TOKEN, --token-file) or --admin-cert/--admin-key`,
    );
  return (write) => {
    say(
      `a running broker holds ${store.dataDir}: taking the snapshot through its admin API at ${client.url} (the broker pauses while the store is copied)`,
    );
    return fromBroker(client, write);
  };
}

async function fromStore(config: StoreConfig, write: LineSink): Promise<void> {
  const store = await openStoreAsIs(config);
  try {
    await exportSnapshot(store, write);
  } finally {
    await store.close();
  }
}

/** The broker's JSON lines, passed on as they arrive (the reader's pace is the broker's pace). */
async function fromBroker(client: AdminClient, write: LineSink): Promise<void> {
  const res = await client.stream('/admin/v1/backup');
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of res as AsyncIterable<Buffer>) {
    const lines = (rest + decoder.write(chunk)).split('\n');
    rest = lines.pop()!;
    if (lines.length) await write(lines.filter(Boolean));
  }
  rest += decoder.end();
  if (rest) await write([rest]);
}

function printBackup(m: Manifest, folder: string, keysDir: string, ms: number): void {
  const out = process.stdout;
  out.write(
    `backup written to ${folder} in ${seconds(ms)}: ${totalRows(m.rows)} rows of ${Object.keys(m.rows).length} tables, schema version ${m.schema_version} (exportfact ${m.exportfact_version})\n`,
  );
  if (m.audit_chain) out.write(`audit chain: ${m.audit_chain.seq} entries, head ${m.audit_chain.hash}\n`);
  out.write(`keys needed to restore: ${m.keys.needed.join(' ') || '(none: no secret)'}\n`);
  out.write(
    `keys folder: ${keysDir} (${m.key_files.map((f) => f.path).join(', ')})${m.keys.location === 'inside' ? '; consider --keys-out to keep it apart' : ''}\n`,
  );
  for (const note of m.notes) out.write(`note: ${note}\n`);
}

export function restoreCommand(): Command {
  const cmd = new Command('restore')
    .description('restore a backup into an empty store (--data-dir or --database-url) and put its key files where serve looks for them')
    .requiredOption('--from <dir>', 'the backup folder (written by exportfact backup)')
    .option('--keys-from <dir>', 'the keys folder, when the backup was made with --keys-out')
    .option('--json', 'print the result as JSON');
  // Where the restored broker will look: serve's options, or its --config file.
  return addStateOptions(cmd).action(async (_o: unknown, cmd: Command) => {
    const merged = mergeOptionSources(cmd);
    const o = merged.values as unknown as StateFileOptions & { from: string; keysFrom?: string; json?: boolean };
    const target = withFileLines(merged, () => storeConfig(o));
    const started = Date.now();
    const r = await restoreBackup({ from: o.from, keysFrom: o.keysFrom, target, files: stateFiles(o) });
    if (o.json) {
      process.stdout.write(
        `${JSON.stringify({ rows: r.rows, migrated: r.migrated, keyring: r.keyring, placed: r.placed, notes: r.notes }, null, 2)}\n`,
      );
      return;
    }
    const where = target.kind === 'postgres' ? databaseWhere(target.url) : target.dataDir;
    const out = process.stdout;
    out.write(
      `restored ${r.rows} rows into ${where} in ${seconds(Date.now() - started)} (backup of ${r.manifest.created_at}, schema version ${r.manifest.schema_version})\n`,
    );
    if (r.migrated.length) out.write(`migrations applied after the backup's rows: ${r.migrated.join(', ')}\n`);
    out.write(`keyring ${r.keyring} opens it: keys ${r.manifest.keys.needed.join(' ') || '(none needed)'}\n`);
    for (const p of r.placed) out.write(`${p.role.replace('_', ' ')}: ${p.to}${p.present ? ' (already there, identical)' : ''}\n`);
    for (const note of r.notes) out.write(`note: ${note}\n`);
    out.write('start the broker with the same options; `exportfact audit verify` checks the restored trail\n');
  });
}

export function migrateStoreCommand(): Command {
  return new Command('migrate-store')
    .description(
      'move the embedded store into an empty PostgreSQL database (stop the broker first; the keyring and audit files stay as they are)',
    )
    .requiredOption('--from-data-dir <dir>', 'the embedded store folder (the broker must be stopped)')
    .requiredOption('--to-database-url <url>', 'an empty PostgreSQL database (createdb it first)')
    .action(async (o: { fromDataDir: string; toDatabaseUrl: string }) => {
      const url = (() => {
        try {
          return parseDatabaseUrl(o.toDatabaseUrl);
        } catch (err) {
          throw new ConfigError((err as Error).message.replace('--database-url', '--to-database-url'));
        }
      })();
      const started = Date.now();
      const r = await migrateStore({ fromDataDir: o.fromDataDir, toDatabaseUrl: url });
      process.stdout.write(
        `moved ${r.rows} rows from ${o.fromDataDir} to ${databaseWhere(url)} in ${seconds(Date.now() - started)} (schema version ${r.header.schema_version}${r.migrated.length ? `, then migrations ${r.migrated.join(', ')}` : ''})\n`,
      );
      process.stdout.write(
        `start the broker with --database-url instead of --data-dir, with the same --keyring, --audit-key and --audit-heads; ${o.fromDataDir} is left as it was\n`,
      );
    });
}
