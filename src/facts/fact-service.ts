import { LRUCache } from 'lru-cache';
import type { Actor } from '../audit/audit-entry';
import { type Auditor, nodeActor, policyWriteRefusal, refusal } from '../audit/auditor';
import type { Queryable, Transaction } from '../db/store';
import { ConflictError, NotFoundError } from '../errors/app-error';
import type { Caller } from '../identity/caller';
import type { CompiledPolicy } from '../policy';
import type { FactRow, FactStore, ViewRow } from './fact-store';
import type { ViewVersions } from './view-versions';

/** Where services find the policy in force; read per request, never kept across requests. */
export interface PolicySource {
  readonly current: CompiledPolicy;
}

/** How facts hand sensitive values to the secrets side (sealing, versions), inside the same transaction. */
export interface SensitiveValues {
  fingerprint(value: unknown): Promise<Buffer>;
  currentFingerprints(tx: Queryable, factId: number): Promise<Map<string, Buffer>>;
  write(
    tx: Queryable,
    at: { environment: string; category: string; name: string; exporter: string; version: number; factId: number },
    value: unknown,
  ): Promise<void>;
  destroy(tx: Queryable, factId: number, exporter: string): Promise<void>;
}

export interface PublishInput {
  category: string;
  name: string;
  value: unknown;
  sensitive: boolean;
  multi: boolean;
}

export interface PublishResult {
  environment: string;
  category: string;
  name: string;
  version: number;
  multi: boolean;
  sensitive: boolean;
  changed: boolean;
  created: boolean;
}

/** A view's version and ETag; `stale` when the database could not be asked (an outage: the last version known). */
export interface ViewTag {
  version: number;
  etag: string;
  stale: boolean;
}

/** A rendered view: the body is serialised once per (environment, category, version) and shared. */
export interface RenderedView {
  etag: string;
  body: string;
}

/** Whose value is withdrawn, in which environment, and who does it (the node itself, or an admin purging it). */
interface Withdrawer {
  environment: string;
  exporter: string;
  actor: Actor;
}
const withdrawer = (caller: Caller): Withdrawer => ({
  environment: caller.environment,
  exporter: caller.certname,
  actor: nodeActor(caller.certname),
});

const kindName = (multi: boolean, sensitive: boolean) => `${multi ? 'per-node' : 'single'}${sensitive ? ' sensitive' : ''}`;

/** Views with more rows than this are not kept as rows between renderings (their bodies still are). */
const ROW_CACHE_MAX_ROWS = 20_000;

/** Rendered bodies kept at most (characters): about as much as the 10 MB view of 100,000 facts. */
const BODY_CACHE_BYTES = 16 * 1024 * 1024;

export class FactService {
  /** View rows by environment/category, keyed by the database's view version: correct when
   *  several brokers share one database, a stale entry is simply not used. */
  private readonly rows = new LRUCache<string, { version: number; rows: ViewRow[] }>({
    max: 1000, // a node asking for many made-up categories must not grow it without end
    maxSize: ROW_CACHE_MAX_ROWS * 4,
    sizeCalculation: (entry) => entry.rows.length || 1,
    maxEntrySize: ROW_CACHE_MAX_ROWS, // a very large view is read again rather than kept (100,000 rows are ~40 MB)
  });
  /** View rows being read, by environment/category/version: a change wakes every watcher at once,
   *  and thousands of identical queries would exhaust the pool (one is enough). */
  private readonly reading = new Map<string, Promise<ViewRow[]>>();
  /** Rendered bodies by ETag (environment, version, category, caller's policy tag); oldest out first,
   *  bounded in bytes: with a policy, callers of different identities get different bodies. */
  private readonly bodies = new LRUCache<string, RenderedView>({
    maxSize: BODY_CACHE_BYTES,
    sizeCalculation: (view) => view.body.length || 1,
  });
  /**
   * Rendered bodies by what they hold (environment, category, version, which rows are
   * hidden): every node's ETag is its own (the policy tag names its identity), so in a fleet
   * of thousands `bodies` misses for most syncs, but most nodes see the same rows. Bounded
   * in bytes like `bodies`.
   */
  private readonly byContent = new LRUCache<string, string>({
    maxSize: BODY_CACHE_BYTES,
    sizeCalculation: (body) => body.length || 1,
  });

  constructor(
    private readonly store: FactStore,
    private readonly sensitiveValues: SensitiveValues,
    private readonly viewVersions: ViewVersions,
    private readonly audit: Auditor,
    private readonly policy: PolicySource,
  ) {}

  async publish(caller: Caller, input: PublishInput): Promise<PublishResult> {
    const { category, name, value, sensitive, multi } = input;
    const env = caller.environment;
    const decision = this.policy.current.forCaller(caller).decide('export', { category, name, sensitive, exporters: [] });
    if (!decision.allowed) {
      throw policyWriteRefusal(this.audit, caller, decision, 'export %s', { category, name });
    }
    // Hashing happens before the row lock is taken, to keep the lock short.
    const fingerprint = sensitive ? await this.sensitiveValues.fingerprint(value) : undefined;
    return this.store.transaction(async (tx) => {
      const fact = await this.store.lockFact(tx, env, category, name, multi, sensitive);
      if (fact.generator) {
        throw refusal(
          this.audit,
          caller,
          new ConflictError('secret_generated', `${category}.${name} is a broker-generated secret; nodes cannot publish it`),
          { category, name },
        );
      }
      // Is the value unchanged? A plain value is compared in the database; a sensitive one (or one
      // sent to a sensitive fact, which is refused below anyway) never goes into SQL: it is compared
      // by keyed fingerprint, since statement parameters end up in PostgreSQL's logs.
      const plain = !sensitive && !fact.sensitive;
      let current = await this.store.exporters(tx, fact.id, plain ? value : undefined);
      if (!fact.multi) {
        // A single fact of a deactivated or expired node is free: this publish takes it over.
        for (const gone of current.filter((c) => !c.active && c.exporter !== caller.certname)) {
          await this.takeOver(tx, caller, fact, gone.exporter, { category, name });
        }
        current = current.filter((c) => c.active || c.exporter === caller.certname);
      }
      if (fingerprint && fact.sensitive) {
        const fingerprints = await this.sensitiveValues.currentFingerprints(tx, fact.id);
        for (const c of current) c.same = fingerprints.get(c.exporter)?.equals(fingerprint) ?? false;
      }
      if (fact.multi !== multi || fact.sensitive !== sensitive) {
        if (current.length) {
          throw new ConflictError(
            'fact_kind_conflict',
            `${category}.${name} is a ${kindName(fact.multi, fact.sensitive)} fact; it was published as ${kindName(multi, sensitive)} (its kind can change only once every value is withdrawn)`,
          );
        }
        await this.store.setKind(tx, fact.id, multi, sensitive);
        Object.assign(fact, { multi, sensitive });
      }
      const other = !multi && current.find((c) => c.exporter !== caller.certname);
      if (other) {
        throw refusal(
          this.audit,
          caller,
          new ConflictError(
            'fact_owned_by_other',
            `${category}.${name} is already exported by ${other.exporter}; it must withdraw it before another node can publish it`,
          ),
          { category, name },
        );
      }
      const mine = current.find((c) => c.exporter === caller.certname);
      const result = { environment: env, category, name, multi, sensitive };
      if (mine?.same) return { ...result, version: mine.version, changed: false, created: false };
      const version = await this.store.writeValue(tx, env, fact, caller.certname, value, mine ? 'change' : 'create');
      if (fact.sensitive)
        await this.sensitiveValues.write(
          tx,
          { environment: env, category, name, exporter: caller.certname, version, factId: fact.id },
          value,
        );
      await this.audit.append(tx, {
        actor: nodeActor(caller.certname),
        action: mine ? 'fact.change' : 'fact.create',
        environment: env,
        category,
        name,
        version,
        detail: { multi, sensitive },
      });
      return { ...result, version, changed: true, created: !mine };
    });
  }

  async withdraw(caller: Caller, category: string, name: string): Promise<{ version: number }> {
    return this.store.transaction(async (tx) => {
      const fact = await this.store.findLocked(tx, caller.environment, category, name);
      const version = fact && (await this.withdrawLocked(tx, withdrawer(caller), fact, { category, name }));
      if (!version) throw new NotFoundError('fact_not_found', `${caller.certname} exports no fact ${category}.${name}`);
      return { version };
    });
  }

  /** Withdraws, atomically, every fact the caller exports that is not in `keep`. */
  async prune(caller: Caller, keep: { category: string; name: string }[]): Promise<{ category: string; name: string }[]> {
    return this.store.transaction((tx) => this.withdrawAllBut(tx, withdrawer(caller), keep));
  }

  /**
   * Withdraws every value a node exports, in every environment (a node purged by an admin or
   * by --node-purge-ttl): they leave history and audit intact; sensitive ones are destroyed.
   */
  async purgeExporter(certname: string, actor: Actor): Promise<number> {
    return this.store.transaction(async (tx) => {
      let withdrawn = 0;
      for (const environment of await this.store.environmentsExportedBy(tx, certname)) {
        withdrawn += (await this.withdrawAllBut(tx, { environment, exporter: certname, actor }, [])).length;
      }
      return withdrawn;
    });
  }

  private async withdrawAllBut(tx: Transaction, who: Withdrawer, keep: { category: string; name: string }[]) {
    const kept = new Set(keep.map((k) => `${k.category}.${k.name}`));
    const mine = await this.store.exportsOf(tx, who.environment, who.exporter, true);
    const withdrawn: { category: string; name: string }[] = [];
    for (const row of mine) {
      if (kept.has(`${row.category}.${row.name}`)) continue;
      // Re-read the version under the lock taken by exportsOf.
      const fact = await this.store.findLocked(tx, who.environment, row.category, row.name);
      if (fact && (await this.withdrawLocked(tx, who, fact, row))) withdrawn.push({ category: row.category, name: row.name });
    }
    return withdrawn;
  }

  /** Removes an inactive node's value of a single fact that `caller` now publishes; recorded as such. */
  private async takeOver(
    tx: Transaction,
    caller: Caller,
    fact: FactRow,
    from: string,
    where: { category: string; name: string },
  ): Promise<void> {
    const version = await this.store.withdrawValue(tx, caller.environment, fact, from);
    if (fact.sensitive) await this.sensitiveValues.destroy(tx, fact.id, from);
    await this.audit.append(tx, {
      actor: nodeActor(caller.certname),
      action: 'fact.take_over',
      environment: caller.environment,
      ...where,
      version,
      detail: { from },
    });
  }

  /** A withdrawn sensitive value is destroyed, not just hidden. */
  private async withdrawLocked(
    tx: Transaction,
    who: Withdrawer,
    fact: FactRow,
    where: { category: string; name: string },
  ): Promise<number | undefined> {
    const version = await this.store.withdrawValue(tx, who.environment, fact, who.exporter);
    if (!version) return undefined;
    if (fact.sensitive) await this.sensitiveValues.destroy(tx, fact.id, who.exporter);
    const purged = who.actor.name !== who.exporter ? { detail: { exporter: who.exporter } } : {};
    await this.audit.append(tx, { actor: who.actor, action: 'fact.withdraw', environment: who.environment, ...where, version, ...purged });
    return version;
  }

  async exports(caller: Caller) {
    const rows = await this.store.exportsOf(this.store.db, caller.environment, caller.certname);
    return rows.map(({ category, name, multi, sensitive, version }) => ({ category, name, multi, sensitive, version }));
  }

  /**
   * The current view's tag: the environment's version (from memory while LISTEN feeds it) and
   * the caller's policy tag (policy version and identity, cached per identity). A 304 needs
   * nothing more: no rule is evaluated.
   */
  async currentTag(caller: Caller, category?: string): Promise<ViewTag> {
    const { version, stale } = await this.viewVersions.current(caller.environment);
    const policyTag = this.policy.current.forCaller(caller).tag;
    return { version, stale, etag: `"${caller.environment}.${version}${category ? `.${category}` : ''}.${policyTag}"` };
  }

  /** The view at `tag` (from currentTag, so the version is read once per request) or newer, as this caller may see it. */
  async view(caller: Caller, category?: string, tag?: ViewTag): Promise<RenderedView> {
    const { version, etag } = tag ?? (await this.currentTag(caller, category));
    const cached = this.bodies.get(etag);
    if (cached) return cached;
    const key = `${caller.environment}\0${category ?? ''}`;
    let entry = this.rows.get(key);
    if (!entry || entry.version !== version) {
      // Read after the version: the rows are at least that new, so the tag never claims older data than it labels.
      const flight = `${key}\0${version}`;
      let reading = this.reading.get(flight);
      if (!reading) {
        reading = this.store.viewRows(caller.environment, category);
        this.reading.set(flight, reading);
        const done = () => this.reading.delete(flight);
        reading.then(done, done);
      }
      entry = { version, rows: await reading };
      this.rows.set(key, entry);
    }
    const allowed = this.policy.current.forCaller(caller);
    const visible: ViewRow[] = [];
    const hidden: number[] = [];
    entry.rows.forEach((r, i) => {
      const read = { category: r.category, name: r.name, sensitive: r.sensitive, exporters: [r.exporter], requesters: r.requesters };
      if (allowed.canRead(read)) visible.push(r);
      else hidden.push(i);
    });
    const contentKey = `${key}\0${version}\0${hidden.join(',')}`;
    let body = this.byContent.get(contentKey);
    if (body === undefined) {
      body = renderView(caller.environment, visible);
      this.byContent.set(contentKey, body);
    }
    const view = { etag, body };
    this.bodies.set(etag, view);
    return view;
  }
}

const objectOf = (entries: string[]) => `{${entries.join(',')}}`;
const key = (k: string) => `${JSON.stringify(k)}:`;

/**
 * The view's JSON, assembled from the values' JSON text as the database returned it: no value
 * is parsed or re-serialised, which is most of the cost (and memory) of a large view. Rows come
 * ordered by category, name and exporter, so equal views render to equal bytes.
 */
export function renderView(environment: string, rows: ViewRow[]): string {
  const facts = new Map<string, string[]>();
  const perNode = new Map<string, Map<string, string[]>>();
  const secrets = new Map<string, Map<string, number>>();
  for (const row of rows) {
    if (row.sensitive) {
      // Per-node secrets: the newest of the exporters' current versions.
      const names = secrets.get(row.category) ?? secrets.set(row.category, new Map()).get(row.category)!;
      names.set(row.name, Math.max(names.get(row.name) ?? 0, row.version));
    } else if (row.multi) {
      const names = perNode.get(row.category) ?? perNode.set(row.category, new Map()).get(row.category)!;
      const values = names.get(row.name) ?? names.set(row.name, []).get(row.name)!;
      values.push(key(row.exporter) + row.value_json);
    } else {
      const entries = facts.get(row.category) ?? facts.set(row.category, []).get(row.category)!;
      entries.push(key(row.name) + row.value_json);
    }
  }
  const section = <T>(m: Map<string, T>, render: (v: T) => string) => objectOf([...m].map(([k, v]) => key(k) + render(v)));
  return objectOf([
    key('environment') + JSON.stringify(environment),
    key('facts') + section(facts, objectOf),
    key('per_node') + section(perNode, (names) => section(names, objectOf)),
    key('secrets') + section(secrets, (names) => section(names, (version) => objectOf([key('version') + version]))),
  ]);
}
