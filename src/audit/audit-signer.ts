import fs from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../errors/config-error';
import { getSodium } from '../crypto/sodium';
import { headMessage } from './audit-entry';

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

  /** Loads the key file, creating it (mode 0600) when absent; refuses one others can read. */
  static async open(file: string): Promise<{ signer: AuditSigner; created: boolean }> {
    const sodium = await getSodium();
    if (!fs.existsSync(file)) {
      const pair = sodium.crypto_sign_keypair();
      const content = { algorithm: 'ed25519', public_key: Buffer.from(pair.publicKey).toString('base64'), secret_key: Buffer.from(pair.privateKey).toString('base64') };
      fs.writeFileSync(file, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      return { signer: new AuditSigner(Buffer.from(pair.publicKey), Buffer.from(pair.privateKey)), created: true };
    }
    if ((fs.statSync(file).mode & 0o077) !== 0) throw new ConfigError(`audit signing key ${file} must be mode 0600 or stricter (chmod 600 ${file})`);
    let parsed: z.infer<typeof keyFile>;
    try {
      parsed = keyFile.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
    } catch {
      throw new ConfigError(`audit signing key ${file} is malformed`);
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
  const text = fs.readFileSync(file, 'utf8').trim();
  try {
    return Buffer.from(keyFile.parse(JSON.parse(text)).public_key, 'base64');
  } catch {
    const key = Buffer.from(text, 'base64');
    if (key.length !== 32) throw new ConfigError(`${file} holds no Ed25519 public key`);
    return key;
  }
}
