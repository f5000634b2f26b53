import fs from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../errors/config-error';
import { appendPrivateLine, checkPrivate } from '../files/private-file';
import type { SignedHead } from './signed-head';

const ROLE = 'audit heads file';

const line = z.strictObject({
  seq: z.number().int().positive(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  signed_at: z.iso.datetime(),
  public_key: z.base64(),
  signature: z.base64(),
});

/**
 * Signed chain heads kept outside the database, one JSON line each, appended and never
 * rewritten (mode 0600, beside the broker's keys). Someone who can write the database can
 * delete the heads in it and recompute the chain; they cannot reach this file, so `audit
 * verify` still finds the change. It proves nothing about entries after its last line.
 */
export class AuditHeadsFile {
  private newest?: SignedHead;

  constructor(readonly file: string) {
    if (fs.existsSync(file)) checkPrivate(ROLE, file);
  }

  /** Every head in the file; a line that is not a head is reported, never skipped silently. */
  read(): { heads: SignedHead[]; malformed: number[] } {
    let text = '';
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { heads: [], malformed: [] };
      throw new ConfigError(`cannot read ${ROLE} ${this.file}: ${(err as Error).message}`);
    }
    const heads: SignedHead[] = [];
    const malformed: number[] = [];
    text.split('\n').forEach((raw, index) => {
      if (!raw.trim()) return;
      try {
        const h = line.parse(JSON.parse(raw));
        heads.push({
          seq: h.seq,
          hash: Buffer.from(h.hash, 'hex'),
          signedAt: new Date(h.signed_at),
          publicKey: Buffer.from(h.public_key, 'base64'),
          signature: Buffer.from(h.signature, 'base64'),
        });
      } catch {
        malformed.push(index + 1);
      }
    });
    return { heads, malformed };
  }

  /** The newest head this file holds (read once, then kept as heads are appended). */
  last(): SignedHead | undefined {
    if (!this.newest) {
      const { heads } = this.read();
      this.newest = heads.reduce<SignedHead | undefined>((a, h) => (!a || h.seq > a.seq ? h : a), undefined);
    }
    return this.newest;
  }

  append(head: SignedHead): void {
    appendPrivateLine(
      ROLE,
      this.file,
      JSON.stringify({
        seq: head.seq,
        hash: head.hash.toString('hex'),
        signed_at: head.signedAt.toISOString(),
        public_key: head.publicKey.toString('base64'),
        signature: head.signature.toString('base64'),
      }),
    );
    this.newest = head;
  }
}
