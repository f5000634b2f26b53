import type { Caller } from '../identity/caller';
import type { Logger } from '../log/logger';
import type { NodeStore } from './node-store';

/** How often contacts are written: in one batch, off the request path. */
export const CONTACT_FLUSH_MS = 5_000;

/**
 * Records first and last contact of nodes. A write per agent run would cost more than the
 * run's read, so contacts are collected in memory and written in one statement every few
 * seconds (and at shutdown): a crash loses at most that much of "last seen", never a fact.
 */
export class NodeService {
  private pending = new Map<string, { certname: string; environment: string; at: Date }>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;

  constructor(
    private readonly store: NodeStore,
    private readonly log: Logger,
    private readonly flushMs = CONTACT_FLUSH_MS,
  ) {}

  seen(caller: Caller, at = new Date()): void {
    this.pending.set(caller.certname, { certname: caller.certname, environment: caller.environment, at });
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushMs).unref();
  }

  /** Writes what was collected; on failure the contacts are kept for the next attempt. */
  async flush(): Promise<void> {
    await this.flushing;
    if (!this.pending.size) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.flushing = this.store.touchMany(batch).catch((err: Error) => {
      for (const c of batch) if (!this.pending.has(c.certname)) this.pending.set(c.certname, c);
      this.log.error({ err: err.message, nodes: batch.length }, 'recording node contacts failed; will retry');
    });
    await this.flushing;
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  async list(caller: Caller) {
    await this.flush(); // the caller's own contact included
    const rows = await this.store.list(caller.environment);
    return rows.map((r) => ({ ...r, first_seen: r.first_seen.toISOString(), last_seen: r.last_seen.toISOString() }));
  }
}
