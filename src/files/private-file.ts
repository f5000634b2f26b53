// Files only the broker's user may read: keys, the keyring, the audit heads. One place for
// the checks every such file needs, and one wording for what went wrong with it.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors/config-error';
import { describeFileError, reasonOf } from './file-errors';

/** What the file is, for messages: "keyring", "audit signing key", ... */
export type FileRole = string;

/** Why a file's mode is too open for a key, or null. */
function openToOthers(role: FileRole, file: string, stat: fs.Stats): string | null {
  if (!stat.isFile()) return `${role} ${file} is not a regular file`;
  if ((stat.mode & 0o077) === 0) return null;
  const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
  return `${role} ${file} is open to group or others (mode ${mode}); it must be 0600 or stricter, as whoever reads it acts as the broker. Run: chmod 600 ${file}`;
}

/**
 * Refuses a file that is not a regular file or that group or others may read or write:
 * whoever reads a key acts as the broker.
 */
export function checkPrivate(role: FileRole, file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    throw new ConfigError(describeFileError(role, file, err));
  }
  const problem = openToOthers(role, file, stat);
  if (problem) throw new ConfigError(problem);
}

/**
 * Reads a private file after checking it (see checkPrivate) on the open descriptor, so the
 * file checked is the file read even if it is swapped meanwhile.
 * @param missing what to add when the file does not exist (how to create it)
 */
export function readPrivate(role: FileRole, file: string, missing?: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(describeFileError(role, file, err) + (code === 'ENOENT' && missing ? ` (${missing})` : ''));
  }
  try {
    const problem = openToOthers(role, file, fs.fstatSync(fd));
    if (problem) throw new ConfigError(problem);
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** True when the file exists (whatever else is wrong with it: reading it will say). */
export function exists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates a private file with this content, only if it does not exist yet (O_EXCL: two
 * processes racing get one winner, never a mix). Returns false when it already existed.
 */
export function createPrivate(role: FileRole, file: string, content: string): boolean {
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, content, { mode: 0o600, flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new ConfigError(`cannot create ${role} ${file}: ${reasonOf(err, true)}`);
  }
}

/** Replaces a private file's content atomically (temporary file, fsync, rename): no reader sees half of it. */
export function replacePrivate(role: FileRole, file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeFileSync(fd, content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new ConfigError(`cannot write ${role} ${file}: ${reasonOf(err, true)}`);
  }
}

/**
 * Appends one line to a private, append-only file (created 0600 when absent) and fsyncs it:
 * a line the caller was told is written survives a crash.
 */
export function appendPrivateLine(role: FileRole, file: string, line: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600);
  } catch (err) {
    throw new ConfigError(`cannot write ${role} ${file}: ${reasonOf(err, true)}`);
  }
  try {
    fs.writeSync(fd, `${line}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
