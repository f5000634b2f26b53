import type { Actor } from '../audit/audit-entry';
import type { AuditQueries } from '../audit/audit-queries';
import { type Auditor, nodeActor } from '../audit/auditor';
import type { Store } from '../db/store';
import { NotFoundError } from '../errors/app-error';
import type { FactService } from '../facts/fact-service';
import type { FactStore } from '../facts/fact-store';
import type { Caller } from '../identity/caller';
import type { Logger } from '../log/logger';
import type { NodeService } from './node-service';
import { NODE_CHANNEL, type NodeRow, type NodeState, type NodeStore } from './node-store';

export interface LifecycleConfig {
  /** A node not seen for this long expires (0: never). */
  ttlSeconds: number;
  /** An inactive node's facts are deleted after this long (0: never). */
  purgeTtlSeconds: number;
}

const BROKER: Actor = { kind: 'broker', name: 'node-lifecycle' };

/**
 * Nodes come and go: a node is active, deactivated (by an admin, or because its certificate
 * was revoked) or expired (not seen for the node TTL). An inactive node's values leave every
 * view at once (kept in history and the audit trail), its single facts are free for another
 * exporter, and any authenticated request of the node makes it active again (as PuppetDB
 * does); a revoked node cannot authenticate, so it stays out. After the purge TTL its facts
 * are deleted for good.
 *
 * Which nodes are inactive is kept in memory so that a request checks it with one Set lookup;
 * every broker on the store follows the others' changes by NOTIFY and re-reads the set when
 * its LISTEN connection was down (NOTIFY has no replay) and on every sweep.
 */
export class NodeLifecycle {
  private inactiveNodes = new Set<string>();
  private unlisten?: () => Promise<void>;
  private readonly reactivating = new Map<string, Promise<void>>();

  constructor(
    private readonly nodes: NodeStore,
    private readonly contacts: NodeService,
    private readonly factStore: FactStore,
    private readonly facts: FactService,
    private readonly auditQueries: AuditQueries,
    private readonly audit: Auditor,
    private readonly config: LifecycleConfig,
    private readonly log: Logger,
  ) {}

  private get store(): Store {
    return this.nodes.db;
  }

  async start(): Promise<void> {
    await this.reloadInactive();
    this.unlisten = await this.store.listen(
      NODE_CHANNEL,
      (payload) => {
        const at = payload.lastIndexOf(':');
        const [certname, state] = [payload.slice(0, at), payload.slice(at + 1)];
        if (state === 'active' || state === 'purged') this.inactiveNodes.delete(certname);
        else this.inactiveNodes.add(certname);
      },
      (listening) => void (listening && this.reloadInactive().catch(() => undefined)),
    );
  }

  async close(): Promise<void> {
    await this.unlisten?.();
  }

  private async reloadInactive(): Promise<void> {
    this.inactiveNodes = new Set(await this.nodes.inactive());
  }

  /**
   * Called for every authenticated request: a deactivated or expired node is made active
   * again before its request is handled, so its facts are back for this very request.
   * Returns undefined when there is nothing to do (the usual case: one Set lookup).
   */
  returning(caller: Caller): Promise<void> | undefined {
    if (!this.inactiveNodes.has(caller.certname)) return undefined;
    let pending = this.reactivating.get(caller.certname);
    if (!pending) {
      pending = this.reactivate(caller).finally(() => this.reactivating.delete(caller.certname));
      this.reactivating.set(caller.certname, pending);
    }
    return pending;
  }

  private async reactivate(caller: Caller): Promise<void> {
    await this.store.transaction(async (tx) => {
      const changed = await this.nodes.setState(tx, [caller.certname], 'active', null, ['deactivated', 'expired']);
      if (!changed.length) return;
      await this.factStore.bumpViewsExportedBy(tx, caller.certname);
      await this.audit.append(tx, { actor: nodeActor(caller.certname), action: 'node.reactivate', environment: caller.environment });
    });
    this.inactiveNodes.delete(caller.certname);
    this.log.info({ certname: caller.certname }, 'node active again');
  }

  /** An admin retires a node (it comes back if it contacts the broker again, unless revoked). */
  async deactivate(certname: string, reason: string | null, actor: Actor): Promise<{ certname: string; state: NodeState }> {
    await this.contacts.flush(); // a node seen seconds ago has its row
    const changed = await this.move([certname], 'deactivated', reason ?? `by ${actor.name}`, actor, 'node.deactivate', [
      'active',
      'expired',
    ]);
    if (!changed.length && !(await this.nodes.get(this.store, certname))) throw unknownNode(certname);
    return { certname, state: 'deactivated' };
  }

  /**
   * Another source of node liveness (PuppetDB) says a node it had deactivated is back: only a
   * deactivation whose reason starts with `reasonPrefix` (that source's own) is undone, never an
   * admin's or a revocation's. Returns whether the node was reactivated.
   */
  async restore(certname: string, reasonPrefix: string, actor: Actor): Promise<boolean> {
    const moved = await this.move(
      [certname],
      'active',
      `${reasonPrefix} active again`,
      actor,
      'node.reactivate',
      ['deactivated', 'expired'],
      reasonPrefix,
    );
    return moved.length > 0;
  }

  /** Deletes a node's facts (in every environment) and its row; history and audit entries stay. */
  async purge(certname: string, actor: Actor): Promise<{ certname: string; withdrawn: number }> {
    await this.contacts.flush();
    if (!(await this.nodes.get(this.store, certname))) throw unknownNode(certname);
    const withdrawn = await this.facts.purgeExporter(certname, actor);
    await this.store.transaction(async (tx) => {
      await this.nodes.remove(tx, certname);
      await this.audit.append(tx, { actor, action: 'node.purge', detail: { certname, withdrawn } });
    });
    this.inactiveNodes.delete(certname);
    return { certname, withdrawn };
  }

  /** Nodes whose certificate a CRL just listed are deactivated (their certificate no longer authenticates them). */
  async revoked(byCa: { issuer: string; serials: string[] }[]): Promise<string[]> {
    await this.contacts.flush();
    const certnames = (await Promise.all(byCa.map((c) => this.nodes.withCertificates(c.issuer, c.serials)))).flat();
    return this.move(certnames, 'deactivated', 'certificate revoked', BROKER, 'node.deactivate', ['active', 'expired']);
  }

  /** One sweep: expire nodes not seen for the TTL, purge those inactive for the purge TTL. */
  async sweep(): Promise<void> {
    await this.reloadInactive();
    if (this.config.ttlSeconds > 0) {
      await this.contacts.flush(); // last_seen as this broker knows it
      const idle = await this.nodes.idleSince(this.config.ttlSeconds);
      const expired = await this.move(idle, 'expired', `not seen for ${this.config.ttlSeconds} s`, BROKER, 'node.expire', ['active']);
      if (expired.length) this.log.info({ nodes: expired.length }, 'nodes expired (not seen for the node TTL)');
    }
    if (this.config.purgeTtlSeconds > 0) {
      for (const certname of await this.nodes.inactiveSince(this.config.purgeTtlSeconds)) await this.purge(certname, BROKER);
    }
  }

  async list(filter: { environment?: string; state?: NodeState }) {
    await this.contacts.flush();
    return (await this.nodes.list(filter)).map(shown);
  }

  /** A node, what it exports, which secrets it saw and when it was last seen. */
  async show(certname: string) {
    await this.contacts.flush();
    const node = await this.nodes.get(this.store, certname);
    if (!node) throw unknownNode(certname);
    const exports = await this.factStore.exportsOfNode(certname);
    const secrets = await this.auditQueries.nodeSaw(certname);
    return { ...shown(node), exports, secrets_seen: secrets };
  }

  /** Moves nodes in one transaction per node: state, views bumped, an audit entry each. */
  private async move(
    certnames: string[],
    state: NodeState,
    reason: string,
    actor: Actor,
    action: string,
    from: NodeState[],
    onlyReasonPrefix?: string,
  ): Promise<string[]> {
    const moved: string[] = [];
    for (const certname of certnames) {
      await this.store.transaction(async (tx) => {
        if (!(await this.nodes.setState(tx, [certname], state, reason, from, onlyReasonPrefix)).length) return;
        await this.factStore.bumpViewsExportedBy(tx, certname);
        const node = await this.nodes.get(tx, certname);
        await this.audit.append(tx, { actor, action, environment: node?.environment, detail: { certname, reason } });
        moved.push(certname);
      });
    }
    for (const certname of moved) {
      if (state === 'active') this.inactiveNodes.delete(certname);
      else this.inactiveNodes.add(certname);
    }
    return moved;
  }
}

const unknownNode = (certname: string) =>
  new NotFoundError('node_not_found', `no node ${certname} has contacted this broker (or it was purged)`);

const shown = (n: NodeRow) => ({
  certname: n.certname,
  environment: n.environment,
  state: n.state,
  state_since: n.state_since.toISOString(),
  state_reason: n.state_reason,
  first_seen: n.first_seen.toISOString(),
  last_seen: n.last_seen.toISOString(),
});
