import { getSodium } from '../crypto/sodium';
import { headMessage } from './audit-entry';

/** A chain head (entry seq and its hash) signed by a broker's Ed25519 key. */
export interface SignedHead {
  seq: number;
  hash: Buffer;
  signedAt: Date;
  publicKey: Buffer;
  signature: Buffer;
}

export async function verifyHead(head: SignedHead): Promise<boolean> {
  const sodium = await getSodium();
  try {
    return sodium.crypto_sign_verify_detached(head.signature, headMessage(head.seq, head.hash, head.signedAt), head.publicKey);
  } catch {
    return false;
  }
}
