import type { Caller } from '../identity/caller';
import type { Logger } from '../log/logger';
import type { Contact, NodeStore } from './node-store';

/** PostgreSQL's data errors (class 22: bad encoding, NUL, out of range): the row, not the store, is at fault. */
const isRowError = (err: unknown) => /^22/.test(String((err as { code?: string })?.code ?? ''));

/** How often contacts are written: in one batch, off the request path. */
export const CONTACT_FLUSH_MS = 5_000;

/**
 * Records first and last contact of nodes. A write per agent run would cost more than the
 * run's read, so contacts are collected in memory and written in one statement every few
 * seconds (and at shutdown): a crash loses at most that much of "last seen", never a fact.
 */
export class NodeService {
  private pending = new Map<string, Contact>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;

  constructor(
    private readonly store: NodeStore,
    private readonly log: Logger,
    private readonly flushMs = CONTACT_FLUSH_MS,
  ) {}

  seen(caller: Caller, at = new Date()): void {
    this.pending.set(caller.certname, {
      certname: caller.certname,
      environment: caller.environment,
      at,
      certificate: caller.certificate,
      role: caller.extensions.pp_role,
    });
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushMs).unref();
  }

  /**
   * Writes what was collected. When the batch fails, each contact is written on its own, so
   * one row the database refuses cannot hold back every other node's; contacts that fail
   * because the store is away are kept for the next attempt.
   */
  async flush(): Promise<void> {
    await this.flushing;
    if (!this.pending.size) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.flushing = this.store.touchMany(batch).catch(() => this.flushOneByOne(batch));
    await this.flushing;
  }

  private async flushOneByOne(batch: Contact[]): Promise<void> {
    let kept = 0;
    for (const contact of batch) {
      try {
        await this.store.touchMany([contact]);
      } catch (err) {
        if (isRowError(err)) {
          this.log.error(
            { err: (err as Error).message, certname: JSON.stringify(contact.certname) },
            'a node contact cannot be recorded; dropped',
          );
        } else if (!this.pending.has(contact.certname)) {
          this.pending.set(contact.certname, contact);
          kept++;
        }
      }
    }
    if (kept) this.log.error({ nodes: kept }, 'recording node contacts failed; will retry');
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  async list(caller: Caller) {
    await this.flush(); // the caller's own contact included
    const rows = await this.store.list({ environment: caller.environment });
    return rows.map((r) => ({
      certname: r.certname,
      environment: r.environment,
      state: r.state,
      first_seen: r.first_seen.toISOString(),
      last_seen: r.last_seen.toISOString(),
    }));
  }
}
