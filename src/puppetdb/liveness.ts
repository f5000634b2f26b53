import type { Actor } from '../audit/audit-entry';
import { describeError } from '../errors/app-error';
import type { Logger } from '../log/logger';
import type { NodeLifecycle } from '../nodes/node-lifecycle';
import type { NodeStore } from '../nodes/node-store';
import type { PuppetdbClient, PuppetdbNode } from './puppetdb-client';

/** Who acts in the audit trail when PuppetDB's word moves a node. */
export const PUPPETDB_ACTOR: Actor = { kind: 'broker', name: 'puppetdb' };
/** Every state reason PuppetDB gives starts so: it undoes only deactivations that start so. */
export const PUPPETDB_REASON = 'PuppetDB:';

/** After this many intervals without an answer, health says the liveness is stale (degraded). */
const STALE_AFTER_INTERVALS = 3;

/** What /admin/v1/health shows of PuppetDB. */
export interface PuppetdbLivenessStatus {
  url: string;
  interval_seconds: number;
  /** When PuppetDB last answered the node query; null: not yet. */
  last_answer_at: string | null;
  /** How old that answer is, in seconds (since the broker started while there is none). */
  last_answer_age_seconds: number;
  /** Nodes in that answer, and how many of them PuppetDB had deactivated or expired. */
  nodes: number;
  inactive: number;
  last_error: string | null;
  last_error_at: string | null;
  /** No answer for STALE_AFTER_INTERVALS intervals: the broker's node states may be behind PuppetDB's. */
  stale: boolean;
}

/**
 * Node liveness from PuppetDB, where a Puppet estate already records which nodes exist: every
 * interval the broker reads PuppetDB's node list (deactivated and expired nodes included) and
 * applies it to its own node states:
 *
 * - a node PuppetDB deactivated (`puppet node deactivate`) or expired (node-ttl) is deactivated
 *   in the broker, with PuppetDB as actor and reason in the audit trail, so its facts leave
 *   every view; unless the node contacted the broker after that moment (it is alive, and the
 *   broker's fresher word wins: PuppetDB reactivates it too at its next agent run);
 * - a node PuppetDB lists as active again comes back, if it was PuppetDB that deactivated it
 *   (an admin's or a revocation's deactivation is never undone by PuppetDB);
 * - a node PuppetDB never heard of is left alone (it may run `puppet apply`), and so is a node
 *   the broker never heard of;
 * - PuppetDB's last catalog, facts or report of a node counts as a contact (last_seen), so the
 *   node TTL does not expire a node that checks in with Puppet but has not contacted the broker
 *   yet (one still on the old module, whose facts were imported).
 *
 * PuppetDB down or answering errors changes nothing: the last answer stands, and health says
 * how old it is.
 */
export class PuppetdbLiveness {
  private lastAnswer?: { at: Date; nodes: number; inactive: number };
  private lastError: { at: Date; message: string } | null = null;
  private readonly startedAt = new Date();
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private closed = false;

  constructor(
    private readonly client: PuppetdbClient,
    private readonly lifecycle: NodeLifecycle,
    private readonly nodes: NodeStore,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  /** Polls now, then every interval. */
  start(): this {
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
    void this.poll();
    return this;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.polling; // an apply in progress finishes before the store closes
  }

  /** One poll; never throws (a failure is recorded, logged once, and retried at the next interval). A poll still running is not started again. */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    let nodes: PuppetdbNode[];
    try {
      nodes = await this.client.nodes();
    } catch (err) {
      this.failed(describeError(err));
      return;
    }
    if (this.closed) return;
    if (this.lastError) this.log.info({ puppetdb: this.client.url.origin }, 'PuppetDB answers again');
    this.lastError = null;
    const inactive = nodes.filter((n) => n.deactivated || n.expired).length;
    this.lastAnswer = { at: new Date(), nodes: nodes.length, inactive };
    try {
      await this.apply(nodes);
    } catch (err) {
      // The store is away, most likely: the same answer is applied again at the next poll.
      this.log.error({ err: describeError(err) }, 'applying PuppetDB node states failed; will retry at the next poll');
    }
  }

  private failed(message: string): void {
    if (this.lastError?.message !== message) {
      this.log.error(
        { puppetdb: this.client.url.origin, err: message },
        "PuppetDB's node list cannot be read; node states stay as PuppetDB last said",
      );
    }
    this.lastError = { at: new Date(), message };
  }

  /** Applies one answer of PuppetDB to the broker's node states. */
  private async apply(nodes: PuppetdbNode[]): Promise<void> {
    const known = new Map((await this.lifecycle.list({})).map((n) => [n.certname, n]));
    const deactivated: string[] = [];
    const restored: string[] = [];
    for (const node of nodes) {
      const mine = known.get(node.certname);
      if (!mine || this.closed) continue;
      const goneAt = node.deactivated ?? node.expired;
      if (goneAt) {
        // Contacted after PuppetDB's verdict: alive (clock skew between the two is the admin's to keep small).
        if (mine.state !== 'active' || !(Date.parse(goneAt) > Date.parse(mine.last_seen))) continue;
        const what = node.deactivated ? 'deactivated' : 'expired (node-ttl)';
        await this.lifecycle.deactivate(node.certname, `${PUPPETDB_REASON} ${what} at ${goneAt}`, PUPPETDB_ACTOR);
        deactivated.push(node.certname);
      } else if (mine.state !== 'active' && mine.state_reason?.startsWith(PUPPETDB_REASON)) {
        if (await this.lifecycle.restore(node.certname, PUPPETDB_REASON, PUPPETDB_ACTOR)) restored.push(node.certname);
      }
    }
    await this.nodes.seenElsewhere(nodes.flatMap((n) => (n.deactivated || n.expired ? [] : lastHeardOf(n))));
    if (deactivated.length) this.log.info({ nodes: deactivated }, 'nodes deactivated: PuppetDB deactivated or expired them');
    if (restored.length) this.log.info({ nodes: restored }, 'nodes active again: PuppetDB lists them as active');
  }

  status(now = new Date()): PuppetdbLivenessStatus {
    const since = this.lastAnswer?.at ?? this.startedAt;
    const age = Math.max(0, (now.getTime() - since.getTime()) / 1000);
    return {
      url: this.client.url.href,
      interval_seconds: this.intervalMs / 1000,
      last_answer_at: this.lastAnswer?.at.toISOString() ?? null,
      last_answer_age_seconds: Math.round(age * 10) / 10,
      nodes: this.lastAnswer?.nodes ?? 0,
      inactive: this.lastAnswer?.inactive ?? 0,
      last_error: this.lastError?.message ?? null,
      last_error_at: this.lastError?.at.toISOString() ?? null,
      stale: age * 1000 > STALE_AFTER_INTERVALS * this.intervalMs,
    };
  }
}

/** When PuppetDB last heard of a node: its newest catalog, facts or report. */
export function lastHeardOf(n: PuppetdbNode): { certname: string; at: Date }[] {
  const times = [n.catalog_timestamp, n.facts_timestamp, n.report_timestamp]
    .map((t) => (typeof t === 'string' ? Date.parse(t) : Number.NaN))
    .filter((t) => Number.isFinite(t));
  return times.length ? [{ certname: n.certname, at: new Date(Math.max(...times)) }] : [];
}
