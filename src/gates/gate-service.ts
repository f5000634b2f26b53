import type { Caller } from '../identity/caller';
import type { GateReport } from './gate-schemas';
import type { GateStore } from './gate-store';

/**
 * Gates as nodes report them: the module's gate functions run where the catalog compiles, so
 * the report travels in the catalog and the agent sends it, with its own certificate, when it
 * applies it; the end of a successful run prunes the gates its catalog no longer has. Names
 * only: what a gate waits for, never a value.
 */
export class GateService {
  constructor(private readonly gates: GateStore) {}

  async report(caller: Caller, name: string, report: GateReport) {
    const { changed } = await this.gates.report(caller.certname, caller.environment, name, report);
    return { name, open: report.open, changed };
  }

  prune(caller: Caller, keep: string[]): Promise<string[]> {
    return this.gates.prune(caller.certname, keep);
  }

  async mine(caller: Caller) {
    return (await this.gates.ofNode(caller.certname)).map((g) => ({
      name: g.name,
      open: g.open,
      requires: g.requires,
      missing: g.missing,
      since: g.since.toISOString(),
      opened_at: g.opened_at?.toISOString() ?? null,
    }));
  }
}
