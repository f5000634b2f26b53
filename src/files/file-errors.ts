// One wording for what went wrong with a file, wherever a file is read or written.
import fs from 'node:fs';
import { ConfigError } from '../errors/config-error';

/** What went wrong with a file, in a few words, from a file system error. */
export function reasonOf(err: unknown, creating: boolean): string {
  switch ((err as NodeJS.ErrnoException)?.code) {
    case 'ENOENT':
      return creating ? 'its folder does not exist' : 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not a file';
    default:
      return (err as Error)?.message ?? String(err);
  }
}

/** One line naming the file and what is wrong with it, for the errors reading a file raises. */
export function describeFileError(role: string, file: string, err: unknown): string {
  const reason = reasonOf(err, false);
  return reason === 'does not exist' || reason.startsWith('is a directory')
    ? `${role} ${file} ${reason}`
    : `${role} ${file} cannot be read: ${reason}`;
}

/** Reads a text file an option names; what goes wrong is one line naming the option and file. */
export function readOptionFile(option: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(describeFileError(option, file, err));
  }
}
