import type { Store } from '../db/store';
import { chainHash, GENESIS_HASH, type AuditEntry } from './audit-entry';
import { verifyHead } from './audit-signer';

export interface VerifyProblem {
  seq: number;
  kind: 'missing' | 'altered' | 'out_of_order' | 'recomputed' | 'bad_signature' | 'truncated';
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  events: number;
  first_seq: number | null;
  last_seq: number | null;
  /** The newest entry covered by a trusted signed head that matches the chain. */
  signed_through: number | null;
  /** Entries after it: consistent, but not yet under a signature. */
  unsigned_tail: number;
  untrusted_heads: number;
  problems: VerifyProblem[];
}

const PAGE = 5000;

/**
 * Walks the chain from its anchor (or the start), recomputing every hash, then checks every
 * signed head made with a trusted key against the recomputed chain. Problems are listed
 * earliest first, so the first names the first altered, missing or reordered entry.
 */
export async function verifyAuditChain(store: Store, trustedKeys: Buffer[]): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  const trusted = (key: Buffer) => trustedKeys.some((k) => k.equals(key));
  const anchor = (await store.query<{ seq: number; hash: Buffer; signed_at: Date; public_key: Buffer; signature: Buffer }>('SELECT * FROM audit_anchor')).rows[0];
  let prev = anchor ? anchor.hash : GENESIS_HASH;
  let expected = anchor ? anchor.seq + 1 : 1;
  if (anchor && !(trusted(anchor.public_key) && (await verifyHead(anchor.public_key, anchor.seq, anchor.hash, anchor.signed_at, anchor.signature)))) {
    problems.push({ seq: anchor.seq, kind: 'bad_signature', message: `the anchor at entry ${anchor.seq} (where pruning left the chain) is not signed by a trusted key` });
  }

  const heads = (await store.query<{ seq: number; hash: Buffer; signed_at: Date; public_key: Buffer; signature: Buffer }>('SELECT * FROM audit_heads ORDER BY seq')).rows;
  const headSeqs = new Set(heads.map((h) => h.seq));
  const computedAt = new Map<number, Buffer>();
  let events = 0;
  let first: number | null = null;
  let last: number | null = null;

  for (let after = expected - 1; ; ) {
    const { rows } = await store.query<AuditEntry & { prev_hash: Buffer; hash: Buffer }>(
      'SELECT seq, at, actor_kind, actor, action, environment, category, name, version, count, detail, prev_hash, hash FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2',
      [after, PAGE],
    );
    for (const row of rows) {
      events++;
      first ??= row.seq;
      last = row.seq;
      if (row.seq !== expected) {
        problems.push({ seq: expected, kind: 'missing', message: `entries ${expected}${row.seq - 1 > expected ? `–${row.seq - 1}` : ''} are missing (deleted)` });
      }
      const own = await chainHash(row.prev_hash, row);
      if (!own.equals(row.hash)) {
        problems.push({ seq: row.seq, kind: 'altered', message: `entry ${row.seq} does not match its hash: it was altered, or moved from another position` });
      } else if (!row.prev_hash.equals(prev) && row.seq === expected) {
        problems.push({ seq: row.seq, kind: 'out_of_order', message: `entry ${row.seq} does not follow entry ${row.seq - 1}: entries were reordered, replaced or inserted` });
      }
      // Carry on with the recomputed chain, so a recomputed tail is caught by the signed heads.
      prev = await chainHash(prev, row);
      if (headSeqs.has(row.seq)) computedAt.set(row.seq, prev);
      expected = row.seq + 1;
    }
    if (rows.length < PAGE) break;
    after = rows[rows.length - 1].seq;
  }

  let signedThrough: number | null = null;
  let untrusted = 0;
  for (const head of heads) {
    if (!trusted(head.public_key)) {
      untrusted++;
      continue;
    }
    if (!(await verifyHead(head.public_key, head.seq, head.hash, head.signed_at, head.signature))) {
      problems.push({ seq: head.seq, kind: 'bad_signature', message: `the signed head at entry ${head.seq} has a bad signature` });
      continue;
    }
    const computed = computedAt.get(head.seq);
    if (!computed) {
      if (last === null || head.seq > last) problems.push({ seq: (last ?? expected - 1) + 1, kind: 'truncated', message: `entries after ${last ?? expected - 1} up to ${head.seq} were signed but are missing` });
      continue;
    }
    if (!computed.equals(head.hash)) {
      const from = signedThrough === null ? (anchor ? anchor.seq + 1 : 1) : signedThrough + 1;
      // A change the walk already named explains the mismatch; otherwise the hashes were recomputed.
      if (problems.some((p) => p.seq >= from && p.seq <= head.seq)) continue;
      problems.push({ seq: from, kind: 'recomputed', message: `the chain differs from the head signed at entry ${head.seq}: an entry between ${from} and ${head.seq} was changed and the hashes recomputed` });
      continue;
    }
    signedThrough = head.seq;
  }

  const end = (await store.query<{ seq: number }>('SELECT seq FROM audit_chain')).rows[0];
  if (end && end.seq > (last ?? expected - 1)) {
    problems.push({ seq: (last ?? expected - 1) + 1, kind: 'truncated', message: `the chain ends at entry ${end.seq} but entries after ${last ?? expected - 1} are missing` });
  }

  problems.sort((a, b) => a.seq - b.seq);
  return {
    ok: problems.length === 0,
    events,
    first_seq: first,
    last_seq: last,
    signed_through: signedThrough,
    unsigned_tail: last === null ? 0 : last - (signedThrough ?? (anchor?.seq ?? 0)),
    untrusted_heads: untrusted,
    problems,
  };
}

/**
 * Deletes entries older than `before`, up to the newest head signed with `publicKey` that lies
 * before it, and keeps that head as the anchor verification starts from.
 */
export async function pruneAuditChain(store: Store, before: Date, publicKey: Buffer): Promise<{ pruned: number; anchor_seq: number | null }> {
  return store.transaction(async (tx) => {
    const { rows } = await tx.query<{ seq: number; hash: Buffer; signed_at: Date; signature: Buffer }>(
      `SELECT h.seq, h.hash, h.signed_at, h.signature FROM audit_heads h JOIN audit_events e ON e.seq = h.seq
        WHERE h.public_key = $1 AND e.at < $2 ORDER BY h.seq DESC LIMIT 1`,
      [publicKey, before],
    );
    const head = rows[0];
    if (!head) return { pruned: 0, anchor_seq: null };
    const deleted = await tx.query('DELETE FROM audit_events WHERE seq <= $1', [head.seq]);
    await tx.query('DELETE FROM audit_heads WHERE seq < $1', [head.seq]);
    await tx.query(
      `INSERT INTO audit_anchor (seq, hash, signed_at, public_key, signature) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (singleton) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, signed_at = EXCLUDED.signed_at,
         public_key = EXCLUDED.public_key, signature = EXCLUDED.signature`,
      [head.seq, head.hash, head.signed_at, publicKey, head.signature],
    );
    return { pruned: deleted.rowCount, anchor_seq: head.seq };
  });
}
