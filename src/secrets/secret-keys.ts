import fs from 'node:fs';
import type { Auditor } from '../audit/auditor';
import type { ServeConfig } from '../config/serve-config';
import type { Store } from '../db/store';
import { AppError } from '../errors/app-error';
import type { Logger } from '../log/logger';
import { KeyRotation } from './key-rotation';
import { addKeyToFile, Keyring } from './keyring';
import { checkFingerprintKey, openKeyring, recordKeyChecks } from './keyring-bootstrap';
import { SecretVault } from './secret-vault';

/** The keys of one broker at run time: the vault, online rotation, and the keyring file's reloads. */
export interface SecretKeys {
  vault: SecretVault;
  rotation: KeyRotation;
  /** Re-reads the keyring file (it changed, or SIGHUP); a bad file keeps the keys in force. */
  reload(): Promise<void>;
  /** Adds a fresh key to the keyring file (the first step of a rotation) and loads it. */
  addKey(): Promise<string>;
  close(): Promise<void>;
}

type KeysConfig = Pick<ServeConfig, 'keyring' | 'reencryptBatch' | 'keyWatchMs'>;

/**
 * Opens the keyring against the store (refusing one that does not fit), registers this broker
 * for key rotations, and watches the keyring file. close() undoes all of it.
 */
export async function openSecretKeys(store: Store, config: KeysConfig, audit: Auditor, log: Logger): Promise<SecretKeys> {
  const { keyring, writeKeyId } = await openKeyring(store, config.keyring, log);
  const vault = new SecretVault(keyring, writeKeyId);
  const rotation = new KeyRotation(store, vault, log, audit, config.reencryptBatch);
  await rotation.register();
  const file = config.keyring.file;
  const fromEnvironment = config.keyring.json !== undefined;

  const reload = async () => {
    if (fromEnvironment) return; // EXPORTFACT_KEYRING_JSON: nothing to re-read
    try {
      const next = Keyring.load(file);
      if (!next.has(vault.currentWriteKeyId)) throw new Error(`it lacks key ${vault.currentWriteKeyId}, the key the store writes with`);
      await checkFingerprintKey(store, next);
      await recordKeyChecks(store, next);
      vault.replaceKeyring(next);
      log.info({ keyring: file, keys: next.ids }, 'keyring reloaded');
      await rotation.tick();
    } catch (err) {
      log.error({ keyring: file, err: (err as Error).message }, 'keyring refused; keeping the keys in force');
    }
  };
  if (!fromEnvironment) {
    fs.watchFile(file, { interval: config.keyWatchMs, persistent: false }, (curr, prev) => {
      if (curr.mtimeMs !== prev.mtimeMs || curr.ino !== prev.ino) void reload();
    });
  }

  return {
    vault,
    rotation,
    reload,
    async addKey() {
      if (fromEnvironment)
        throw new AppError(
          409,
          'keyring_from_environment',
          'the keyring comes from EXPORTFACT_KEYRING_JSON: add the key there, then rotate with --key-id',
        );
      const id = addKeyToFile(file);
      await reload();
      return id;
    },
    async close() {
      if (!fromEnvironment) fs.unwatchFile(file);
      await rotation.unregister().catch(() => undefined);
    },
  };
}
