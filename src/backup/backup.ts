import fs from 'node:fs';
import path from 'node:path';
import type { StateFiles } from '../config/state-files';
import { ConfigError } from '../errors/config-error';
import { exists, readPrivate } from '../files/private-file';
import { Keyring } from '../secrets/keyring';
import { putInPlace, refuseNonEmptyFolder, removeQuietly, stagingFolder, syncFolder } from './backup-folder';
import { DATABASE_FILE, KEYS_DIR, MANIFEST_FILE, MANIFEST_FORMAT, type Manifest, manifestText } from './backup-manifest';
import type { LineSink } from './export-snapshot';
import { checkKeyringFits, neededKeyIds, scanSnapshot } from './key-check';
import { copyKeyFiles } from './key-files';
import { PrivateFileWriter, readLines } from './snapshot-file';
import { SnapshotShape } from './snapshot-format';

export interface BackupOptions {
  out: string;
  /** Where the keys folder goes instead of OUT/keys: a database backup and its keys should not sit together. */
  keysOut?: string;
  /** The broker's files outside the database. */
  files: StateFiles;
  /** The keyring's JSON when it comes from EXPORTFACT_KEYRING_JSON rather than a file. */
  keyringJson?: string;
  /** Produces the snapshot's lines: read from the store directly, or streamed by a running broker. */
  snapshot(write: LineSink): Promise<unknown>;
}

/**
 * `exportfact backup`: the database snapshot, then the files outside it, then the manifest,
 * all in a staging folder that is renamed to --out only once complete. Refusals (a folder that
 * is not empty, a keyring that does not open the snapshot) leave nothing behind.
 */
export async function takeBackup(o: BackupOptions): Promise<Manifest> {
  refuseNonEmptyFolder(o.out, '--out', 'a backup');
  if (o.keysOut) {
    const [out, keys] = [path.resolve(o.out), path.resolve(o.keysOut)];
    if (keys === out || keys.startsWith(`${out}${path.sep}`) || out.startsWith(`${keys}${path.sep}`))
      throw new ConfigError('--keys-out must be a folder apart from --out (the point is to keep the keys away from the database copy)');
    refuseNonEmptyFolder(o.keysOut, '--keys-out', 'a backup');
  }
  // Read once before the snapshot, so a missing or unreadable keyring costs nothing, and again
  // after it: a key added meanwhile (a rotation starting) may already seal rows of the snapshot.
  readKeyring(o);
  const staging = stagingFolder(o.out, '--out');
  const keysStaging = o.keysOut ? stagingFolder(o.keysOut, '--keys-out') : path.join(staging, KEYS_DIR);
  try {
    if (!o.keysOut) fs.mkdirSync(keysStaging, { mode: 0o700 });
    const database = path.join(staging, DATABASE_FILE);
    const writer = await PrivateFileWriter.create(database);
    const shape = new SnapshotShape('the snapshot');
    let digest: Awaited<ReturnType<PrivateFileWriter['close']>>;
    try {
      await o.snapshot(async (lines) => {
        for (const line of lines) shape.accept(line);
        await writer.writeLines(lines);
      });
      digest = await writer.close();
    } catch (err) {
      await writer.abandon();
      throw err;
    }
    const { header, summary } = shape.finish();

    // A backup whose keyring does not open it is worth nothing: checked now, while the broker's keys are at hand.
    const { keys } = await scanSnapshot(readLines(database), DATABASE_FILE);
    const keyring = readKeyring(o);
    await checkKeyringFits(keyring.keyring, keys, 'the store');
    const copied = await copyKeyFiles(o.files, keyring.text, keysStaging, summary.audit_chain?.seq ?? null);

    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      exportfact_version: header.exportfact_version,
      created_at: header.taken_at,
      store: header.store,
      schema_version: header.schema_version,
      migrations: header.migrations,
      audit_chain: summary.audit_chain,
      keys: { needed: neededKeyIds(keys), write_key_id: summary.write_key_id, location: o.keysOut ? 'separate' : 'inside' },
      rows: summary.rows,
      files: [{ path: DATABASE_FILE, ...digest }],
      key_files: copied.entries,
      notes: [...(keyring.note ? [keyring.note] : []), ...copied.notes],
    };
    // The manifest last: a folder without it is not a backup.
    const manifestFile = path.join(staging, MANIFEST_FILE);
    fs.writeFileSync(manifestFile, manifestText(manifest), { mode: 0o600, flag: 'wx' });
    const fd = fs.openSync(manifestFile, 'r');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    syncFolder(keysStaging);
    if (o.keysOut) putInPlace(keysStaging, o.keysOut, '--keys-out');
    putInPlace(staging, o.out, '--out');
    return manifest;
  } catch (err) {
    removeQuietly(staging);
    if (o.keysOut && fs.existsSync(keysStaging)) removeQuietly(keysStaging);
    throw err;
  }
}

function readKeyring(o: BackupOptions): { keyring: Keyring; text: string; note?: string } {
  if (o.keyringJson) {
    return {
      keyring: Keyring.parse(o.keyringJson, 'EXPORTFACT_KEYRING_JSON'),
      text: o.keyringJson,
      note: 'the keyring came from EXPORTFACT_KEYRING_JSON; restore writes it to --keyring',
    };
  }
  if (!exists(o.files.keyring))
    throw new ConfigError(
      `keyring ${o.files.keyring} does not exist: a backup without its keys cannot be restored; give --keyring (run as the broker's user, where its files are)`,
    );
  // One read: the text copied is the text checked, even if the file is replaced meanwhile.
  const text = readPrivate('keyring', o.files.keyring);
  return { keyring: Keyring.parse(text, o.files.keyring), text };
}
