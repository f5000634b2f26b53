// File writes for the development CA: whole-file replacement, private modes, and a
// create-only variant so a CA key is never overwritten.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export const PRIVATE_FILE_MODE = 0o600;
export const PUBLIC_FILE_MODE = 0o644;

async function writeTemp(file: string, content: string, mode: number): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(temp, content, { mode, flag: 'wx' });
  await fs.chmod(temp, mode); // writeFile's mode is filtered by the umask
  return temp;
}

/** Readers (a broker watching crl.pem) see the old file or the new one, never half of one. */
export async function replaceFile(file: string, content: string, mode: number): Promise<void> {
  const temp = await writeTemp(file, content, mode);
  try {
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}

/** Like replaceFile, but fails with EEXIST instead of replacing an existing file. */
export async function createFile(file: string, content: string, mode: number): Promise<void> {
  const temp = await writeTemp(file, content, mode);
  try {
    await fs.link(temp, file);
  } finally {
    await fs.rm(temp, { force: true });
  }
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
