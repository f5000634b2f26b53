// Server-side cost, read from /proc: CPU seconds of a process (all its threads, user +
// system) and its resident memory; plus the CPU of the PostgreSQL backends serving one
// database, which are separate processes on this machine (the bench runs as root here).
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import pg from 'pg';

const CLK_TCK = Number(execSync('getconf CLK_TCK').toString().trim()) || 100;

/** utime + stime of a process, in seconds; undefined once it is gone. */
export function processCpu(pid: number): number | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // fields 14 and 15 of the man page
}

/** A line of /proc/<pid>/status in MB (VmRSS, VmHWM, …). */
export function memoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * CPU of the backends of one database. Backends come and go (pg.Pool closes clients idle
 * for 10 s), so while a phase runs the set is polled: a backend born during the phase counts
 * from zero, one that exits counts up to its last sample (an exiting backend is idle).
 */
export class PgBackends {
  private readonly admin: pg.Client;
  private readonly seen = new Map<number, { start: number; last: number }>();
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;

  constructor(
    adminUrl: string,
    private readonly database: string,
  ) {
    this.admin = new pg.Client({ connectionString: adminUrl, application_name: 'exportfact-bench-meter' });
  }

  async connect(): Promise<void> {
    await this.admin.connect();
  }

  private async pids(): Promise<number[]> {
    const { rows } = await this.admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [this.database]);
    return rows.map((r) => r.pid);
  }

  private async poll(first: boolean): Promise<void> {
    for (const pid of await this.pids()) {
      const cpu = processCpu(pid);
      if (cpu === undefined) continue;
      const known = this.seen.get(pid);
      if (known) known.last = cpu;
      else this.seen.set(pid, { start: first ? cpu : 0, last: cpu });
    }
  }

  async start(intervalMs = 100): Promise<void> {
    this.seen.clear();
    await this.poll(true);
    const tick = () => {
      this.polling = this.poll(false).catch(() => undefined);
      this.polling.then(() => {
        if (this.timer) this.timer = setTimeout(tick, intervalMs);
      });
    };
    this.timer = setTimeout(tick, intervalMs);
  }

  /** CPU seconds the database's backends used since start(). */
  async stop(): Promise<number> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling;
    await this.poll(false);
    let total = 0;
    for (const { start, last } of this.seen.values()) total += last - start;
    return total;
  }

  close(): Promise<void> {
    return this.admin.end();
  }
}

/** Measures the server side of one phase: the server process, plus PostgreSQL if given. */
export class ServerCpu {
  constructor(
    private readonly pid: number,
    private readonly backends?: PgBackends,
  ) {}

  async measure<T>(fn: () => Promise<T>): Promise<{ result: T; process: number; postgres: number; total: number }> {
    await this.backends?.start();
    const before = processCpu(this.pid)!;
    const result = await fn();
    const processSeconds = processCpu(this.pid)! - before;
    const postgres = (await this.backends?.stop()) ?? 0;
    return { result, process: processSeconds, postgres, total: processSeconds + postgres };
  }
}
