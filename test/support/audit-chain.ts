import { type AuditEntry, chainHash } from '../../src/audit/audit-entry';
import type { Queryable } from '../../src/db/store';

/** Rewrites every hash from `fromSeq` on and the chain's end, as someone with write access to the database can. */
export async function recomputeChain(db: Queryable, fromSeq: number): Promise<void> {
  const { rows } = await db.query<AuditEntry & { prev_hash: Buffer; hash: Buffer }>(
    'SELECT * FROM audit_events WHERE seq >= $1 ORDER BY seq',
    [fromSeq - 1],
  );
  let prev = rows[0].hash;
  for (const row of rows.slice(1)) {
    const hash = await chainHash(prev, row);
    await db.query('UPDATE audit_events SET prev_hash = $2, hash = $3 WHERE seq = $1', [row.seq, prev, hash]);
    prev = hash;
  }
  await db.query('UPDATE audit_chain SET seq = $1, hash = $2', [rows[rows.length - 1].seq, prev]);
}
