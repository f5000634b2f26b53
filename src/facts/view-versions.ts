import type { Store } from '../db/store';
import { isConnectionFailure } from '../errors/store-errors';
import type { Logger } from '../log/logger';
import { ViewWaiters } from './view-waiters';

export const VIEW_CHANNEL = 'exportfact_view';

/**
 * Each environment's view version, kept in memory while a LISTEN connection feeds it, so a
 * `304` answers without touching the database. Writers NOTIFY `environment:version` in their
 * transaction (delivered on commit) from any broker sharing the store. While the listener is
 * down, or for an environment not seen yet, the version is read from the database.
 *
 * NOTIFY has no replay: a change committed while the listener was down is never announced.
 * So the cache is emptied when the listener drops, and a version read from the database is
 * kept only if the listener was up when the read began and has not dropped since; otherwise
 * a read that raced a reconnection could pin a version older than the one committed.
 *
 * Every version it learns of also wakes the requests held on that environment (`waiters`,
 * `GET /v1/facts?wait=`); while it cannot listen, those waiters poll the database instead.
 */
export class ViewVersions {
  private readonly versions = new Map<string, number>();
  /** Never cleared: the fallback while the database cannot be reached (served marked stale). */
  private readonly lastKnown = new Map<string, number>();
  private live = false;
  /** Counts listener drops and returns: a read that began in another epoch is not cached. */
  private epoch = 0;
  private unlisten?: () => Promise<void>;
  /** Requests held until their environment's version moves. */
  readonly waiters: ViewWaiters;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    deafPollMs?: number,
  ) {
    this.waiters = new ViewWaiters((environment) => this.get(environment), log, deafPollMs);
  }

  async start(): Promise<void> {
    this.unlisten = await this.store.listen(
      VIEW_CHANNEL,
      (payload) => this.onNotify(payload),
      (listening) => this.reset(listening),
    );
    // Correct without it, only slower: every tag is read from the database until it listens.
    if (!this.live) this.log.warn('cannot LISTEN for view changes yet; reading view versions from the database until it can');
  }

  async stop(): Promise<void> {
    this.waiters.release();
    await this.unlisten?.();
    this.live = false;
    this.versions.clear();
    this.epoch++;
  }

  async get(environment: string): Promise<number> {
    return (await this.current(environment)).version;
  }

  /**
   * The environment's view version. When the database cannot be reached and nothing trusted is
   * cached, the last version this broker knew is returned, marked stale: agents keep getting
   * the view they had (and 304s) through a database outage, told that it may be old.
   */
  async current(environment: string): Promise<{ version: number; stale: boolean }> {
    const known = this.live ? this.versions.get(environment) : undefined;
    if (known !== undefined) return { version: known, stale: false };
    const trusted = this.live;
    const epoch = this.epoch;
    let rows: { view_version: number }[];
    try {
      ({ rows } = await this.store.query<{ view_version: number }>('SELECT view_version FROM environments WHERE name = $1', [environment]));
    } catch (err) {
      const last = this.lastKnown.get(environment);
      if (last === undefined || !isConnectionFailure(err)) throw err;
      return { version: last, stale: true };
    }
    const version = rows[0]?.view_version ?? 0;
    // Only environments that exist: the maps must not grow with made-up names.
    if (rows[0]) this.remember(environment, version);
    if (trusted && this.live && epoch === this.epoch && rows[0]) this.raise(environment, version);
    return { version, stale: false };
  }

  /** A version this broker committed itself: known at once, whatever NOTIFY does. */
  committed(environment: string, version: number): void {
    if (this.live) this.raise(environment, version);
    // Waiters here need not wait for a notification (or, while deaf, for the next poll).
    else this.waiters.moved(environment, version);
  }

  private onNotify(payload: string): void {
    if (!this.live) return;
    const at = payload.lastIndexOf(':');
    const version = Number(payload.slice(at + 1));
    if (at > 0 && Number.isInteger(version)) this.raise(payload.slice(0, at), version);
  }

  /** Versions only go up: a slow read must not undo a newer notification. */
  private raise(environment: string, version: number): void {
    if ((this.versions.get(environment) ?? -1) < version) {
      this.versions.set(environment, version);
      this.waiters.moved(environment, version);
    }
    this.remember(environment, version);
  }

  /** The newest version seen, kept through listener drops: what a database outage falls back on. */
  private remember(environment: string, version: number): void {
    if ((this.lastKnown.get(environment) ?? -1) < version) this.lastKnown.set(environment, version);
  }

  /** Whatever was cached may have missed a change: forget it; trust notifications again once they flow. */
  private reset(listening: boolean): void {
    if (listening === this.live && !listening) return;
    this.versions.clear();
    this.live = listening;
    this.epoch++;
    this.waiters.feed(listening);
    if (!listening) this.log.warn('LISTEN for view changes lost; view versions are read from the database until it is back');
    else if (this.epoch > 1) this.log.info('LISTEN for view changes back; view versions cached again');
  }
}
