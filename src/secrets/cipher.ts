import crypto from 'node:crypto';
import stringify from 'safe-stable-stringify';
import { getSodium } from '../crypto/sodium';
import { SecretUndecryptableError } from '../errors/secret-undecryptable-error';

/** Where a ciphertext belongs. Bound into it as additional data, so a copy in another row does not decrypt. */
export interface SecretAddress {
  environment: string;
  category: string;
  name: string;
  exporter: string;
  version: number;
}

export interface Sealed {
  keyId: string;
  nonce: Buffer;
  ciphertext: Buffer;
}

function additionalData(a: SecretAddress): Buffer {
  return Buffer.from(['exportfact/v1', a.environment, a.category, a.name, a.exporter, String(a.version)].join('\0'), 'utf8');
}

/** A JSON value as bytes, with object keys sorted so equal values give equal fingerprints. */
export function canonicalJson(value: unknown): Buffer {
  return Buffer.from(stringify(value) as string, 'utf8');
}

/** XChaCha20-Poly1305 with a random 24-byte nonce per value (libsodium). */
export async function seal(keyId: string, key: Buffer, address: SecretAddress, value: unknown): Promise<Sealed> {
  const sodium = await getSodium();
  // Node's CSPRNG: libsodium-wrappers' randombytes_buf cost ~150 µs a call (measured), most of a seal.
  const nonce = crypto.randomBytes(sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(canonicalJson(value), additionalData(address), null, nonce, key);
  return { keyId, nonce, ciphertext: Buffer.from(ciphertext) };
}

export class DecryptionError extends SecretUndecryptableError {
  constructor(address: SecretAddress, keyId: string) {
    // Names the row and key, never any byte of the value.
    super(
      `secret ${address.category}.${address.name} v${address.version} (${address.exporter}) does not decrypt with key ${keyId}: wrong key, or the row was altered or moved`,
    );
  }
}

export async function open(sealed: Sealed, key: Buffer, address: SecretAddress): Promise<unknown> {
  const sodium = await getSodium();
  let plain: Uint8Array;
  try {
    plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed.ciphertext, additionalData(address), sealed.nonce, key);
  } catch {
    throw new DecryptionError(address, sealed.keyId);
  }
  return JSON.parse(Buffer.from(plain).toString('utf8'));
}

/** Keyed BLAKE2b-256 of the canonical value: compares and finds values without decrypting anything. */
export async function fingerprint(fingerprintKey: Buffer, value: unknown): Promise<Buffer> {
  const sodium = await getSodium();
  return Buffer.from(sodium.crypto_generichash(32, canonicalJson(value), fingerprintKey));
}

/** A known plaintext sealed under a key: tells at start whether a keyring holds the right key for an id. */
export const KEY_CHECK_ADDRESS: SecretAddress = { environment: '', category: 'exportfact', name: 'key_check', exporter: '', version: 0 };
