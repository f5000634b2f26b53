import fs from 'node:fs';
import path from 'node:path';
import { EmbeddedStore } from '../db/embedded-store';
import { databaseWhere, openStoreAsIs } from '../db/open-store';
import type { Store } from '../db/store';
import { ConfigError } from '../errors/config-error';
import { exportSnapshot } from './export-snapshot';
import { type ImportResult, importSnapshot, refuseNonEmpty } from './import-snapshot';
import { LinePipe } from './line-pipe';

/**
 * `exportfact migrate-store`: the embedded store's snapshot piped straight into an empty
 * PostgreSQL database (the same export and import as backup and restore, without a file in
 * between). The embedded folder stays locked throughout, so no broker can write to it while
 * it is copied; the keyring, audit key and heads file stay where they are and go on working,
 * because nothing in the rows depends on the store (secrets are bound to their address).
 */
export async function migrateStore(o: { fromDataDir: string; toDatabaseUrl: string }): Promise<ImportResult> {
  await refuseBusySource(o.fromDataDir, '--from-data-dir');
  const targetName = `database ${databaseWhere(o.toDatabaseUrl)}`;
  const target = await openStoreAsIs({ kind: 'postgres', url: o.toDatabaseUrl });
  let source: Store | undefined;
  try {
    await refuseNonEmpty(target, targetName);
    source = await EmbeddedStore.open(o.fromDataDir);
    const pipe = new LinePipe();
    const exported = exportSnapshot(source, (lines) => pipe.push(lines)).then(
      () => pipe.end(),
      (err: unknown) => {
        pipe.fail(err);
        throw err;
      },
    );
    const imported = importSnapshot(target, pipe, `the store in ${o.fromDataDir}`, targetName).catch((err: unknown) => {
      pipe.abort(err);
      throw err;
    });
    // Both sides settle (and release their store) before the stores are closed; the import's error says more.
    const [result, done] = await Promise.allSettled([imported, exported]);
    if (result.status === 'rejected') throw result.reason;
    if (done.status === 'rejected') throw done.reason;
    return result.value;
  } finally {
    await source?.close();
    await target.close();
  }
}

/**
 * The folder must hold an embedded store that no broker has open: a move copies the store as it
 * is, and what a running broker wrote after the copy would be lost.
 */
async function refuseBusySource(dataDir: string, option: string): Promise<void> {
  if (!fs.existsSync(path.join(dataDir, 'pgdata')))
    throw new ConfigError(`${option} ${dataDir} holds no embedded store (no pgdata folder)`);
  if (await EmbeddedStore.inUse(dataDir))
    throw new ConfigError(
      `${option} ${dataDir} is in use by a running broker: stop it first (what it writes after the copy would be lost), then move the store`,
    );
}
