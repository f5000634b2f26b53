import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors/config-error';

/** A folder a backup (or a restored data directory) may go into: absent, or empty. Anything else is refused, never overwritten. */
export function refuseNonEmptyFolder(dir: string, option: string, what: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new ConfigError(`${option} ${dir} is a file, not a folder; nothing was written`);
    throw new ConfigError(`${option} ${dir} cannot be read: ${(err as Error).message}`);
  }
  if (entries.length) throw new ConfigError(`${option} ${dir} is not empty; ${what} goes into a new or empty folder, nothing was written`);
}

/**
 * A private folder beside `dir` (same file system, so the final rename is atomic) where the
 * work happens. Only a finished folder is renamed to `dir`: an interruption leaves a
 * `NAME.partial-XXXXXX` folder behind, never a half-filled `dir`.
 */
export function stagingFolder(dir: string, option: string): string {
  const abs = path.resolve(dir);
  try {
    // Its parent is made as serve makes a data folder's (only after every check passed).
    fs.mkdirSync(path.dirname(abs), { recursive: true, mode: 0o700 });
    return fs.mkdtempSync(`${abs}.partial-`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (err as Error).message;
    throw new ConfigError(`${option} ${dir}: cannot create a folder beside it (${reason}); nothing was written`);
  }
}

/** fsyncs a folder, so the names in it (and a rename into it) survive a crash. */
export function syncFolder(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Renames a finished staging folder to its name; an empty folder there is replaced, anything else is refused. */
export function putInPlace(staging: string, dir: string, option: string): void {
  syncFolder(staging);
  try {
    fs.renameSync(staging, dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR')
      throw new ConfigError(`${option} ${dir} was filled by someone else meanwhile; nothing was overwritten`);
    throw err;
  }
  syncFolder(path.dirname(path.resolve(dir)));
}

export function removeQuietly(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
