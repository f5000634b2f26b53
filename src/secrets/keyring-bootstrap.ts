import fs from 'node:fs';
import type { Store } from '../db/store';
import { ConfigError } from '../errors/config-error';
import type { Logger } from '../log/logger';
import { fingerprint, KEY_CHECK_ADDRESS, open, seal } from './cipher';
import { createKeyringFile, Keyring } from './keyring';

export interface KeyringSource {
  file: string;
  /** The keyring's JSON itself, from the environment (EXPORTFACT_KEYRING_JSON): no file then. */
  json?: string;
}

/**
 * Loads the keyring and proves it fits the store before anything is written:
 * - a store without secrets and no keyring gets a new one (mode 0600), and a log line says where;
 * - a store with secrets refuses to start when a key it uses is missing, or a key id holds another key.
 */
export async function openKeyring(store: Store, source: KeyringSource, log: Logger): Promise<{ keyring: Keyring; writeKeyId: string }> {
  // Keys that seal something now; a key that sealed nothing (yet, or any more) may be lost harmlessly.
  const sealing = await store.query<{ key_id: string }>('SELECT DISTINCT key_id FROM secret_versions WHERE key_id IS NOT NULL');
  const usedIds = sealing.rows.map((r) => r.key_id);
  let keyring: Keyring;
  if (source.json) {
    keyring = Keyring.parse(source.json, 'EXPORTFACT_KEYRING_JSON');
  } else if (!fs.existsSync(source.file)) {
    if (usedIds.length) {
      throw new ConfigError(
        `the store holds secrets sealed with key(s) ${usedIds.join(', ')} but keyring ${source.file} does not exist; give --keyring with those keys`,
      );
    }
    keyring = createKeyringFile(source.file);
    log.warn(
      { keyring: source.file },
      'no keyring found: created a new one (mode 0600); back it up, the secrets cannot be read without it',
    );
  } else {
    keyring = Keyring.load(source.file);
  }

  const needed = usedIds.filter((id) => !keyring.has(id));
  if (needed.length) {
    throw new ConfigError(`keyring ${keyring.file} lacks key(s) ${needed.join(', ')} that secrets in the store are sealed with`);
  }
  const checks = await store.query<{ key_id: string; nonce: Buffer; ciphertext: Buffer }>(
    'SELECT key_id, nonce, ciphertext FROM key_checks',
  );
  for (const check of checks.rows) {
    if (!keyring.has(check.key_id)) continue;
    try {
      await open({ keyId: check.key_id, nonce: check.nonce, ciphertext: check.ciphertext }, keyring.key(check.key_id), KEY_CHECK_ADDRESS);
    } catch {
      throw new ConfigError(`keyring ${keyring.file}: key ${check.key_id} is not the key this store was sealed with (wrong keyring?)`);
    }
  }
  const state = await store.query<{ write_key_id: string }>('SELECT write_key_id FROM keyring_state');
  const agreed = state.rows[0]?.write_key_id;
  if (agreed && !keyring.has(agreed) && usedIds.length) {
    throw new ConfigError(
      `keyring ${keyring.file} lacks key ${agreed}, the key the store writes with; copy it from another broker's keyring`,
    );
  }

  await checkFingerprintKey(store, keyring);

  // Proven to fit: now record what is new.
  await recordKeyChecks(store, keyring);
  if (agreed && !keyring.has(agreed)) {
    // Nothing is sealed with the lost key: start writing with this keyring's key.
    await store.query('UPDATE keyring_state SET write_key_id = $1', [keyring.newestId]);
  }
  await store.query('INSERT INTO keyring_state (write_key_id) VALUES ($1) ON CONFLICT (singleton) DO NOTHING', [keyring.newestId]);
  await store.query('UPDATE keyring_state SET fingerprint_check = $1 WHERE fingerprint_check IS NULL', [await fingerprintCheck(keyring)]);
  const { rows } = await store.query<{ write_key_id: string }>('SELECT write_key_id FROM keyring_state');
  return { keyring, writeKeyId: rows[0].write_key_id };
}

const FINGERPRINT_CHECK_TEXT = 'exportfact fingerprint key check';

/** The keyed hash of a fixed text a store records for its fingerprint key (keyring_state.fingerprint_check). */
export function fingerprintCheck(keyring: Keyring): Promise<Buffer> {
  return fingerprint(keyring.fingerprintKey, FINGERPRINT_CHECK_TEXT);
}

/**
 * Refuses a keyring whose fingerprint_key is not the one the store's fingerprints were made
 * with (at start, and on a reload before it is used). A store from before the check, or one
 * holding no secret yet, records the key in use.
 */
export async function checkFingerprintKey(store: Store, keyring: Keyring): Promise<void> {
  const { rows } = await store.query<{ fingerprint_check: Buffer | null }>('SELECT fingerprint_check FROM keyring_state');
  const recorded = rows[0]?.fingerprint_check;
  const check = await fingerprintCheck(keyring);
  if (!recorded || recorded.equals(check)) return;
  // Like an encryption key that sealed nothing, a fingerprint key no fingerprint was made with may change.
  const { rowCount } = await store.query('SELECT 1 FROM secret_versions LIMIT 1');
  if (rowCount === 0) {
    await store.query('UPDATE keyring_state SET fingerprint_check = $1', [check]);
    return;
  }
  throw new ConfigError(
    `keyring ${keyring.file}: fingerprint_key is not the key this store's fingerprints were made with (wrong keyring?)`,
  );
}

/** Stores a key-check value for each key the store has not seen yet. */
export async function recordKeyChecks(store: Store, keyring: Keyring): Promise<void> {
  for (const id of keyring.ids) {
    const sealed = await seal(id, keyring.key(id), KEY_CHECK_ADDRESS, 'exportfact key check');
    await store.query('INSERT INTO key_checks (key_id, nonce, ciphertext) VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING', [
      id,
      sealed.nonce,
      sealed.ciphertext,
    ]);
  }
}
