import fs from 'node:fs';
import { z } from 'zod';
import { getSodium } from '../crypto/sodium';
import { ConfigError } from '../errors/config-error';
import { describeFileError } from '../files/file-errors';
import { createPrivate, exists, readPrivate } from '../files/private-file';
import { headMessage } from './audit-entry';

const ROLE = 'audit signing key';

const keyFile = z.strictObject({ algorithm: z.literal('ed25519'), public_key: z.string(), secret_key: z.string() });

/**
 * The broker's Ed25519 key for signing chain heads. It lives outside the database: anyone who
 * can write the database can recompute the hash chain, but cannot forge these signatures.
 */
export class AuditSigner {
  private constructor(
    readonly publicKey: Buffer,
    private readonly secretKey: Buffer,
  ) {}

  /**
   * Loads the key file, creating it (mode 0600, exclusively: of two brokers starting at once,
   * one creates it and the other reads it) when absent; refuses one others can read.
   */
  static async open(file: string): Promise<{ signer: AuditSigner; created: boolean }> {
    if (!exists(file)) {
      const sodium = await getSodium();
      const pair = sodium.crypto_sign_keypair();
      const content = {
        algorithm: 'ed25519',
        public_key: Buffer.from(pair.publicKey).toString('base64'),
        secret_key: Buffer.from(pair.privateKey).toString('base64'),
      };
      if (createPrivate(ROLE, file, `${JSON.stringify(content, null, 2)}\n`)) {
        return { signer: new AuditSigner(Buffer.from(pair.publicKey), Buffer.from(pair.privateKey)), created: true };
      }
    }
    let parsed: z.infer<typeof keyFile>;
    const text = readPrivate(ROLE, file);
    try {
      parsed = keyFile.parse(JSON.parse(text));
    } catch {
      throw new ConfigError(`${ROLE} ${file} is malformed`);
    }
    return { signer: new AuditSigner(Buffer.from(parsed.public_key, 'base64'), Buffer.from(parsed.secret_key, 'base64')), created: false };
  }

  async sign(seq: number, hash: Buffer, signedAt: Date): Promise<Buffer> {
    const sodium = await getSodium();
    return Buffer.from(sodium.crypto_sign_detached(headMessage(seq, hash, signedAt), this.secretKey));
  }
}

/** A public key file holds the base64 key on one line, or is an audit key file itself. */
export function readPublicKey(file: string): Buffer {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(describeFileError('--audit-trust-key', file, err));
  }
  try {
    return Buffer.from(keyFile.parse(JSON.parse(text)).public_key, 'base64');
  } catch {
    const key = Buffer.from(text, 'base64');
    if (key.length !== 32) throw new ConfigError(`${file} holds no Ed25519 public key`);
    return key;
  }
}
