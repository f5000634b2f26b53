import fs from 'node:fs';
import path from 'node:path';
import type { StateFiles, StoreConfig } from '../config/state-files';
import { loadMigrations } from '../db/migrate';
import { databaseWhere, openStoreAsIs } from '../db/open-store';
import { ConfigError } from '../errors/config-error';
import { exists } from '../files/private-file';
import { Keyring } from '../secrets/keyring';
import { putInPlace, refuseNonEmptyFolder, removeQuietly, stagingFolder } from './backup-folder';
import { DATABASE_FILE, KEY_FILE_ROLES, KEYS_DIR, MANIFEST_FILE, type Manifest, readManifest } from './backup-manifest';
import { checkSchemaKnown, importSnapshot, refuseNonEmpty } from './import-snapshot';
import { checkKeyringFits, scanSnapshot } from './key-check';
import { checkKeyFolder, completePlacements, discardStaged, type Placement, planPlacements, stagePlacements } from './key-files';
import { digestFile, readLines } from './snapshot-file';

export interface RestoreOptions {
  from: string;
  /** The keys folder, when the backup was made with --keys-out. */
  keysFrom?: string;
  target: StoreConfig;
  /** Where the restored broker will look for its files (serve's options). */
  files: StateFiles;
}

export interface RestoreResult {
  manifest: Manifest;
  rows: number;
  migrated: number[];
  placed: Placement[];
  keyring: string;
  notes: string[];
}

/**
 * `exportfact restore`: everything is checked first (manifest, checksums, key files' modes, the
 * keyring against the snapshot's key checks, the target empty, no file to overwrite), then the
 * key files are staged beside their places, the database is loaded in one transaction (or into
 * a staging folder renamed into place), and only then are the key files moved in. A refusal
 * writes nothing; a failure part-way removes what was staged.
 */
export async function restoreBackup(o: RestoreOptions): Promise<RestoreResult> {
  const manifest = readManifest(o.from);
  for (const f of manifest.files) {
    const file = path.join(o.from, f.path);
    if (!exists(file)) throw new ConfigError(`${o.from} lacks ${f.path}, which its manifest lists; nothing was written`);
    const { sha256 } = await digestFile(file);
    if (sha256 !== f.sha256)
      throw new ConfigError(
        `checksum mismatch: ${file} is not the file the backup wrote (sha256 ${sha256}, expected ${f.sha256}); nothing was written`,
      );
  }
  if (!manifest.files.some((f) => f.path === DATABASE_FILE))
    throw new ConfigError(`${o.from}: the manifest lists no ${DATABASE_FILE}; nothing was written`);

  const keysDir = keysFolder(o);
  if (keysDir) await checkKeyFolder(manifest, keysDir);
  const keyringFile = keysDir ? path.join(keysDir, KEY_FILE_ROLES.keyring) : o.files.keyring;
  if (!exists(keyringFile))
    throw new ConfigError(
      `${o.from} holds no keys folder and keyring ${keyringFile} (--keyring) does not exist: give --keys-from with the keys folder (backup --keys-out), or put the keyring there; nothing was written`,
    );
  const keyring = Keyring.load(keyringFile);

  const database = path.join(o.from, DATABASE_FILE);
  const scan = await scanSnapshot(readLines(database), DATABASE_FILE);
  if (scan.header.schema_version !== manifest.schema_version || JSON.stringify(scan.summary.rows) !== JSON.stringify(manifest.rows))
    throw new ConfigError(`${o.from}: ${DATABASE_FILE} and ${MANIFEST_FILE} disagree (schema version or row counts); nothing was written`);
  checkSchemaKnown(scan.header, loadMigrations());
  await checkKeyringFits(keyring, scan.keys, 'the backup');

  const { placements, notes } = keysDir
    ? planPlacements(manifest, keysDir, o.files)
    : {
        placements: [],
        notes: [
          `no keys folder given (--keys-from): the keyring at ${keyringFile} was checked and used; the audit signing key, heads file and admin token key were not restored`,
        ],
      };
  const targetName = await refuseNonEmptyTarget(o.target);
  const staged = stagePlacements(placements);
  try {
    const imported = await load(o.target, database, targetName);
    completePlacements(placements);
    return {
      manifest,
      rows: imported.rows,
      migrated: imported.migrated,
      placed: placements,
      keyring: keyringFile,
      notes: [...manifest.notes, ...notes],
    };
  } catch (err) {
    discardStaged(staged);
    throw err;
  }
}

function keysFolder(o: RestoreOptions): string | undefined {
  if (o.keysFrom) {
    if (!fs.existsSync(o.keysFrom)) throw new ConfigError(`--keys-from ${o.keysFrom} does not exist; nothing was written`);
    return o.keysFrom;
  }
  // Without a keys folder (written apart with --keys-out, or removed from the copy), the keyring
  // must already be where --keyring says; it is checked like any other.
  const inside = path.join(o.from, KEYS_DIR);
  return fs.existsSync(inside) ? inside : undefined;
}

/** Checked before anything is written; the import checks the database again under its lock. */
async function refuseNonEmptyTarget(target: StoreConfig): Promise<string> {
  if (target.kind === 'embedded') {
    refuseNonEmptyFolder(target.dataDir, '--data-dir', 'a restore');
    return `data directory ${target.dataDir}`;
  }
  const name = `database ${databaseWhere(target.url)}`;
  const store = await openStoreAsIs(target);
  try {
    await refuseNonEmpty(store, name);
  } finally {
    await store.close();
  }
  return name;
}

async function load(target: StoreConfig, database: string, targetName: string) {
  if (target.kind === 'postgres') {
    const store = await openStoreAsIs(target);
    try {
      return await importSnapshot(store, readLines(database), DATABASE_FILE, targetName);
    } finally {
      await store.close();
    }
  }
  // A fresh folder beside the target, renamed into place once loaded and closed: no broker ever starts on half a store.
  const staging = stagingFolder(target.dataDir, '--data-dir');
  try {
    const store = await openStoreAsIs({ kind: 'embedded', dataDir: staging });
    let result: Awaited<ReturnType<typeof importSnapshot>>;
    try {
      result = await importSnapshot(store, readLines(database), DATABASE_FILE, targetName);
    } finally {
      await store.close();
    }
    putInPlace(staging, target.dataDir, '--data-dir');
    return result;
  } catch (err) {
    removeQuietly(staging);
    throw err;
  }
}
