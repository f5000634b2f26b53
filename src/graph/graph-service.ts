import type { Requirement } from '../gates/gate-schemas';
import type { ExportRow, GateRow, GraphStore } from './graph-store';

/** What a requirement looks like from the broker now: met, waited for, held by inactive nodes, or fought over. */
export type EdgeState = 'satisfied' | 'waiting' | 'stale' | 'conflict';

export interface GraphEdge {
  /** The exporter, or null when nobody exports the fact. */
  from: string | null;
  fact: string;
  /** The node whose gate needs it. */
  to: string;
  gate: string;
  state: EdgeState;
}

export interface WaitingRequirement {
  fact: string;
  min: number;
  /** Active exporters now. */
  have: number;
  /** Who could publish it: its exporters now and in its history. */
  exporters: string[];
  nobody_exports: boolean;
}

export interface Wait {
  certname: string;
  role: string | null;
  gate: string;
  since: string;
  missing: WaitingRequirement[];
  /** 0: a root cause (nobody exports what it needs, or its exporters are not waiting themselves); n: waits on nodes that wait. */
  depth: number;
  /**
   * Everything it waits for is exported now: the gate opens at the node's next run (gates are
   * evaluated by the agent). Not a cause of anything; listed after the real waits.
   */
  ready: boolean;
}

const factKey = (r: { category: string; name: string }) => `${r.category}.${r.name}`;

/**
 * The deployment picture of one environment: nodes (with their role), what each exports, the
 * gates each has (reported by its runs), who waits on what, secrets and who is behind on
 * them, and when each gate opened. Built from a handful of set queries; nothing secret in it.
 */
export class GraphService {
  /** @param freshen run before reading: writes the node contacts collected in memory (roles, last contact) */
  constructor(
    private readonly store: GraphStore,
    private readonly freshen: () => Promise<void> = async () => undefined,
  ) {}

  async graph(environment: string) {
    await this.freshen();
    const [nodes, exports, past, gates, secrets, conflicts] = await Promise.all([
      this.store.nodes(environment),
      this.store.exports(environment),
      this.store.pastExporters(environment),
      this.store.gates(environment),
      this.store.secrets(environment),
      this.store.conflicts(environment),
    ]);
    const roles = new Map(nodes.map((n) => [n.certname, n.role]));
    const exportersOf = group(exports, (e) => factKey(e));
    const pastOf = group(past, (p) => factKey(p));
    const conflicted = new Set(conflicts.map((c) => factKey(c)));
    const exportsBy = group(exports, (e) => e.exporter);
    const gatesBy = group(gates, (g) => g.certname);

    const facts = [...new Set([...exportersOf.keys(), ...gates.flatMap((g) => g.requires.map(factKey))])].sort().map((fact) => {
      const current = exportersOf.get(fact) ?? [];
      return {
        fact,
        multi: current[0]?.multi ?? false,
        sensitive: current[0]?.sensitive ?? false,
        exporters: current.map((e) => ({ certname: e.exporter, state: e.state, version: e.version })),
        past_exporters: [...new Set((pastOf.get(fact) ?? []).map((p) => p.exporter))].sort(),
        conflict: conflicted.has(fact),
      };
    });

    const edges = gates.flatMap((g) =>
      g.requires.flatMap((r) => edgesOf(g, r, exportersOf.get(factKey(r)) ?? [], conflicted.has(factKey(r)))),
    );
    const waits = this.waits(gates, exportersOf, pastOf, roles);
    return {
      environment,
      generated_at: new Date().toISOString(),
      nodes: nodes.map((n) => ({
        ...n,
        exports: (exportsBy.get(n.certname) ?? []).map(factKey),
        gates: (gatesBy.get(n.certname) ?? []).map((g) => g.name),
      })),
      facts,
      gates: gates.map((g) => ({ ...g, requires: g.requires.map(shownRequirement), missing: g.missing.map(shownRequirement) })),
      edges,
      waits,
      secrets: secrets.map((s) => ({
        fact: factKey(s),
        exporter: s.exporter,
        current_version: s.current_version,
        nodes_current: s.readers.filter((r) => r.version >= s.current_version).length,
        nodes_behind: s.readers
          .filter((r) => r.version < s.current_version)
          .map((r) => r.certname)
          .sort(),
      })),
      timeline: gates
        .filter((g) => g.opened_at)
        .map((g) => ({ certname: g.certname, gate: g.name, opened_at: g.opened_at! }))
        .sort((a, b) => a.opened_at.localeCompare(b.opened_at)),
    };
  }

  /** Closed gates with what each waits for and who could publish it, root causes first. */
  private waits(
    gates: GateRow[],
    exportersOf: Map<string, ExportRow[]>,
    pastOf: Map<string, { exporter: string }[]>,
    roles: Map<string, string | null>,
  ): Wait[] {
    const closed = gates.filter((g) => !g.open);
    const waits = closed.map((g): Wait => {
      const missing = (g.missing.length ? g.missing : g.requires).map((r): WaitingRequirement => {
        const fact = factKey(r);
        const current = exportersOf.get(fact) ?? [];
        const exporters = [...new Set([...current.map((e) => e.exporter), ...(pastOf.get(fact) ?? []).map((p) => p.exporter)])].sort();
        return {
          fact,
          min: r.min ?? 1,
          have: current.filter((e) => e.state === 'active').length,
          exporters,
          nobody_exports: exporters.length === 0,
        };
      });
      const ready = missing.every((m) => m.have >= m.min);
      return { certname: g.certname, role: roles.get(g.certname) ?? null, gate: g.name, since: g.since, missing, depth: 0, ready };
    });
    // A wait is downstream when every node that could publish what it misses waits itself;
    // its depth is one more than theirs. Iterate to a fixed point (cycles stop at the bound).
    const depthOf = new Map<string, number>();
    for (const w of waits) depthOf.set(w.certname, 0);
    // A ready wait blocks nobody: its node is about to open the gate.
    const blocking = new Set(waits.filter((w) => !w.ready).map((w) => w.certname));
    for (let round = 0; round < waits.length; round++) {
      let moved = false;
      for (const w of waits) {
        if (w.ready) continue;
        const blockers = w.missing.flatMap((m) => m.exporters);
        const downstream =
          !w.missing.some((m) => m.nobody_exports) && blockers.length > 0 && blockers.every((b) => blocking.has(b) && b !== w.certname);
        const depth = downstream ? 1 + Math.min(...blockers.map((b) => depthOf.get(b) ?? 0)) : 0;
        if (depth !== w.depth && depth <= waits.length) {
          w.depth = depth;
          depthOf.set(w.certname, Math.max(depthOf.get(w.certname) ?? 0, depth));
          moved = true;
        }
      }
      if (!moved) break;
    }
    return waits.sort(
      (a, b) =>
        Number(a.ready) - Number(b.ready) || a.depth - b.depth || a.since.localeCompare(b.since) || a.certname.localeCompare(b.certname),
    );
  }
}

function edgesOf(gate: GateRow, r: Requirement, exporters: ExportRow[], conflict: boolean): GraphEdge[] {
  const fact = factKey(r);
  const active = exporters.filter((e) => e.state === 'active');
  const state: EdgeState = conflict
    ? 'conflict'
    : active.length >= (r.min ?? 1)
      ? 'satisfied'
      : exporters.length > active.length
        ? 'stale'
        : 'waiting';
  if (!exporters.length) return [{ from: null, fact, to: gate.certname, gate: gate.name, state }];
  return exporters.map((e) => ({ from: e.exporter, fact, to: gate.certname, gate: gate.name, state }));
}

const shownRequirement = (r: Requirement) => ({ fact: factKey(r), min: r.min ?? 1 });

function group<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
}
