/**
 * Temp folders of the tests: every folder made here is removed when the test process exits
 * (or earlier, by removeTempDir), so a run leaves nothing in os.tmpdir(). EXPORTFACT_KEEP_TMP=1
 * keeps them, to look at a failed run's files; their paths are then printed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made = new Set<string>();
const keep = () => !['', '0', undefined].includes(process.env.EXPORTFACT_KEEP_TMP);

// Synchronous on purpose: 'exit' handlers cannot wait for promises.
process.once('exit', () => {
  if (keep()) {
    if (made.size) console.log(`kept ${made.size} temp folders (EXPORTFACT_KEEP_TMP): ${[...made].join(' ')}`);
    return;
  }
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder `exportfact-LABEL-XXXXXX` in os.tmpdir(), removed at exit. */
export function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `exportfact-${label}-`));
  made.add(dir);
  return dir;
}

/** Removes a test's folder now, unless EXPORTFACT_KEEP_TMP=1 (to inspect it after a failure). */
export function removeTempDir(dir: string | undefined): void {
  if (!dir) return;
  made.delete(dir);
  if (keep()) {
    console.log(`      kept ${dir}`);
    return;
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Writes a file readable by its owner only (keys, certificates) and returns its path. */
export function writePrivate(dir: string, name: string, content: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content, { mode: 0o600 });
  return file;
}
