import type { Caller } from '../identity/caller';
import type { NodeStore } from './node-store';

/** How often a node's last contact is written: a write per agent run would cost more than the run's read. */
export const TOUCH_INTERVAL_MS = 60_000;

export class NodeService {
  private readonly lastWritten = new Map<string, number>();

  constructor(
    private readonly store: NodeStore,
    private readonly intervalMs = TOUCH_INTERVAL_MS,
  ) {}

  /** Records contact, at most once per interval per node and broker process. */
  async seen(caller: Caller, now = Date.now()): Promise<void> {
    const key = `${caller.certname}\0${caller.environment}`;
    const last = this.lastWritten.get(key);
    if (last !== undefined && now - last < this.intervalMs) return;
    this.lastWritten.set(key, now);
    if (this.lastWritten.size > 100_000) this.lastWritten.clear(); // bound memory; costs at most one extra write per node
    try {
      await this.store.touch(caller.certname, caller.environment);
    } catch (err) {
      this.lastWritten.delete(key);
      throw err;
    }
  }

  async list(caller: Caller) {
    const rows = await this.store.list(caller.environment);
    return rows.map((r) => ({ ...r, first_seen: r.first_seen.toISOString(), last_seen: r.last_seen.toISOString() }));
  }
}
