import type { Actor } from '../audit/audit-entry';
import type { Auditor } from '../audit/auditor';
import type { Queryable, Store, Transaction } from '../db/store';
import type { SensitiveValues } from '../facts/fact-service';
import type { FactRow, FactStore } from '../facts/fact-store';
import type { Logger } from '../log/logger';
import type { NodeStore } from '../nodes/node-store';
import { compileGlob, type Glob } from '../policy/glob';
import { environmentProblem } from '../schemas/environment';
import { lastHeardOf } from './liveness';
import { type ExportProblem, type OldExport, readOldExports } from './old-exports';
import type { PuppetdbClient, PuppetdbNode } from './puppetdb-client';

/** Names that look like credentials are imported as secrets unless the admin says otherwise. */
export const DEFAULT_SENSITIVE_NAMES = ['*password*', '*secret*', '*token*', '*key*'];

export type ImportAction = 'create' | 'same' | 'conflict';

/** One fact of the import, as the table shows it. `value` only when the fact is not sensitive. */
export interface ImportRow {
  node: string;
  environment: string;
  category: string;
  name: string;
  value?: string;
  sensitive: boolean;
  action: ImportAction;
  /** Why it is a conflict. */
  reason?: string;
  /** The PuppetDB resources it comes from. */
  resources: string[];
}

export interface ImportReport {
  puppetdb_url: string;
  mode: 'dry-run' | 'apply';
  /** Resources read from PuppetDB (twins count twice). */
  resources: number;
  rows: ImportRow[];
  /** Resources nothing was imported from, each naming what and where. */
  problems: ExportProblem[];
  warnings: ExportProblem[];
  counts: { create: number; same: number; conflict: number; skipped: number };
  /** Facts written (apply only). */
  written: number;
  seconds: number;
}

export interface ImportOptions {
  apply: boolean;
  sensitiveNames: string[];
  actor: Actor;
}

export interface FactImporterDeps {
  store: Store;
  facts: FactStore;
  sensitive: SensitiveValues;
  nodes: NodeStore;
  audit: Auditor;
  defaultEnvironment: string;
  log: Logger;
}

/** A compiled list of name globs; a bad pattern is a message naming it. */
export function sensitiveNameGlobs(patterns: string[]): Glob[] | string {
  const globs: Glob[] = [];
  for (const p of patterns) {
    const glob = compileGlob(p, 'fact part');
    if (typeof glob === 'string') return `sensitive name pattern: ${glob}`;
    globs.push(glob);
  }
  return globs;
}

/**
 * Brings the old module's exported facts from PuppetDB into the broker, each as a fact of the
 * node that exported it, in that node's environment. It never guesses and never overwrites: a
 * name two nodes export, a fact the broker already holds with another value, exporter or kind,
 * a broker-generated secret of that name, are conflicts, reported and left alone. So a second
 * run changes nothing (every row is `same`), and a dry run (the default) is the same decision
 * without the writes.
 *
 * Writes are the admin's: each is a `fact.import` audit entry naming the admin as actor and the
 * node as exporter, in the write's own transaction. It goes straight to the fact store rather
 * than through FactService.publish, whose rules are a node's (take over a free fact, change its
 * own value, the node's export policy) and whose audit entries name the node as actor.
 */
export class FactImporter {
  constructor(private readonly deps: FactImporterDeps) {}

  async run(client: PuppetdbClient, opts: ImportOptions): Promise<ImportReport> {
    const started = process.hrtime.bigint();
    const globs = sensitiveNameGlobs(opts.sensitiveNames);
    if (typeof globs === 'string') throw new Error(globs); // the route checks the patterns first
    const resources = await client.oldModuleExports();
    const { exports, problems, warnings } = readOldExports(resources);
    const certnames = [...new Set(exports.map((e) => e.node))];
    const [pdbNodes, trusted] = await Promise.all([client.nodes(), client.trustedFacts(certnames)]);
    const seenAt = lastSeenByNode(pdbNodes);
    const environments = await this.environments(certnames, trusted, problems);

    const rows: ImportRow[] = [];
    const placed = exports.filter((e) => environments.has(e.node));
    for (const [key, group] of groupBy(placed, (e) => `${environments.get(e.node)}\0${e.category}\0${e.name}`)) {
      const environment = key.split('\0')[0];
      const sensitive = globs.some((g) => g.test(group[0].name));
      if (group.length > 1) {
        const nodes = group.map((e) => e.node);
        for (const e of group) {
          rows.push(
            row(e, environment, sensitive, 'conflict', {
              reason: `${nodes.length} nodes export ${e.category}.${e.name} (${nodes.join(', ')}); the old module's readers failed on it. Export it from one node, or per node (multi => true) with the new module`,
            }),
          );
        }
        continue;
      }
      const e = group[0];
      const decided = opts.apply
        ? await this.write(e, environment, sensitive, opts.actor, seenAt.get(e.node))
        : await this.decide(this.deps.facts.db, await this.deps.facts.findUnlocked(environment, e.category, e.name), e, sensitive);
      rows.push(row(e, environment, sensitive, decided.action, decided));
    }
    rows.sort((a, b) => cmp(a.node, b.node) || cmp(a.category, b.category) || cmp(a.name, b.name));

    const count = (action: ImportAction) => rows.filter((r) => r.action === action).length;
    const counts = { create: count('create'), same: count('same'), conflict: count('conflict'), skipped: problems.length };
    const report: ImportReport = {
      puppetdb_url: client.url.href,
      mode: opts.apply ? 'apply' : 'dry-run',
      resources: resources.length,
      rows,
      problems,
      warnings,
      counts,
      written: opts.apply ? counts.create : 0,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
    if (opts.apply) {
      await this.deps.audit.appendNow({
        actor: opts.actor,
        action: 'puppetdb.import',
        detail: { puppetdb: client.url.origin, resources: resources.length, ...counts },
      });
    }
    this.deps.log.info({ puppetdb: client.url.origin, mode: report.mode, resources: resources.length, ...counts }, 'import from PuppetDB');
    return report;
  }

  /**
   * A node's environment in the broker: the one its certificate gave when it contacted the
   * broker, else the pp_environment of its certificate as PuppetDB's `trusted` fact has it,
   * else the default environment (as for a certificate without pp_environment).
   */
  private async environments(certnames: string[], trusted: Map<string, Record<string, unknown>>, problems: ExportProblem[]) {
    const found = new Map<string, string>();
    for (const certname of certnames) {
      const known = await this.deps.nodes.get(this.deps.store, certname);
      const extensions = trusted.get(certname)?.extensions as Record<string, unknown> | undefined;
      const fromCert = extensions?.pp_environment;
      const environment = known?.environment ?? (typeof fromCert === 'string' ? fromCert : this.deps.defaultEnvironment);
      const problem = environmentProblem(`the pp_environment of ${certname}`, environment);
      if (problem) problems.push({ node: certname, resource: `Node[${certname}]`, message: `${problem}: none of its exports is imported` });
      else found.set(certname, environment);
    }
    return found;
  }

  /** One fact, in its own transaction: the fact row locked, decided again under the lock, written when new. */
  private write(e: OldExport, environment: string, sensitive: boolean, actor: Actor, lastSeen = new Date()): Promise<Decision> {
    const { facts, sensitive: secrets, nodes, audit } = this.deps;
    return this.deps.store.transaction(async (tx) => {
      const fact = await facts.lockFact(tx, environment, e.category, e.name, false, sensitive);
      const decision = await this.decide(tx, fact, e, sensitive);
      if (decision.action !== 'create') return decision;
      if (fact.multi || fact.sensitive !== sensitive) await facts.setKind(tx, fact.id, false, sensitive); // no value holds it to its kind
      Object.assign(fact, { multi: false, sensitive });
      const version = await facts.writeValue(tx, environment, fact, e.node, e.value, 'create');
      if (sensitive)
        await secrets.write(tx, { environment, category: e.category, name: e.name, exporter: e.node, version, factId: fact.id }, e.value);
      await nodes.addIfAbsent(tx, e.node, environment, lastSeen);
      await audit.append(tx, {
        actor,
        action: 'fact.import',
        environment,
        category: e.category,
        name: e.name,
        version,
        detail: { exporter: e.node, source: 'puppetdb', resources: e.resources, sensitive },
      });
      return decision;
    });
  }

  /** create, same or conflict (with the reason), against what the broker holds now. */
  private async decide(q: Queryable | Transaction, fact: FactRow | undefined, e: OldExport, sensitive: boolean): Promise<Decision> {
    if (!fact) return { action: 'create' };
    if (fact.generator) return conflict(`the broker generates a secret ${e.category}.${e.name}; it is not imported over it`);
    // A plain value is compared in the database; a secret never goes into SQL (it would reach
    // PostgreSQL's statement log): it is compared by its keyed fingerprint.
    const plain = !fact.sensitive && !sensitive;
    const current = await this.deps.facts.exporters(q, fact.id, plain ? e.value : undefined);
    if (!current.length) return { action: 'create' };
    const others = current.filter((c) => c.exporter !== e.node).map((c) => (c.active ? c.exporter : `${c.exporter} (inactive)`));
    if (others.length) return conflict(`the broker already has ${e.category}.${e.name} from ${others.join(', ')}; it is kept`);
    if (fact.multi) return conflict(`${e.node} publishes ${e.category}.${e.name} to the broker as a per-node fact; it is kept`);
    if (fact.sensitive !== sensitive) {
      return conflict(
        `${e.node} publishes ${e.category}.${e.name} to the broker as ${fact.sensitive ? 'a secret' : 'a plain fact'}; the import would make it ${sensitive ? 'a secret' : 'a plain fact'}`,
      );
    }
    let same = current[0].same;
    if (sensitive) {
      const fingerprints = await this.deps.sensitive.currentFingerprints(q, fact.id);
      same = fingerprints.get(e.node)?.equals(await this.deps.sensitive.fingerprint(e.value)) ?? false;
    }
    return same
      ? { action: 'same' }
      : conflict(`${e.node} already published another value of ${e.category}.${e.name} to the broker; it is kept`);
  }
}

interface Decision {
  action: ImportAction;
  reason?: string;
}

const conflict = (reason: string): Decision => ({ action: 'conflict', reason });

function row(e: OldExport, environment: string, sensitive: boolean, action: ImportAction, d: { reason?: string }): ImportRow {
  return {
    node: e.node,
    environment,
    category: e.category,
    name: e.name,
    ...(sensitive ? {} : { value: e.value }),
    sensitive,
    action,
    ...(d.reason ? { reason: d.reason } : {}),
    resources: e.resources,
  };
}

/** The last time PuppetDB heard from each node: what an imported node's "last seen" starts from. */
function lastSeenByNode(nodes: PuppetdbNode[]): Map<string, Date> {
  return new Map(nodes.flatMap(lastHeardOf).map((s) => [s.certname, s.at]));
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    (groups.get(k) ?? groups.set(k, []).get(k)!).push(item);
  }
  return groups;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
