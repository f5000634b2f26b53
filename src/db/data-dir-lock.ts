import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { AppError } from '../errors/app-error';

/**
 * The embedded store's data folder is held by one process at a time (two PGlite processes on
 * one folder were measured to lose writes). proper-lockfile keeps a lock directory whose mtime
 * the holder refreshes; a lock nobody refreshed for `staleMs` counts as abandoned.
 *
 * Waiting out the staleness in silence is what users met (12–13 s before a second broker was
 * refused, 10 s before a restart after kill -9 went on). So the holder also writes who it is
 * (pid, host) beside the lock, and a process that finds the folder locked:
 * - holder on this host and gone (kill -9, crash): says so and takes the lock over at once;
 * - lock refreshed while we look: refuses at once, naming the holder;
 * - otherwise (holder on another host sharing the folder, or stalled): says what it waits for
 *   and waits for the lock to go stale, as before.
 */

/** A lock not refreshed for this long is taken for abandoned when its holder cannot be checked. */
export const DEFAULT_LOCK_STALE_MS = 10_000;
/** How often the holder refreshes the lock; a watcher seeing no refresh in LOOK_MS learns it is not live. */
const REFRESH_MS = 1_000;
/** Longer than the refresh interval of this release (1 s) and of 0.1.0 (2 s). */
const LOOK_MS = 2_500;
/** proper-lockfile's floor for `stale`: used to take over a lock whose holder is known to be gone. */
const MIN_STALE_MS = 2_000;

export interface DataDirLockOptions {
  staleMs?: number;
  /** Tells the operator what the lock is doing while a start waits on it. */
  say?: (message: string, fields: Record<string, unknown>) => void;
  /** Called if the lock is lost later (its folder removed, or taken over after this process stalled). */
  onCompromised: (err: Error) => void;
}

interface Holder {
  pid: number;
  host: string;
  since: string;
}

const lockPath = (dataDir: string) => path.join(dataDir, 'broker.lock');
/** Folders this process holds: a second open here is refused before any staleness is looked at. */
const heldHere = new Set<string>();
const holderPath = (dataDir: string) => path.join(dataDir, 'broker.lock.holder');

/** Locks the folder for this process; resolves to its release. Throws `data_dir_locked` if it is held. */
export async function lockDataDir(dataDir: string, opts: DataDirLockOptions): Promise<() => Promise<void>> {
  const staleMs = opts.staleMs ?? DEFAULT_LOCK_STALE_MS;
  const say = opts.say ?? (() => undefined);
  const attempt = (stale: number, tries: number, every: number) =>
    lockfile.lock(dataDir, {
      lockfilePath: lockPath(dataDir),
      stale,
      update: REFRESH_MS,
      retries: { retries: tries, factor: 1, minTimeout: every, maxTimeout: every },
      onCompromised: opts.onCompromised,
    });

  const key = path.resolve(dataDir);
  if (heldHere.has(key)) throw lockedError(dataDir, readHolder(dataDir));
  let release: () => Promise<void>;
  try {
    release = await attempt(staleMs, 0, 0);
  } catch (err) {
    if (!isLocked(err)) throw err;
    const holder = readHolder(dataDir);
    const fields = { dataDir, holder_pid: holder?.pid, holder_host: holder?.host };
    try {
      if (holder && holder.host === os.hostname() && holder.pid !== process.pid && !alive(holder.pid)) {
        say('the broker that held the data directory is gone (killed or crashed); taking its lock over', fields);
        release = await attempt(MIN_STALE_MS, 6, 500);
      } else if ((holder?.pid === process.pid && holder.host === os.hostname()) || (await refreshedWhileWatched(dataDir))) {
        throw lockedError(dataDir, holder);
      } else {
        say(
          `the data directory is locked and its holder does not answer; waiting up to ${Math.ceil(staleMs / 1000)} s for the lock to go stale`,
          fields,
        );
        release = await attempt(staleMs, Math.ceil((staleMs * 1.2) / 1000), 1000);
      }
    } catch (e) {
      throw isLocked(e) ? lockedError(dataDir, holder) : e;
    }
  }
  writeHolder(dataDir);
  heldHere.add(key);
  return async () => {
    heldHere.delete(key);
    fs.rmSync(holderPath(dataDir), { force: true });
    await release();
  };
}

/** Whether a live process holds the folder now: a lock left by a process gone from this host counts as free. */
export async function dataDirInUse(dataDir: string, staleMs = DEFAULT_LOCK_STALE_MS): Promise<boolean> {
  if (!(await lockfile.check(dataDir, { lockfilePath: lockPath(dataDir), stale: staleMs }))) return false;
  const holder = readHolder(dataDir);
  return !(holder && holder.host === os.hostname() && !alive(holder.pid));
}

function lockedError(dataDir: string, holder: Holder | undefined): AppError {
  const who = holder ? ` (pid ${holder.pid} on ${holder.host}, since ${holder.since})` : '';
  return new AppError(
    500,
    'data_dir_locked',
    `data directory ${dataDir} is in use by another exportfact broker${who}; stop it or use another --data-dir`,
  );
}

/** A holder refreshes the lock every second or two: seeing its mtime move proves it is alive. */
async function refreshedWhileWatched(dataDir: string): Promise<boolean> {
  const mtime = () => fs.statSync(lockPath(dataDir), { throwIfNoEntry: false })?.mtimeMs;
  const before = mtime();
  await sleep(LOOK_MS);
  const after = mtime();
  return before !== undefined && after !== undefined && after !== before;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(dataDir: string): Holder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(holderPath(dataDir), 'utf8')) as Partial<Holder>;
    return Number.isInteger(h.pid) && typeof h.host === 'string' ? (h as Holder) : undefined;
  } catch {
    return undefined; // absent (a lock from 0.1.0) or half-written: treated as unknown
  }
}

function writeHolder(dataDir: string): void {
  const holder: Holder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  fs.writeFileSync(holderPath(dataDir), `${JSON.stringify(holder)}\n`, { mode: 0o600 });
}

const isLocked = (err: unknown) => (err as { code?: string }).code === 'ELOCKED';
