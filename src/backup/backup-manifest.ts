import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors/config-error';
import { snapshotSummary } from './snapshot-format';

export const MANIFEST_FILE = 'manifest.json';
export const DATABASE_FILE = 'database.ndjson';
/** The keys folder inside a backup, when --keys-out did not put it elsewhere. */
export const KEYS_DIR = 'keys';
export const MANIFEST_FORMAT = 1;

const digest = { sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().min(0) };
const relativePath = z
  .string()
  .min(1)
  .refine((p) => !path.isAbsolute(p) && !p.split(/[\\/]/).includes('..'), 'must be a path inside the folder');

/** What lives outside the database, and its file name in the keys folder. */
export const KEY_FILE_ROLES = {
  keyring: 'keyring.json',
  audit_key: 'audit-signing.key',
  audit_heads: 'audit-heads.jsonl',
  audit_device: 'audit-device.jsonl',
  admin_key: 'admin-token.key',
} as const;
export type KeyFileRole = keyof typeof KEY_FILE_ROLES;

/**
 * manifest.json, written last: a folder without it is not a backup (an interrupted one leaves
 * none), and everything in it is checked against it before a restore writes anything.
 */
export const manifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  exportfact_version: z.string(),
  created_at: z.iso.datetime({ offset: true }),
  store: z.enum(['embedded', 'postgres']),
  schema_version: z.number().int().min(0),
  migrations: z.array(z.string()),
  /** The audit chain's end in the backup: `audit verify` after a restore starts from here. */
  audit_chain: snapshotSummary.shape.audit_chain,
  keys: z.strictObject({
    /** Key ids the keyring must hold for the backup's secrets to open. */
    needed: z.array(z.string()),
    write_key_id: z.string().nullable(),
    /** Where the keys folder was written: inside the backup ("keys"), or elsewhere (--keys-out). */
    location: z.enum(['inside', 'separate']),
  }),
  rows: snapshotSummary.shape.rows,
  /** Files of the backup folder. */
  files: z.array(z.strictObject({ path: relativePath, ...digest })),
  /** Files of the keys folder: the keyring, the signing keys, the audit heads and device copies. */
  key_files: z.array(z.strictObject({ role: z.enum(Object.keys(KEY_FILE_ROLES) as [KeyFileRole]), path: relativePath, ...digest })),
  /** What the backup left out, and why (said again by restore). */
  notes: z.array(z.string()),
});
export type Manifest = z.infer<typeof manifestSchema>;

export function readManifest(dir: string): Manifest {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !fs.existsSync(dir)) throw new ConfigError(`--from ${dir} does not exist`);
    if (code === 'ENOENT')
      throw new ConfigError(
        `${dir} holds no ${MANIFEST_FILE}: not a complete backup (an interrupted backup leaves none); nothing was written`,
      );
    throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return manifestSchema.parse(JSON.parse(text));
  } catch (err) {
    const detail = err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.message}`).join('; ') : 'not JSON';
    throw new ConfigError(`${file} is not a backup manifest this exportfact reads (${detail}); nothing was written`);
  }
}

export const manifestText = (m: Manifest) => `${JSON.stringify(m, null, 2)}\n`;
