import crypto from 'node:crypto';
import fs from 'node:fs';
import readline from 'node:readline';

/** The lines of a snapshot file, as they were written (the last newline ends the last line). */
export async function* readLines(file: string): AsyncGenerator<string> {
  const input = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1024 * 1024 });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) if (line) yield line;
  } finally {
    lines.close();
    input.destroy();
  }
}

export interface FileDigest {
  sha256: string;
  bytes: number;
}

/** sha256 and size of a file, streamed (a snapshot may be large). */
export async function digestFile(file: string): Promise<FileDigest> {
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * Writes a new private file (0600, never over an existing one) as lines arrive, hashing what it
 * writes; close() fsyncs it and returns its digest.
 */
export class PrivateFileWriter {
  private readonly hash = crypto.createHash('sha256');
  private bytes = 0;

  private constructor(
    readonly file: string,
    private readonly handle: fs.promises.FileHandle,
  ) {}

  static async create(file: string): Promise<PrivateFileWriter> {
    return new PrivateFileWriter(file, await fs.promises.open(file, 'wx', 0o600));
  }

  async writeLines(lines: string[]): Promise<void> {
    if (!lines.length) return;
    const chunk = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    this.hash.update(chunk);
    this.bytes += chunk.length;
    await this.handle.write(chunk);
  }

  async close(): Promise<FileDigest> {
    await this.handle.sync();
    await this.handle.close();
    return { sha256: this.hash.digest('hex'), bytes: this.bytes };
  }

  /** After a failure: the handle closed, the file left for the caller's clean-up. */
  async abandon(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}
