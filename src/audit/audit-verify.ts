import type { Queryable, Store } from '../db/store';
import { type AuditEntry, chainHash, GENESIS_HASH } from './audit-entry';
import { type SignedHead, verifyHead } from './signed-head';

export interface VerifyProblem {
  seq: number;
  kind:
    | 'missing'
    | 'altered'
    | 'out_of_order'
    | 'recomputed'
    | 'bad_signature'
    | 'truncated'
    | 'sighting_deleted'
    | 'sighting_unrecorded'
    | 'device_mismatch'
    | 'heads_file';
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
  /** Heads read from outside the database (the heads file), checked like the others. */
  external_heads: number;
  /** Secret sightings whose first reading is an entry of the chain, and older ones that are not. */
  sightings: { covered: number; uncovered: number };
  /** Entries compared with the audit device's copy (0 without a device). */
  device_entries: number;
  problems: VerifyProblem[];
}

export interface VerifyOptions {
  trustedKeys: Buffer[];
  /** Heads kept outside the database: they survive someone who rewrites it. */
  externalHeads?: SignedHead[];
  /** The audit device's copy of the entries (seq and hash), when one is configured. */
  device?: Map<number, Buffer>;
}

type Row = AuditEntry & { prev_hash: Buffer; hash: Buffer };
interface Anchor extends SignedHead {}

const PAGE = 5000;

async function readAnchor(db: Queryable): Promise<Anchor | undefined> {
  const { rows } = await db.query<{ seq: number; hash: Buffer; signed_at: Date; public_key: Buffer; signature: Buffer }>(
    'SELECT seq, hash, signed_at, public_key, signature FROM audit_anchor',
  );
  const a = rows[0];
  return a && { seq: a.seq, hash: a.hash, signedAt: a.signed_at, publicKey: a.public_key, signature: a.signature };
}

/** Entries after `after`, in seq order, a page at a time. */
async function* entriesAfter(db: Queryable, after: number): AsyncGenerator<Row> {
  for (let from = after; ; ) {
    const { rows } = await db.query<Row>(
      'SELECT seq, at, actor_kind, actor, action, environment, category, name, version, count, detail, prev_hash, hash FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2',
      [from, PAGE],
    );
    yield* rows;
    if (rows.length < PAGE) return;
    from = rows[rows.length - 1].seq;
  }
}

/**
 * Whether the chain in the database still extends `from` (a head this broker signed before):
 * the entry there has the hash it had, and every entry after it links to its predecessor, up
 * to the chain's end. Signing only what passes this means a rewrite of the database is never
 * blessed by a new signature. Returns why not, or null. Without `from`, it walks from the
 * anchor (which must be signed by a trusted key) or the start.
 */
export async function chainExtends(
  store: Store,
  from: { seq: number; hash: Buffer } | undefined,
  trustedKeys: Buffer[],
): Promise<{ problem: string | null; end: { seq: number; hash: Buffer } }> {
  const end = (await store.query<{ seq: number; hash: Buffer }>('SELECT seq, hash FROM audit_chain')).rows[0];
  const anchor = await readAnchor(store);
  let start = from;
  if (!start || (anchor && start.seq < anchor.seq)) {
    if (anchor && !(trustedKeys.some((k) => k.equals(anchor.publicKey)) && (await verifyHead(anchor)))) {
      return { problem: `the anchor at entry ${anchor.seq} is not signed by a trusted key`, end };
    }
    start = anchor ? { seq: anchor.seq, hash: anchor.hash } : { seq: 0, hash: GENESIS_HASH };
  } else if (!(anchor && anchor.seq === start.seq)) {
    const { rows } = await store.query<{ hash: Buffer }>('SELECT hash FROM audit_events WHERE seq = $1', [start.seq]);
    if (!rows[0]) return { problem: `entry ${start.seq}, signed before, is missing`, end };
    if (!rows[0].hash.equals(start.hash)) return { problem: `entry ${start.seq} no longer has the hash signed before`, end };
  } else if (!anchor.hash.equals(start.hash)) {
    return { problem: `the anchor at entry ${start.seq} does not match the head signed before`, end };
  }
  if (end.seq < start.seq) return { problem: `the chain ends at entry ${end.seq}, before entry ${start.seq} signed before`, end };
  let prev = start.hash;
  let expected = start.seq + 1;
  for await (const row of entriesAfter(store, start.seq)) {
    if (row.seq !== expected) return { problem: `entry ${expected} is missing`, end };
    if (!row.prev_hash.equals(prev) || !(await chainHash(prev, row)).equals(row.hash))
      return { problem: `entry ${row.seq} does not follow from the entries before it`, end };
    prev = row.hash;
    expected++;
  }
  if (expected - 1 !== end.seq || !prev.equals(end.hash))
    return { problem: `the chain's end (entry ${end.seq}) does not match its last entry (${expected - 1})`, end };
  return { problem: null, end };
}

type Head = SignedHead & { outside: boolean };

/** What walking the chain found: its extent, and the recomputed hash at each seq asked for. */
interface Walk {
  events: number;
  first: number | null;
  last: number | null;
  /** The seq the walk would expect next: the end of what it read, plus one. */
  expected: number;
  computedAt: Map<number, Buffer>;
  /** Entries whose recomputed hash differs from the audit device's copy, in order. */
  deviceMismatches: number[];
  deviceChecked: number;
}

/**
 * Walks the chain from its anchor (or the start), recomputing every hash, then checks every
 * signed head made with a trusted key — those in the database and those kept outside it —
 * against the recomputed chain, the audit device's copy if any, and the secret sightings
 * against the entries that recorded them. Problems are listed earliest first, so the first
 * names the first altered, missing or reordered entry.
 */
export async function verifyAuditChain(store: Queryable, options: VerifyOptions): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  const trusted = (key: Buffer) => options.trustedKeys.some((k) => k.equals(key));
  const anchor = await readAnchor(store);
  if (anchor && !(trusted(anchor.publicKey) && (await verifyHead(anchor)))) {
    problems.push({
      seq: anchor.seq,
      kind: 'bad_signature',
      message: `the anchor at entry ${anchor.seq} (where pruning left the chain) is not signed by a trusted key`,
    });
  }
  const external = (options.externalHeads ?? []).filter((h) => !anchor || h.seq > anchor.seq).map((h): Head => ({ ...h, outside: true }));
  const heads = [...(await databaseHeads(store)), ...external].sort((a, b) => a.seq - b.seq);
  const device = options.device ?? new Map<number, Buffer>();

  const walk = await walkChain(store, anchor, new Set(heads.map((h) => h.seq)), device, problems);
  const lastSeq = walk.last ?? walk.expected - 1;
  // What the walk itself found explains a head that does not match; the device's findings do not.
  const walkProblems = [...problems];
  const { signedThrough, untrusted } = await checkHeads(heads, trusted, walk, anchor, walkProblems, problems);
  checkDeviceAndEnd(walk, device, lastSeq, problems);
  const end = (await store.query<{ seq: number }>('SELECT seq FROM audit_chain')).rows[0];
  if (end && end.seq > lastSeq) {
    problems.push({
      seq: lastSeq + 1,
      kind: 'truncated',
      message: `the chain ends at entry ${end.seq} but entries after ${lastSeq} are missing`,
    });
  }
  const sightings = await checkSightings(store, anchor?.seq ?? 0, problems);

  // One cause, one line: a truncation seen by several heads is named once.
  const unique = problems
    .filter((p, i) => problems.findIndex((q) => q.kind === p.kind && q.seq === p.seq) === i)
    .sort((a, b) => a.seq - b.seq);
  return {
    ok: unique.length === 0,
    events: walk.events,
    first_seq: walk.first,
    last_seq: walk.last,
    signed_through: signedThrough,
    unsigned_tail: walk.last === null ? 0 : walk.last - (signedThrough ?? anchor?.seq ?? 0),
    untrusted_heads: untrusted,
    external_heads: external.length,
    sightings,
    device_entries: walk.deviceChecked,
    problems: unique,
  };
}

async function databaseHeads(db: Queryable): Promise<Head[]> {
  const { rows } = await db.query<{ seq: number; hash: Buffer; signed_at: Date; public_key: Buffer; signature: Buffer }>(
    'SELECT seq, hash, signed_at, public_key, signature FROM audit_heads ORDER BY seq',
  );
  return rows.map((h) => ({
    seq: h.seq,
    hash: h.hash,
    signedAt: h.signed_at,
    publicKey: h.public_key,
    signature: h.signature,
    outside: false,
  }));
}

/** Recomputes every hash after the anchor, naming missing, altered and reordered entries. */
async function walkChain(
  db: Queryable,
  anchor: Anchor | undefined,
  headSeqs: Set<number>,
  device: Map<number, Buffer>,
  problems: VerifyProblem[],
): Promise<Walk> {
  const walk: Walk = {
    events: 0,
    first: null,
    last: null,
    expected: anchor ? anchor.seq + 1 : 1,
    computedAt: new Map(),
    deviceMismatches: [],
    deviceChecked: 0,
  };
  let prev = anchor ? anchor.hash : GENESIS_HASH;
  for await (const row of entriesAfter(db, walk.expected - 1)) {
    walk.events++;
    walk.first ??= row.seq;
    walk.last = row.seq;
    if (row.seq !== walk.expected) {
      const range = `${walk.expected}${row.seq - 1 > walk.expected ? `–${row.seq - 1}` : ''}`;
      problems.push({ seq: walk.expected, kind: 'missing', message: `entries ${range} are missing (deleted)` });
    }
    if (!(await chainHash(row.prev_hash, row)).equals(row.hash)) {
      problems.push({
        seq: row.seq,
        kind: 'altered',
        message: `entry ${row.seq} does not match its hash: it was altered, or moved from another position`,
      });
    } else if (!row.prev_hash.equals(prev) && row.seq === walk.expected) {
      problems.push({
        seq: row.seq,
        kind: 'out_of_order',
        message: `entry ${row.seq} does not follow entry ${row.seq - 1}: entries were reordered, replaced or inserted`,
      });
    }
    // Carry on with the recomputed chain, so a recomputed tail is caught by the signed heads.
    prev = await chainHash(prev, row);
    if (headSeqs.has(row.seq)) walk.computedAt.set(row.seq, prev);
    const copy = device.get(row.seq);
    if (copy) {
      walk.deviceChecked++;
      if (!copy.equals(prev)) walk.deviceMismatches.push(row.seq);
    }
    walk.expected = row.seq + 1;
  }
  return walk;
}

/** Each trusted head must verify and match the recomputed chain; the newest that does is `signedThrough`. */
async function checkHeads(
  heads: Head[],
  trusted: (key: Buffer) => boolean,
  walk: Walk,
  anchor: Anchor | undefined,
  walkProblems: VerifyProblem[],
  problems: VerifyProblem[],
): Promise<{ signedThrough: number | null; untrusted: number }> {
  const lastSeq = walk.last ?? walk.expected - 1;
  let signedThrough: number | null = null;
  let untrusted = 0;
  for (const head of heads) {
    const where = head.outside ? ' (kept outside the database)' : '';
    if (!trusted(head.publicKey)) {
      untrusted++;
      continue;
    }
    if (!(await verifyHead(head))) {
      problems.push({ seq: head.seq, kind: 'bad_signature', message: `the signed head at entry ${head.seq}${where} has a bad signature` });
      continue;
    }
    const computed = walk.computedAt.get(head.seq);
    if (!computed) {
      if (head.seq > lastSeq) {
        problems.push({
          seq: lastSeq + 1,
          kind: 'truncated',
          message: `entries after ${lastSeq} up to ${head.seq} were signed${where} but are missing`,
        });
      }
      continue;
    }
    if (!computed.equals(head.hash)) {
      const from = signedThrough === null ? (anchor ? anchor.seq + 1 : 1) : signedThrough + 1;
      // A change the walk already named explains the mismatch; otherwise the hashes were recomputed.
      if (walkProblems.some((p) => p.seq >= from && p.seq <= head.seq)) continue;
      problems.push({
        seq: from,
        kind: 'recomputed',
        message: `the chain differs from the head signed at entry ${head.seq}${where}: an entry between ${from} and ${head.seq} was changed and the hashes recomputed`,
      });
      continue;
    }
    signedThrough = Math.max(signedThrough ?? 0, head.seq);
  }
  return { signedThrough, untrusted };
}

/** The audit device's copy: entries that differ, and entries it has that the database lost. */
function checkDeviceAndEnd(walk: Walk, device: Map<number, Buffer>, lastSeq: number, problems: VerifyProblem[]): void {
  if (walk.deviceMismatches.length) {
    const [firstSeq] = walk.deviceMismatches;
    const more = walk.deviceMismatches.length > 1 ? ` (and ${walk.deviceMismatches.length - 1} entries after it)` : '';
    problems.push({
      seq: firstSeq,
      kind: 'device_mismatch',
      message: `entry ${firstSeq}${more} differs from the audit device's copy: the chain was changed after it was written`,
    });
  }
  const beyond = [...device.keys()].filter((seq) => seq > lastSeq);
  if (beyond.length) {
    problems.push({
      seq: lastSeq + 1,
      kind: 'truncated',
      message: `entries after ${lastSeq} up to ${Math.max(...beyond)} are in the audit device but missing from the database`,
    });
  }
}

/**
 * Every first sighting of a secret is an entry of the chain (action secret.sighting) and its
 * row points at that entry: an entry whose row is gone means a deleted sighting; a row that
 * points at no such entry was written behind the broker's back. Rows from before sightings
 * were chained (no entry) are counted as uncovered. Entries pruned away cannot vouch for rows.
 */
async function checkSightings(db: Queryable, afterSeq: number, problems: VerifyProblem[]): Promise<{ covered: number; uncovered: number }> {
  const deleted = await db.query<{ seq: number; actor: string; environment: string; category: string; name: string; version: number }>(
    `SELECT e.seq, e.actor, e.environment, e.category, e.name, e.version FROM audit_events e
      WHERE e.action = 'secret.sighting' AND e.seq > $1
        AND NOT EXISTS (SELECT 1 FROM secret_sightings s JOIN facts f ON f.id = s.fact_id
                         WHERE s.audit_seq = e.seq AND s.certname = e.actor AND s.version = e.version AND s.exporter = e.detail->>'exporter'
                           AND f.environment = e.environment AND f.category = e.category AND f.name = e.name)
      ORDER BY e.seq`,
    [afterSeq],
  );
  for (const e of deleted.rows) {
    problems.push({
      seq: e.seq,
      kind: 'sighting_deleted',
      message: `the sighting of ${e.environment}/${e.category}.${e.name} version ${e.version} by ${e.actor} (entry ${e.seq}) was deleted or changed`,
    });
  }
  const unrecorded = await db.query<{ audit_seq: number; certname: string; version: number }>(
    `SELECT s.audit_seq, s.certname, s.version FROM secret_sightings s
      WHERE s.audit_seq > $1
        AND NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.seq = s.audit_seq AND e.action = 'secret.sighting')
      ORDER BY s.audit_seq`,
    [afterSeq],
  );
  for (const s of unrecorded.rows) {
    problems.push({
      seq: s.audit_seq,
      kind: 'sighting_unrecorded',
      message: `a sighting of version ${s.version} by ${s.certname} points at entry ${s.audit_seq}, which recorded no such sighting`,
    });
  }
  const counts = await db.query<{ covered: number; uncovered: number }>(
    'SELECT count(*) FILTER (WHERE audit_seq IS NOT NULL)::int AS covered, count(*) FILTER (WHERE audit_seq IS NULL)::int AS uncovered FROM secret_sightings',
  );
  return counts.rows[0];
}

/** Entries deleted per transaction when pruning: each statement stays well within the query timeout. */
const PRUNE_BATCH = 10_000;

/**
 * Deletes entries older than `before`, up to the newest head signed with `publicKey` that lies
 * before it, and keeps that head as the anchor verification starts from. The anchor is set
 * first, then the entries below it go in batches: verification starts at the anchor, so
 * entries not deleted yet (a crash half-way) change nothing, and the next prune removes them.
 */
export async function pruneAuditChain(
  store: Store,
  before: Date,
  publicKey: Buffer,
): Promise<{ pruned: number; anchor_seq: number | null }> {
  const head = await store.transaction(async (tx) => {
    const { rows } = await tx.query<{ seq: number; hash: Buffer; signed_at: Date; signature: Buffer }>(
      `SELECT h.seq, h.hash, h.signed_at, h.signature FROM audit_heads h JOIN audit_events e ON e.seq = h.seq
        WHERE h.public_key = $1 AND e.at < $2 ORDER BY h.seq DESC LIMIT 1`,
      [publicKey, before],
    );
    const found = rows[0];
    if (!found) return undefined;
    await tx.query('DELETE FROM audit_heads WHERE seq < $1', [found.seq]);
    await tx.query(
      `INSERT INTO audit_anchor (seq, hash, signed_at, public_key, signature) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (singleton) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, signed_at = EXCLUDED.signed_at,
         public_key = EXCLUDED.public_key, signature = EXCLUDED.signature`,
      [found.seq, found.hash, found.signed_at, publicKey, found.signature],
    );
    return found;
  });
  if (!head) return { pruned: 0, anchor_seq: null };
  let pruned = 0;
  for (;;) {
    const { rows } = await store.query<{ lowest: number | null }>('SELECT min(seq) AS lowest FROM audit_events WHERE seq <= $1', [
      head.seq,
    ]);
    if (rows[0].lowest === null) break;
    const deleted = await store.query('DELETE FROM audit_events WHERE seq >= $1 AND seq < $2 AND seq <= $3', [
      rows[0].lowest,
      rows[0].lowest + PRUNE_BATCH,
      head.seq,
    ]);
    pruned += deleted.rowCount;
  }
  return { pruned, anchor_seq: head.seq };
}
