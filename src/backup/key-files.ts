import fs from 'node:fs';
import path from 'node:path';
import type { StateFiles } from '../config/state-files';
import { ConfigError } from '../errors/config-error';
import { checkPrivate, exists, readPrivate } from '../files/private-file';
import { KEY_FILE_ROLES, type KeyFileRole, type Manifest } from './backup-manifest';
import { digestFile } from './snapshot-file';

/** What each file is, in messages, as the broker names it. */
const ROLE_NAMES: Record<KeyFileRole, string> = {
  keyring: 'keyring',
  audit_key: 'audit signing key',
  audit_heads: 'audit heads file',
  audit_device: 'audit device',
  admin_key: 'admin token signing key',
};

/** The option a role's file is placed by, for messages. */
const ROLE_OPTIONS: Record<KeyFileRole, string> = {
  keyring: '--keyring',
  audit_key: '--audit-key',
  audit_heads: '--audit-heads',
  audit_device: '--audit-device',
  admin_key: '--admin-signing-key',
};

/** Where the broker keeps each role's file (undefined: the broker has none, e.g. no --audit-device). */
export function targetOf(files: StateFiles, role: KeyFileRole): string | undefined {
  return {
    keyring: files.keyring,
    audit_key: files.auditKey,
    audit_heads: files.auditHeads,
    audit_device: files.auditDevice,
    admin_key: files.adminSigningKey,
  }[role];
}

type KeyFileEntry = Manifest['key_files'][number];

/**
 * Lines of an append-only audit file (heads or device) up to the snapshot's chain end. Each
 * line's `seq` says which entry it is about; the running broker may have appended lines for
 * entries after the snapshot, which the restored chain does not hold (a head or device line
 * beyond the chain's end would read as entries cut off). Lines that do not parse are kept as
 * they are: they are evidence `audit verify` reports, not ours to drop.
 */
export function linesUpTo(text: string, chainSeq: number): { kept: string; dropped: number } {
  let dropped = 0;
  const kept = text.split('\n').filter((line) => {
    if (!line.trim()) return false;
    let seq: unknown;
    try {
      seq = (JSON.parse(line) as { seq?: unknown }).seq;
    } catch {
      return true;
    }
    if (typeof seq === 'number' && seq > chainSeq) {
      dropped++;
      return false;
    }
    return true;
  });
  return { kept: kept.length ? `${kept.join('\n')}\n` : '', dropped };
}

/**
 * Copies the broker's files that live outside the database into the keys folder (0600), the
 * keyring given as text (it was already read and checked against the snapshot). Files a broker
 * may not have (no heads signed yet, no device, no admin listener) are noted, not required.
 */
export async function copyKeyFiles(
  files: StateFiles,
  keyringText: string,
  keysDir: string,
  chainSeq: number | null,
): Promise<{ entries: KeyFileEntry[]; notes: string[] }> {
  const entries: KeyFileEntry[] = [];
  const notes: string[] = [];
  const put = async (role: KeyFileRole, content: string) => {
    const file = path.join(keysDir, KEY_FILE_ROLES[role]);
    fs.writeFileSync(file, content, { mode: 0o600, flag: 'wx' });
    const fd = fs.openSync(file, 'r');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    entries.push({ role, path: KEY_FILE_ROLES[role], ...(await digestFile(file)) });
  };
  await put('keyring', keyringText);
  for (const role of ['audit_key', 'admin_key'] as const) {
    const source = targetOf(files, role)!;
    if (exists(source)) await put(role, readPrivate(ROLE_NAMES[role], source));
    else notes.push(`no ${ROLE_NAMES[role]} at ${source} (${ROLE_OPTIONS[role]}): not in the backup`);
  }
  for (const role of ['audit_heads', 'audit_device'] as const) {
    const source = targetOf(files, role);
    if (!source) continue;
    if (!exists(source)) {
      notes.push(`no ${ROLE_NAMES[role]} at ${source} (${ROLE_OPTIONS[role]}): not in the backup`);
      continue;
    }
    checkPrivate(ROLE_NAMES[role], source);
    const { kept, dropped } = linesUpTo(fs.readFileSync(source, 'utf8'), chainSeq ?? 0);
    await put(role, kept);
    if (dropped) notes.push(`${dropped} line(s) of the ${ROLE_NAMES[role]} are about entries after the snapshot: left out`);
  }
  return { entries, notes };
}

/**
 * Checks the keys folder of a backup against its manifest: every listed file present, private
 * (0600 or stricter, as the broker demands of key files) and unchanged (sha256).
 */
export async function checkKeyFolder(manifest: Manifest, keysDir: string): Promise<void> {
  for (const entry of manifest.key_files) {
    const file = path.join(keysDir, entry.path);
    if (!exists(file)) throw new ConfigError(`the keys folder ${keysDir} lacks ${entry.path}, which the backup holds; nothing was written`);
    checkPrivate(ROLE_NAMES[entry.role], file);
    const { sha256 } = await digestFile(file);
    if (sha256 !== entry.sha256)
      throw new ConfigError(
        `checksum mismatch: ${file} is not the file the backup wrote (sha256 ${sha256}, expected ${entry.sha256}); nothing was written`,
      );
  }
}

/** One key file to restore: from where, to where, or nothing to do because an identical file is there. */
export interface Placement {
  role: KeyFileRole;
  from: string;
  to: string;
  /** The same content is there already. */
  present: boolean;
}

/**
 * Where each file of the keys folder goes, refusing before anything is written when one would
 * replace a different file (nothing is overwritten) or has no place (--audit-device not given).
 */
export function planPlacements(manifest: Manifest, keysDir: string, files: StateFiles): { placements: Placement[]; notes: string[] } {
  const placements: Placement[] = [];
  const notes: string[] = [];
  for (const entry of manifest.key_files) {
    const from = path.join(keysDir, entry.path);
    const to = targetOf(files, entry.role);
    if (!to) {
      notes.push(`the backup holds an ${ROLE_NAMES[entry.role]}; give ${ROLE_OPTIONS[entry.role]} to restore it too`);
      continue;
    }
    let present = false;
    if (exists(to)) {
      if (!fs.readFileSync(to).equals(fs.readFileSync(from)))
        throw new ConfigError(
          `${ROLE_NAMES[entry.role]} ${to} (${ROLE_OPTIONS[entry.role]}) exists and differs from the backup's; restore never overwrites it: move it away or give another path; nothing was written`,
        );
      present = true;
    }
    placements.push({ role: entry.role, from, to, present });
  }
  return { placements, notes };
}

/** Copies each file to a temporary name beside its target (0600), so the final step is only renames. */
export function stagePlacements(placements: Placement[]): string[] {
  const staged: string[] = [];
  try {
    for (const p of placements) {
      if (p.present) continue;
      fs.mkdirSync(path.dirname(path.resolve(p.to)), { recursive: true, mode: 0o700 });
      const tmp = `${p.to}.restore-${process.pid}`;
      fs.writeFileSync(tmp, fs.readFileSync(p.from), { mode: 0o600, flag: 'wx' });
      staged.push(tmp);
    }
  } catch (err) {
    for (const tmp of staged) fs.rmSync(tmp, { force: true });
    throw new ConfigError(`cannot write beside ${placements.find((p) => !p.present)?.to}: ${(err as Error).message}; nothing was written`);
  }
  return staged;
}

/**
 * Moves staged files to their names without ever replacing one (link fails if the name exists,
 * where rename would silently overwrite a file that appeared meanwhile).
 */
export function completePlacements(placements: Placement[]): void {
  for (const p of placements) {
    if (p.present) continue;
    const tmp = `${p.to}.restore-${process.pid}`;
    fs.linkSync(tmp, p.to);
    fs.unlinkSync(tmp);
  }
}

export function discardStaged(staged: string[]): void {
  for (const tmp of staged) fs.rmSync(tmp, { force: true });
}
