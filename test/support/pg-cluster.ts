import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/** Debian's PostgreSQL 15 binaries; PG_BIN overrides. */
export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PgClusterOptions {
  /** Names the temp folder, so a leftover one says which suite made it. */
  label?: string;
  /** Extra postgresql.conf settings (log_statement, auto_explain, ...). */
  settings?: Record<string, string | number | boolean>;
}

/** Clusters still running when the process exits are stopped and removed then (mocha --exit, a crash). */
const running = new Set<PgCluster>();
process.once('exit', () => {
  for (const c of running) c.destroySync();
});

/**
 * A PostgreSQL cluster of the test's own, on a free port in a temp folder, so a test may
 * kill, stop, terminate backends or turn on statement logging without touching the
 * machine's shared server. initdb refuses to run as root: as root, the cluster runs as the
 * `postgres` user (runuser), and its folder is handed to that user.
 */
export class PgCluster {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  /** The server's log (stderr of the postmaster). */
  get logFile(): string {
    return path.join(this.dir, 'server.log');
  }

  /** initdb, configure, start; the caller must `destroy()` it (an exit hook is the fallback). */
  static async create(options: PgClusterOptions = {}): Promise<PgCluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `exportfact-pg-${options.label ?? 'cluster'}-`));
    fs.chmodSync(dir, 0o755);
    if (asRoot()) execFileSync('chown', ['postgres:', dir]);
    const port = await freePort();
    const cluster = new PgCluster(dir, port);
    running.add(cluster);
    try {
      cluster.run('initdb', ['-D', cluster.dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
      const settings: Record<string, string | number | boolean> = {
        port,
        listen_addresses: '127.0.0.1',
        unix_socket_directories: dir,
        fsync: false, // a test cluster: durability against power loss is not what is tested
        max_connections: 100,
        ...options.settings,
      };
      const conf = Object.entries(settings).map(([k, v]) => `${k} = ${typeof v === 'string' ? `'${v.replace(/'/g, "''")}'` : v}`);
      fs.appendFileSync(path.join(cluster.dataDir, 'postgresql.conf'), `\n# exportfact test cluster\n${conf.join('\n')}\n`);
      await cluster.start();
      return cluster;
    } catch (err) {
      cluster.destroySync();
      throw err;
    }
  }

  /** A connection URL for a database of this cluster. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    this.run('pg_ctl', ['start', '-w', '-t', '60', '-D', this.dataDir, '-l', this.logFile]);
  }

  /** A clean ('fast') or abrupt ('immediate') shutdown through pg_ctl. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    this.run('pg_ctl', ['stop', '-w', '-t', '60', '-m', mode, '-D', this.dataDir]);
  }

  /**
   * SIGKILL to the postmaster, as a crash would. Its backends exit when they notice; this waits
   * for them, since a new postmaster refuses to start while they still hold the shared memory.
   * `start()` then recovers the cluster.
   */
  async kill(): Promise<void> {
    const pid = this.postmasterPid();
    if (pid === undefined || !alive(pid)) return;
    const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .map(Number);
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 300 && [pid, ...children].some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  }

  postmasterPid(): number | undefined {
    const file = path.join(this.dataDir, 'postmaster.pid');
    if (!fs.existsSync(file)) return undefined;
    return Number(fs.readFileSync(file, 'utf8').split('\n')[0]);
  }

  isRunning(): boolean {
    const pid = this.postmasterPid();
    return pid !== undefined && alive(pid);
  }

  /** Runs fn with a superuser connection to one of the cluster's databases. */
  async withClient<T>(fn: (client: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
    const client = new pg.Client({ connectionString: this.url(database), application_name: 'exportfact-test-admin' });
    client.on('error', () => undefined); // this client's own server may be killed by the test
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Creates a database and returns its URL. */
  async createDatabase(name: string): Promise<string> {
    await this.withClient((c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
    return this.url(name);
  }

  /** pg_terminate_backend on every backend of `database` (optionally of one application_name); returns how many. */
  async terminateBackends(database: string, applicationName?: string): Promise<number> {
    return this.withClient(async (c) => {
      const { rows } = await c.query<{ n: number }>(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
          WHERE datname = $1 AND pid <> pg_backend_pid() AND ($2::text IS NULL OR application_name = $2)`,
        [database, applicationName ?? null],
      );
      return rows[0].n;
    });
  }

  /** The backends' process ids, by database and optionally application_name (to signal them). */
  async backendPids(database: string, applicationName?: string): Promise<number[]> {
    return this.withClient(async (c) => {
      const { rows } = await c.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND ($2::text IS NULL OR application_name = $2)',
        [database, applicationName ?? null],
      );
      return rows.map((r) => r.pid);
    });
  }

  /** The server log so far. */
  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }

  /** Stops the server (immediately: it is thrown away) and removes its folder. */
  async destroy(): Promise<void> {
    this.destroySync();
  }

  destroySync(): void {
    if (!running.delete(this)) return;
    if (this.isRunning()) {
      spawnSync(...this.command('pg_ctl', ['stop', '-w', '-t', '60', '-m', 'immediate', '-D', this.dataDir]), { stdio: 'ignore' });
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private command(bin: string, args: string[]): [string, string[]] {
    const file = path.join(PG_BIN, bin);
    return asRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
  }

  private run(bin: string, args: string[]): void {
    const [file, argv] = this.command(bin, args);
    const r = spawnSync(file, argv, { encoding: 'utf8', cwd: this.dir });
    if (r.status !== 0) {
      const log = bin === 'pg_ctl' ? `\n${this.log().slice(-2000)}` : '';
      throw new Error(`${bin} ${args[0]} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}${log}`);
    }
  }
}

function asRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** A port nothing listens on right now (the kernel's choice). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
