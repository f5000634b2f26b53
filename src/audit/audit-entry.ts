import stringify from 'safe-stable-stringify';
import { getSodium } from '../crypto/sodium';

export type ActorKind = 'node' | 'admin' | 'broker';

export interface Actor {
  kind: ActorKind;
  name: string;
}

/** What happened; never a value. `detail` holds small facts about it (strings, integers). */
export interface AuditEventInput {
  actor: Actor;
  action: string;
  environment?: string | null;
  category?: string | null;
  name?: string | null;
  version?: number | null;
  count?: number;
  detail?: Record<string, string | number | boolean | null | string[]>;
}

export interface AuditEntry {
  seq: number;
  at: Date;
  actor_kind: ActorKind;
  actor: string;
  action: string;
  environment: string | null;
  category: string | null;
  name: string | null;
  version: number | null;
  count: number;
  detail: Record<string, unknown>;
}

export const GENESIS_HASH = Buffer.alloc(32);

/** The bytes an entry is hashed over: every field, in a fixed order, as canonical JSON. */
function entryBytes(e: AuditEntry): Buffer {
  return Buffer.from(
    stringify([
      e.seq,
      e.at.toISOString(),
      e.actor_kind,
      e.actor,
      e.action,
      e.environment,
      e.category,
      e.name,
      e.version,
      e.count,
      e.detail,
    ]) as string,
    'utf8',
  );
}

/** BLAKE2b-256(prev_hash || entry): changing, removing or moving any entry changes every hash after it. */
export async function chainHash(prevHash: Buffer, entry: AuditEntry): Promise<Buffer> {
  const sodium = await getSodium();
  return Buffer.from(sodium.crypto_generichash(32, Buffer.concat([prevHash, entryBytes(entry)]), null));
}

/** What a head signature covers. */
export function headMessage(seq: number, hash: Buffer, signedAt: Date): Buffer {
  return Buffer.concat([Buffer.from(`exportfact-audit-head\0${seq}\0${signedAt.toISOString()}\0`, 'utf8'), hash]);
}
