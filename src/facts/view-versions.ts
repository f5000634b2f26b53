import type { Store } from '../db/store';
import type { Logger } from '../log/logger';

export const VIEW_CHANNEL = 'exportfact_view';

/**
 * Each environment's view version, kept in memory while a LISTEN connection feeds it, so a
 * `304` answers without touching the database. Writers NOTIFY `environment:version` in their
 * transaction (delivered on commit) from any broker sharing the store. While the listener is
 * down, or for an environment not seen yet, the version is read from the database.
 */
export class ViewVersions {
  private readonly versions = new Map<string, number>();
  private live = false;
  private unlisten?: () => Promise<void>;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    try {
      this.unlisten = await this.store.listen(VIEW_CHANNEL, (payload) => this.onNotify(payload), (listening) => this.reset(listening));
      this.live = true;
    } catch (err) {
      // Correct without it, only slower: every tag is then read from the database.
      this.log.warn({ err: (err as Error).message }, 'cannot LISTEN for view changes; reading view versions from the database');
    }
  }

  async stop(): Promise<void> {
    this.live = false;
    await this.unlisten?.();
  }

  async get(environment: string): Promise<number> {
    const known = this.live ? this.versions.get(environment) : undefined;
    if (known !== undefined) return known;
    const { rows } = await this.store.query<{ view_version: number }>('SELECT view_version FROM environments WHERE name = $1', [environment]);
    const version = rows[0]?.view_version ?? 0;
    // Only environments that exist: the map must not grow with made-up names.
    if (this.live && rows[0]) this.raise(environment, version);
    return version;
  }

  private onNotify(payload: string): void {
    const at = payload.lastIndexOf(':');
    const version = Number(payload.slice(at + 1));
    if (at > 0 && Number.isInteger(version)) this.raise(payload.slice(0, at), version);
  }

  /** Versions only go up: a slow read must not undo a newer notification. */
  private raise(environment: string, version: number): void {
    if ((this.versions.get(environment) ?? -1) < version) this.versions.set(environment, version);
  }

  /** Whatever was cached may have missed a change: forget it; trust notifications again once they flow. */
  private reset(listening: boolean): void {
    this.versions.clear();
    this.live = listening;
  }
}
