import { ConfigError } from '../errors/config-error';
import { KEY_CHECK_ADDRESS, open } from '../secrets/cipher';
import type { Keyring } from '../secrets/keyring';
import { fingerprintCheck } from '../secrets/keyring-bootstrap';
import { type SnapshotHeader, SnapshotShape, type SnapshotSummary, type TableLine } from './snapshot-format';

/**
 * What a snapshot holds about its keys, read from its rows (not from the manifest, which is
 * only as trustworthy as the folder it sits in): the key-check values, the key ids sealing a
 * value, the key the store writes with and its fingerprint key check.
 */
export interface KeyMaterial {
  keyChecks: { key_id: string; nonce: Buffer; ciphertext: Buffer }[];
  sealingKeyIds: Set<string>;
  writeKeyId: string | null;
  fingerprintCheck: Buffer | null;
  secretVersions: number;
}

/** Reads a whole snapshot, checking its shape and counts, and keeps its key material. */
export async function scanSnapshot(
  lines: AsyncIterable<string>,
  source: string,
): Promise<{ header: SnapshotHeader; summary: SnapshotSummary; keys: KeyMaterial }> {
  const shape = new SnapshotShape(source);
  const keys: KeyMaterial = { keyChecks: [], sealingKeyIds: new Set(), writeKeyId: null, fingerprintCheck: null, secretVersions: 0 };
  let table: TableLine | undefined;
  const at = (name: string) => table!.columns.findIndex((c) => c.name === name);
  const b64 = (v: unknown) => (typeof v === 'string' ? Buffer.from(v, 'base64') : null);
  for await (const text of lines) {
    const line = shape.accept(text);
    if (line.kind === 'table') table = line.table;
    if (line.kind !== 'row') continue;
    const name = table!.table;
    if (name !== 'key_checks' && name !== 'keyring_state' && name !== 'secret_versions') continue;
    const row = JSON.parse(line.text) as unknown[];
    if (name === 'key_checks') {
      keys.keyChecks.push({ key_id: String(row[at('key_id')]), nonce: b64(row[at('nonce')])!, ciphertext: b64(row[at('ciphertext')])! });
    } else if (name === 'keyring_state') {
      keys.writeKeyId = String(row[at('write_key_id')]);
      // The column came with migration 0006: older snapshots have none.
      keys.fingerprintCheck = at('fingerprint_check') >= 0 ? b64(row[at('fingerprint_check')]) : null;
    } else {
      keys.secretVersions++;
      if (row[at('ciphertext')] !== null) keys.sealingKeyIds.add(String(row[at('key_id')]));
    }
  }
  return { ...shape.finish(), keys };
}

/** The key ids a restore cannot do without: those sealing a value, and the key the store writes with while any is sealed. */
export function neededKeyIds(keys: KeyMaterial): string[] {
  const ids = new Set(keys.sealingKeyIds);
  if (ids.size && keys.writeKeyId) ids.add(keys.writeKeyId);
  return [...ids].sort();
}

/**
 * Refuses a keyring that would not open the snapshot, by the same rules a broker applies at start
 * (secrets/keyring-bootstrap.ts): every needed key id present, every key it has for an id opens
 * that id's key check, and its fingerprint key is the one the fingerprints were made with.
 * Checked before anything is written, so a wrong key is found by the backup or the restore, not
 * by the first broker to start on the result.
 */
export async function checkKeyringFits(keyring: Keyring, keys: KeyMaterial, what: string): Promise<void> {
  const missing = neededKeyIds(keys).filter((id) => !keyring.has(id));
  if (missing.length) {
    throw new ConfigError(
      `keyring ${keyring.file} lacks key(s) ${missing.join(', ')} that ${what} is sealed with; give the keyring it was made with`,
    );
  }
  for (const check of keys.keyChecks) {
    if (!keyring.has(check.key_id)) continue;
    try {
      await open({ keyId: check.key_id, nonce: check.nonce, ciphertext: check.ciphertext }, keyring.key(check.key_id), KEY_CHECK_ADDRESS);
    } catch {
      throw new ConfigError(`keyring ${keyring.file}: key ${check.key_id} does not open the key check of ${what} (wrong keyring?)`);
    }
  }
  if (keys.fingerprintCheck && keys.secretVersions > 0 && !keys.fingerprintCheck.equals(await fingerprintCheck(keyring))) {
    throw new ConfigError(
      `keyring ${keyring.file}: its fingerprint_key is not the one ${what}'s fingerprints were made with (wrong keyring?)`,
    );
  }
}
