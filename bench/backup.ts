// Backup and restore (issue 16): wall time of `exportfact backup` and `exportfact restore` for
// 100,000 facts and 10,000 secrets on each store, as an operator runs them (the CLI as a
// process), and what a backup costs the running broker: on the embedded store the snapshot is
// taken inside the broker, which pauses while it runs, so the longest wait of a reader polling
// the broker during the backup is that pause; on PostgreSQL nothing should wait. Also
// `migrate-store` (embedded → PostgreSQL) for the same data.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import pino from 'pino';
import { openStore } from '../src/db/open-store';
import { openKeyring } from '../src/secrets/keyring-bootstrap';
import { SecretVault } from '../src/secrets/secret-vault';
import type { ClientCert, Pki } from './certs';
import { printTable, type Row } from './report';
import { bulkSealed } from './secrets';
import { adminToken, startBroker } from './servers';
import { bulkLoadFacts, createStore, type StoreKind } from './store';

export const BACKUP_SIZES = { full: { facts: 100_000, secrets: 10_000 }, quick: { facts: 10_000, secrets: 1_000 } };
export type BackupSizes = (typeof BACKUP_SIZES)['full'];

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const quiet = pino({ level: 'silent' });

export interface BackupStoreResult {
  store: StoreKind;
  facts: number;
  secrets: number;
  rows: number;
  databaseMb: number;
  /** `exportfact backup`, no broker running (the embedded folder opened by the CLI; PostgreSQL read directly). */
  backupSeconds: number;
  /** The same with a broker serving: through its admin API for the embedded folder, beside it on PostgreSQL. */
  onlineBackupSeconds: number;
  /** The longest a reader polling the broker (GET /v1/ready, which asks the store) waited during the online backup. */
  longestWaitMs: number;
  restoreSeconds: number;
  /** `exportfact migrate-store` of the same data into PostgreSQL (embedded only). */
  migrateSeconds?: number;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ seconds: number; stdout: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const clean = { ...process.env };
    for (const k of Object.keys(clean)) if (k.startsWith('EXPORTFACT_')) delete clean[k];
    execFile(process.execPath, [CLI, ...args], { env: { ...clean, ...env }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`exportfact ${args[0]} failed: ${stderr || err.message}`));
      resolve({ seconds: (performance.now() - started) / 1000, stdout });
    });
  });
}

/** Polls GET /v1/ready (a store round trip) until stopped; returns the longest answer time. */
function pollReady(url: string, pki: Pki, client: ClientCert): { stop(): Promise<number> } {
  let longest = 0;
  let stopped = false;
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: pki.caPem, cert: client.certPem, key: client.keyPem });
  const once = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const req = https.get(`${url}/v1/ready`, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          longest = Math.max(longest, performance.now() - started);
          resolve();
        });
      });
      req.on('error', () => resolve());
    });
  const loop = (async () => {
    while (!stopped) {
      await once();
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      agent.destroy();
      return longest;
    },
  };
}

export async function runBackup(o: {
  adminUrl: string;
  tmp: string;
  stores: StoreKind[];
  sizes: BackupSizes;
  pki: Pki;
}): Promise<BackupStoreResult[]> {
  const results: BackupStoreResult[] = [];
  const probe = await o.pki.client('probe.bench', 'production');
  for (const kind of o.stores) {
    const dir = path.join(o.tmp, `backup-${kind}`);
    fs.mkdirSync(dir, { recursive: true });
    const source = await createStore(kind, dir, o.adminUrl, 'backup');
    const args = source.serveArgs('backup');
    const storeArgs = 'dataDir' in args ? ['--data-dir', args.dataDir] : ['--database-url', args.databaseUrl];
    const keyring = path.join(dir, 'keyring.json');
    const drops: (() => Promise<void>)[] = [() => source.drop()];
    try {
      console.log(`[backup] ${kind}: loading ${o.sizes.facts} facts and ${o.sizes.secrets} secrets…`);
      await bulkLoadFacts(args, 'production', o.sizes.facts);
      const store = await openStore(
        'dataDir' in args ? { kind: 'embedded', dataDir: args.dataDir } : { kind: 'postgres', url: args.databaseUrl },
      );
      try {
        const { keyring: k, writeKeyId } = await openKeyring(store, { file: keyring }, quiet);
        await bulkSealed(store, new SecretVault(k, writeKeyId), o.sizes.secrets);
      } finally {
        await store.close();
      }
      const files = [
        '--keyring',
        keyring,
        '--audit-key',
        path.join(dir, 'audit-signing.key'),
        '--admin-signing-key',
        path.join(dir, 'admin-token.key'),
      ];

      const offline = await run(['backup', '--out', path.join(dir, 'offline'), ...storeArgs, ...files, '--json']);
      const manifest = JSON.parse(offline.stdout) as { rows: Record<string, number>; files: { bytes: number }[] };
      console.log(`[backup] ${kind}: backup ${offline.seconds.toFixed(1)} s`);

      // The broker's own folder: it makes its audit key and admin key there (the backup copies them).
      const broker = await startBroker({ pki: o.pki, store: args, probe, logFile: path.join(dir, 'broker.log'), dir, keyring });
      let online: { seconds: number };
      let longestWaitMs: number;
      try {
        const token = adminToken(broker, 'backup:read');
        const poller = pollReady(broker.url, o.pki, probe);
        await new Promise((r) => setTimeout(r, 500)); // the poller's first answers: the baseline
        online = await run(
          ['backup', '--out', path.join(dir, 'online'), ...storeArgs, ...files, '--admin-url', broker.adminUrl, '--admin-ca', o.pki.caFile],
          {
            EXPORTFACT_ADMIN_TOKEN: token,
          },
        );
        longestWaitMs = await poller.stop();
      } finally {
        await broker.stop();
      }
      console.log(
        `[backup] ${kind}: backup with the broker running ${online.seconds.toFixed(1)} s, longest reader wait ${longestWaitMs.toFixed(0)} ms`,
      );

      const target = await createStore(kind, path.join(dir, 'restored'), o.adminUrl, 'restored');
      drops.push(() => target.drop());
      const targetArgs = target.serveArgs('restored');
      const restoreFiles = path.join(dir, 'restored-files');
      const restored = await run([
        'restore',
        '--from',
        path.join(dir, 'offline'),
        ...('dataDir' in targetArgs ? ['--data-dir', targetArgs.dataDir] : ['--database-url', targetArgs.databaseUrl]),
        '--keyring',
        path.join(restoreFiles, 'keyring.json'),
        '--audit-key',
        path.join(restoreFiles, 'audit-signing.key'),
        '--admin-signing-key',
        path.join(restoreFiles, 'admin-token.key'),
      ]);
      console.log(`[backup] ${kind}: restore ${restored.seconds.toFixed(1)} s`);

      let migrateSeconds: number | undefined;
      if (kind === 'embedded' && 'dataDir' in args) {
        const pg = await createStore('postgres', path.join(dir, 'moved'), o.adminUrl, 'moved');
        drops.push(() => pg.drop());
        migrateSeconds = (await run(['migrate-store', '--from-data-dir', args.dataDir, '--to-database-url', pg.url!])).seconds;
        console.log(`[backup] ${kind}: migrate-store to PostgreSQL ${migrateSeconds.toFixed(1)} s`);
      }
      results.push({
        store: kind,
        facts: o.sizes.facts,
        secrets: o.sizes.secrets,
        rows: Object.values(manifest.rows).reduce((a, b) => a + b, 0),
        databaseMb: manifest.files[0].bytes / 1e6,
        backupSeconds: offline.seconds,
        onlineBackupSeconds: online.seconds,
        longestWaitMs,
        restoreSeconds: restored.seconds,
        migrateSeconds,
      });
    } finally {
      for (const drop of drops) await drop().catch(() => undefined);
    }
  }
  return results;
}

export function reportBackup(results: BackupStoreResult[]): void {
  const s = (v: number) => `${v.toFixed(1)} s`;
  const rows: Row[] = results.flatMap((r) => [
    { figure: `${r.store}: snapshot`, value: `${r.rows} rows`, detail: `database.ndjson ${r.databaseMb.toFixed(1)} MB` },
    { figure: `${r.store}: backup, no broker running`, value: s(r.backupSeconds) },
    {
      figure: `${r.store}: backup, broker serving`,
      value: s(r.onlineBackupSeconds),
      detail: `longest reader wait meanwhile ${r.longestWaitMs.toFixed(0)} ms${r.store === 'embedded' ? ' (the broker pauses for the export)' : ''}`,
    },
    { figure: `${r.store}: restore onto an empty store`, value: s(r.restoreSeconds) },
    ...(r.migrateSeconds === undefined ? [] : [{ figure: `${r.store}: migrate-store to PostgreSQL`, value: s(r.migrateSeconds) }]),
  ]);
  printTable(
    `Backup and restore, ${results[0]?.facts ?? 0} facts and ${results[0]?.secrets ?? 0} secrets (wall time of the CLI as a process, start included)`,
    rows,
  );
}
