// Files only the broker's user may read: keys, the keyring, the audit heads. One place for
// the checks every such file needs, and one wording for what went wrong with it.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors/config-error';

/** What the file is, for messages: "keyring", "audit signing key", ... */
export type FileRole = string;

/** One line naming the file and the fix, for the errors file operations raise. */
export function describeFileError(role: FileRole, file: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return `${role} ${file} does not exist`;
    case 'EACCES':
    case 'EPERM':
      return `${role} ${file} is not accessible to this user (permission denied)`;
    case 'EISDIR':
      return `${role} ${file} is a directory, not a file`;
    default:
      return `${role} ${file}: ${(err as Error)?.message ?? String(err)}`;
  }
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
  if (!stat.isFile()) throw new ConfigError(`${role} ${file} is not a regular file`);
  if ((stat.mode & 0o077) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
    throw new ConfigError(`${role} ${file} is open to group or others (mode ${mode}); it must be 0600 or stricter: chmod 600 ${file}`);
  }
}

/** Reads a private file after checking it (see checkPrivate). */
export function readPrivate(role: FileRole, file: string): string {
  checkPrivate(role, file);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(describeFileError(role, file, err));
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
    throw new ConfigError(`cannot create ${describeFileError(role, file, err)}`);
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
    throw new ConfigError(`cannot write ${describeFileError(role, file, err)}`);
  }
}

/**
 * Appends one line to a private, append-only file (created 0600 when absent) and fsyncs it:
 * a line the caller was told is written survives a crash.
 */
export function appendPrivateLine(role: FileRole, file: string, line: string): void {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600);
  try {
    fs.writeSync(fd, `${line}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
