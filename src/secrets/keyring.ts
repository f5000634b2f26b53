import crypto from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../errors/config-error';
import { SecretUndecryptableError } from '../errors/secret-undecryptable-error';
import { createPrivate, readPrivate, replacePrivate } from '../files/private-file';
import { keyId } from '../schemas/key-id';

/**
 * The keyring file: encryption keys by id, and the fingerprint key (a separate key for
 * keyed hashes of secret values, so leak triage never needs the encryption key).
 * It lives outside the database and must be readable by the broker's user only.
 */
const keyringSchema = z.strictObject({
  version: z.literal(1),
  keys: z.array(z.strictObject({ id: keyId, key: z.string(), created_at: z.string() })).min(1),
  fingerprint_key: z.string(),
});
type KeyringFile = z.infer<typeof keyringSchema>;

export const KEY_BYTES = 32;
const ROLE = 'keyring';

export class Keyring {
  private constructor(
    readonly file: string,
    private readonly keys: Map<string, Buffer>,
    /** The newest key: the one a broker proposes when nothing else is agreed. */
    readonly newestId: string,
    readonly fingerprintKey: Buffer,
  ) {}

  get ids(): string[] {
    return [...this.keys.keys()];
  }

  has(id: string): boolean {
    return this.keys.has(id);
  }

  key(id: string): Buffer {
    const key = this.keys.get(id);
    if (!key) throw new KeyMissingError(id, this.file);
    return key;
  }

  /** Refuses a keyring others can read: it decrypts every secret in the store. */
  static load(file: string): Keyring {
    return Keyring.parse(readPrivate(ROLE, file, `create one with: exportfact keys init --keyring ${file}`), file);
  }

  /** From JSON text (a file, or the EXPORTFACT_KEYRING_JSON environment variable). */
  static parse(text: string, source: string): Keyring {
    let parsed: KeyringFile;
    try {
      parsed = keyringSchema.parse(JSON.parse(text));
    } catch (err) {
      const detail =
        err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.message}`).join('; ') : 'not JSON';
      throw new ConfigError(`keyring ${source} is malformed (${detail})`);
    }
    const keys = new Map<string, Buffer>();
    for (const k of parsed.keys) {
      const bytes = Buffer.from(k.key, 'base64');
      if (bytes.length !== KEY_BYTES) throw new ConfigError(`keyring ${source}: key ${k.id} is not ${KEY_BYTES} bytes of base64`);
      if (keys.has(k.id)) throw new ConfigError(`keyring ${source}: key id ${k.id} appears twice`);
      keys.set(k.id, bytes);
    }
    const fingerprintKey = Buffer.from(parsed.fingerprint_key, 'base64');
    if (fingerprintKey.length !== KEY_BYTES)
      throw new ConfigError(`keyring ${source}: fingerprint_key is not ${KEY_BYTES} bytes of base64`);
    return new Keyring(source, keys, parsed.keys[parsed.keys.length - 1].id, fingerprintKey);
  }
}

export class KeyMissingError extends SecretUndecryptableError {
  constructor(
    readonly keyId: string,
    file: string,
  ) {
    super(`key ${keyId} is not in keyring ${file}`);
  }
}

function newKeyId(): string {
  return `k${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${crypto.randomBytes(3).toString('hex')}`;
}

function newKey(): { id: string; key: string; created_at: string } {
  return { id: newKeyId(), key: crypto.randomBytes(KEY_BYTES).toString('base64'), created_at: new Date().toISOString() };
}

const keyringText = (content: KeyringFile) => `${JSON.stringify(content, null, 2)}\n`;

/** `exportfact keys init`: a new keyring with one key; never overwrites an existing file. */
export function createKeyringFile(file: string): Keyring {
  const content: KeyringFile = { version: 1, keys: [newKey()], fingerprint_key: crypto.randomBytes(KEY_BYTES).toString('base64') };
  if (!createPrivate(ROLE, file, keyringText(content))) throw new ConfigError(`keyring ${file} already exists; it is never overwritten`);
  return Keyring.load(file);
}

/** Adds a fresh key (the first step of a rotation); returns its id. */
export function addKeyToFile(file: string): string {
  const current = keyringSchema.parse(JSON.parse(readPrivate(ROLE, file)));
  const key = newKey();
  // Replaced as a whole (temporary file, rename): a broker reloading it never reads half of it.
  replacePrivate(ROLE, file, keyringText({ ...current, keys: [...current.keys, key] }));
  return key.id;
}
