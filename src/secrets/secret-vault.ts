import { fingerprint, open, type Sealed, type SecretAddress, seal } from './cipher';
import type { Keyring } from './keyring';

export interface SealedRow {
  key_id: string;
  nonce: Buffer;
  ciphertext: Buffer;
}

/**
 * The keys in force in this broker: the keyring (reloaded on change) and the id of the key
 * all brokers agreed to write with (refreshed from the store). Values pass through here and
 * nowhere else on their way in and out of the store.
 */
export class SecretVault {
  constructor(
    private keyring: Keyring,
    private writeKeyId: string,
  ) {}

  get loadedKeyIds(): string[] {
    return this.keyring.ids;
  }

  get currentWriteKeyId(): string {
    return this.writeKeyId;
  }

  get keyringFile(): string {
    return this.keyring.file;
  }

  hasKey(id: string): boolean {
    return this.keyring.has(id);
  }

  replaceKeyring(keyring: Keyring): void {
    this.keyring = keyring;
  }

  setWriteKeyId(id: string): void {
    this.writeKeyId = id;
  }

  seal(address: SecretAddress, value: unknown, keyId = this.writeKeyId): Promise<Sealed> {
    return seal(keyId, this.keyring.key(keyId), address, value);
  }

  open(row: SealedRow, address: SecretAddress): Promise<unknown> {
    return open({ keyId: row.key_id, nonce: row.nonce, ciphertext: row.ciphertext }, this.keyring.key(row.key_id), address);
  }

  fingerprint(value: unknown): Promise<Buffer> {
    return fingerprint(this.keyring.fingerprintKey, value);
  }
}
