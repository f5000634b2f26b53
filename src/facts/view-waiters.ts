import { BadRequestError } from '../errors/app-error';
import type { Logger } from '../log/logger';

/** The longest a request is held (`?wait=` above it is cut to it, as Consul cuts its own). */
export const MAX_WAIT_MS = 300_000;

/** While LISTEN is down, how often the database's view versions are read for environments with waiters. */
export const DEAF_POLL_MS = 2_000;

/** How a held request ended: its view changed, its wait ran out, or its client went away. */
export type HoldOutcome = 'changed' | 'timeout' | 'gone';

/** A parked request: woken (at most once) when its environment's version may have moved past its own. */
interface Waiter {
  /** The view version its tag names; undefined while that tag is being read (any move wakes it then). */
  version?: number;
  woken: boolean;
  wake(): void;
}

/** `30s`, `5m`, `500ms` or plain seconds, in milliseconds, cut to MAX_WAIT_MS; undefined when malformed. */
export function waitDuration(text: string): number | undefined {
  const m = /^(\d{1,9})(ms|s|m)?$/.exec(text);
  if (!m) return undefined;
  const unit = m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000;
  return Math.min(Number(m[1]) * unit, MAX_WAIT_MS);
}

/**
 * `?wait=` (the only query parameter of a view): malformed is a 400 naming the parameter,
 * longer than MAX_WAIT_MS is cut to it. Undefined when absent.
 */
export function parseWait(query: Record<string, unknown>): number | undefined {
  for (const key of Object.keys(query)) {
    if (key !== 'wait') throw new BadRequestError('invalid_query', `unknown query parameter ${JSON.stringify(key)} (only wait is known)`);
  }
  const raw = query.wait;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new BadRequestError('invalid_query', 'query parameter wait is given more than once');
  const ms = waitDuration(raw);
  if (ms === undefined) {
    throw new BadRequestError(
      'invalid_query',
      `query parameter wait must be a duration like 30s, 5m, 500ms or plain seconds (at most ${MAX_WAIT_MS / 1000}s)`,
    );
  }
  return ms;
}

/**
 * The wait plus up to 1/16 of it, at random (Consul's rule): thousands of watchers that began
 * together do not all come back in the same millisecond when nothing changed.
 */
export function jittered(ms: number): number {
  return ms + Math.floor(Math.random() * (ms / 16));
}

/**
 * Requests held until their view changes: blocking queries keyed on the ETag. A waiter is
 * registered *before* its tag is read, so a change committed between the caller's last
 * answer and this request, or while the tag is read, is never missed: either the tag read
 * sees it, or the version's move wakes the waiter.
 *
 * Versions move by NOTIFY (any broker), by this broker's own commits, and by reads from the
 * database. While LISTEN is down (`feed(false)`) no notification comes: the database's versions
 * of the environments that have waiters are read every DEAF_POLL_MS, and once more when it is
 * back (a change committed while deaf is never announced). A policy reload changes every tag:
 * `wakeAll()` makes each waiter read its tag again.
 */
export class ViewWaiters {
  private readonly byEnvironment = new Map<string, Set<Waiter>>();
  private count = 0;
  private listening = false;
  private released = false;
  private pollTimer?: NodeJS.Timeout;
  private polling?: Promise<void>;

  constructor(
    /** The environment's current version: from memory while listening, else from the database. */
    private readonly readVersion: (environment: string) => Promise<number>,
    private readonly log: Logger,
    private readonly pollMs = DEAF_POLL_MS,
  ) {}

  /** Requests held right now. */
  get waiting(): number {
    return this.count;
  }

  /**
   * Holds until `isChanged(tag)` for a tag read after a wake-up, `ms` passes, or `gone` aborts.
   * Returns the last tag read (none when the client went away).
   */
  async hold<T extends { version: number }>(
    environment: string,
    readTag: () => Promise<T>,
    isChanged: (tag: T) => boolean,
    ms: number,
    gone: AbortSignal,
  ): Promise<{ outcome: HoldOutcome; tag?: T }> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (gone.aborted) return { outcome: 'gone' };
      const waiter = this.add(environment);
      let tag: T;
      try {
        tag = await readTag();
      } catch (err) {
        this.remove(environment, waiter);
        throw err;
      }
      const left = deadline - Date.now();
      if (isChanged(tag) || left <= 0 || this.released) {
        this.remove(environment, waiter);
        return { outcome: isChanged(tag) ? 'changed' : 'timeout', tag };
      }
      waiter.version = tag.version;
      const woke = await this.until(environment, waiter, left, gone);
      if (woke === 'gone') return { outcome: 'gone' };
      // Woken or out of time: read the tag again; the loop answers.
    }
  }

  /**
   * A version of the environment was seen (notification, own commit, database read): wakes the
   * waiters behind it. On the next turn of the event loop, not now: a commit of this broker
   * answers its own publisher first, rather than after thousands of woken watchers.
   */
  moved(environment: string, version: number): void {
    const waiters = this.byEnvironment.get(environment);
    if (!waiters) return;
    const due = [...waiters].filter((w) => w.version === undefined || w.version < version);
    // w.wake() at that time, not now: a waiter parked meanwhile has been given its parked wake.
    if (!due.length) return;
    setImmediate(() => {
      for (const w of due) w.wake();
    });
  }

  /** Every waiter reads its tag again (the policy changed, so every tag did). */
  wakeAll(): void {
    for (const waiters of this.byEnvironment.values()) for (const w of waiters) w.wake();
  }

  /** Whether notifications flow. While they do not, the database is polled; when they are back, read once. */
  feed(listening: boolean): void {
    this.listening = listening;
    if (listening) {
      this.stopPolling();
      void this.pollOnce();
    } else if (this.count > 0) this.startPolling();
  }

  /**
   * Shutdown: every held request is answered now (a 304 when nothing changed) and new ones are
   * not held, so watchers move to another broker at once instead of waiting for the socket to be cut.
   */
  release(): void {
    this.released = true;
    this.stopPolling();
    this.wakeAll();
  }

  private add(environment: string): Waiter {
    const waiter: Waiter = { woken: false, wake: () => void (waiter.woken = true) };
    let set = this.byEnvironment.get(environment);
    if (!set) this.byEnvironment.set(environment, (set = new Set()));
    set.add(waiter);
    this.count++;
    if (!this.listening) this.startPolling();
    return waiter;
  }

  private remove(environment: string, waiter: Waiter): void {
    const set = this.byEnvironment.get(environment);
    if (!set?.delete(waiter)) return;
    this.count--;
    // The map must not keep an entry per environment that once had a waiter.
    if (set.size === 0) this.byEnvironment.delete(environment);
    if (this.count === 0) this.stopPolling();
  }

  /** Parks a waiter until it is woken, `ms` passes or its client goes; it is removed in every case. */
  private until(environment: string, waiter: Waiter, ms: number, gone: AbortSignal): Promise<'woken' | 'timeout' | 'gone'> {
    if (waiter.woken || gone.aborted) {
      this.remove(environment, waiter);
      return Promise.resolve(gone.aborted ? 'gone' : 'woken');
    }
    return new Promise((resolve) => {
      const end = (why: 'woken' | 'timeout' | 'gone') => {
        clearTimeout(timer);
        gone.removeEventListener('abort', onGone);
        this.remove(environment, waiter);
        resolve(why);
      };
      const onGone = () => end('gone');
      const timer = setTimeout(() => end('timeout'), ms);
      gone.addEventListener('abort', onGone, { once: true });
      waiter.wake = () => {
        if (waiter.woken) return;
        waiter.woken = true;
        end('woken');
      };
    });
  }

  private startPolling(): void {
    if (this.pollTimer || this.released) return;
    this.pollTimer = setInterval(() => void this.pollOnce(), this.pollMs);
    this.pollTimer.unref();
  }

  private stopPolling(): void {
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  /** One read of each waited-on environment's version (never two polls at once on a slow database). */
  private pollOnce(): Promise<void> {
    if (this.polling || this.count === 0) return this.polling ?? Promise.resolve();
    const environments = [...this.byEnvironment.keys()];
    this.polling = Promise.all(
      environments.map(async (environment) => {
        try {
          this.moved(environment, await this.readVersion(environment));
        } catch (err) {
          // The database is down too: waiters keep their wait; the next poll tries again.
          this.log.debug({ err: (err as Error).message, environment }, 'could not read the view version for waiting requests');
        }
      }),
    ).then(() => {
      this.polling = undefined;
    });
    return this.polling;
  }
}
