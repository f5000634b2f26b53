/**
 * PuppetDB harness: a real PuppetDB (scripts/puppetdb.sh, Debian's package, its own database on
 * the machine's PostgreSQL), a puppetserver with storeconfigs on it (scripts/puppetserver.sh
 * --puppetdb), brokers built from this repository as processes, the CLI, and a sampler of the
 * suite's memory.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { httpsJson, PuppetServer, sslServeArgs, type Tls, tlsOf } from '../puppet/agent-support';
import { freePort, REPO } from '../puppet/support';
import { runProcess as run, startListening, stopProcess } from '../support/process';

export { type Tls, tlsOf };

const PUPPETDB_SCRIPT = path.join(REPO, 'scripts', 'puppetdb.sh');
const PUPPETSERVER_SCRIPT = path.join(REPO, 'scripts', 'puppetserver.sh');
export const CLI = path.join(REPO, 'dist', 'src', 'cli', 'main.js');
export const OLD_MODULE = path.join(REPO, 'test', 'puppetdb', 'fixtures', 'exportfact-0.1.1');

/** Lines `name=value` a script printed, as a record. */
function infoLines(stdout: string): Record<string, string> {
  const info: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^(\w+)=(.*)$/.exec(line);
    if (m) info[m[1]] = m[2];
  }
  return info;
}

/** A puppetserver whose storeconfigs go to PuppetDB (exported resources, facts, catalogs). */
export class StoreconfigsServer extends PuppetServer {
  constructor(
    dir: string,
    port: number,
    readonly puppetdbUrl: string,
  ) {
    super(dir, port);
  }

  private async runScript(cmd: 'setup' | 'start'): Promise<void> {
    const r = await run('bash', [PUPPETSERVER_SCRIPT, cmd, this.dir, '--port', String(this.port), '--puppetdb', this.puppetdbUrl]);
    if (r.code !== 0) throw new Error(`scripts/puppetserver.sh ${cmd} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
    Object.assign(this.info, infoLines(r.stdout));
  }

  /** Installs puppetserver if missing and creates its CA (PuppetDB needs a certificate before the server starts). */
  setup(): Promise<void> {
    return this.runScript('setup');
  }

  override start(): Promise<void> {
    return this.runScript('start');
  }

  get pid(): number | undefined {
    return this.info.pid ? Number(this.info.pid) : undefined;
  }

  /** `puppet node deactivate` on the server, as an admin retiring a machine does (through PuppetDB's command API). */
  async deactivate(certname: string): Promise<string> {
    const r = await run('puppet', ['node', 'deactivate', certname, '--confdir', this.confdir]);
    if (r.code !== 0) throw new Error(`puppet node deactivate ${certname} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
    return r.stdout + r.stderr;
  }
}

/** A PuppetDB on its own database, TLS only, with the server's `localhost` certificate and a certificate-allowlist. */
export class PuppetDb {
  info: Record<string, string> = {};
  constructor(
    readonly dir: string,
    readonly port: number,
    readonly database: string,
  ) {}

  get url(): string {
    return `https://localhost:${this.port}`;
  }

  get pid(): number | undefined {
    return this.info.pid ? Number(this.info.pid) : undefined;
  }

  /** Installs PuppetDB if missing, creates its database, starts it, waits until it answers. */
  async start(ssldir: string, allow: string[]): Promise<void> {
    const r = await run('bash', [
      PUPPETDB_SCRIPT,
      'start',
      this.dir,
      '--ssldir',
      ssldir,
      '--port',
      String(this.port),
      '--database',
      this.database,
      '--allow',
      allow.join(','),
    ]);
    if (r.code !== 0) throw new Error(`scripts/puppetdb.sh start failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
    this.info = infoLines(r.stdout);
  }

  /** Stops the JVM; `drop` also drops its database. */
  async stop(drop = false): Promise<void> {
    const r = await run('bash', [PUPPETDB_SCRIPT, 'stop', this.dir, ...(drop ? ['--drop-database'] : [])]);
    if (r.code !== 0) throw new Error(`scripts/puppetdb.sh stop failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
  }
}

/** A query of PuppetDB's API over TLS (as the broker asks it, but from the test). */
export async function pdbQuery<T>(db: PuppetDb, tls: Tls, endpoint: string, query: unknown): Promise<T> {
  const r = await httpsJson(`${db.url}${endpoint}?query=${encodeURIComponent(JSON.stringify(query))}`, tls);
  if (r.status !== 200) throw new Error(`PuppetDB ${endpoint}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as T;
}

/**
 * A `replace facts` command to PuppetDB's command API, as puppetserver sends at every agent run:
 * PuppetDB reactivates a deactivated node when it receives one.
 */
export async function replaceFacts(db: PuppetDb, tls: Tls, certname: string): Promise<void> {
  const now = new Date().toISOString();
  const body = {
    certname,
    environment: 'production',
    values: { test_fact: 'reactivated' },
    producer_timestamp: now,
    producer: 'localhost',
  };
  const url = `${db.url}/pdb/cmd/v1?command=replace_facts&version=5&certname=${encodeURIComponent(certname)}&producer-timestamp=${encodeURIComponent(now)}`;
  const r = await httpsJson(url, tls, { method: 'POST', body });
  if (r.status !== 200) throw new Error(`PuppetDB replace facts: HTTP ${r.status} ${JSON.stringify(r.body)}`);
}

/** A broker built from this repository, as `exportfact serve` with a Puppet ssldir's certificate; `localhost` is its admin. */
export class PdbBroker {
  private child?: ChildProcess;
  log = '';
  adminPort = 0;

  private constructor(
    readonly certname: string,
    readonly ssldir: string,
    readonly port: number,
    readonly workDir: string,
  ) {}

  static async start(opts: { ssldir: string; certname: string; workDir: string; args: string[] }): Promise<PdbBroker> {
    fs.mkdirSync(opts.workDir, { recursive: true });
    const b = new PdbBroker(opts.certname, opts.ssldir, await freePort(), opts.workDir);
    b.adminPort = await freePort();
    const ssl = opts.ssldir;
    const args = [
      CLI,
      'serve',
      ...sslServeArgs(ssl, opts.certname),
      '--listen',
      `127.0.0.1:${b.port}`,
      '--admin-listen',
      `127.0.0.1:${b.adminPort}`,
      '--admin-certname',
      'localhost',
      '--data-dir',
      path.join(opts.workDir, 'data'),
      '--log-format',
      'json',
      ...opts.args,
    ];
    b.child = await startListening(args, { cwd: opts.workDir, ports: [b.port, b.adminPort], sink: b });
    return b;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Its certificate names `localhost` (the server's) or carries localhost as an alternative name. */
  get url(): string {
    return `https://localhost:${this.port}`;
  }

  get adminUrl(): string {
    return `https://localhost:${this.adminPort}`;
  }

  /** The admin CLI options: the server's `localhost` certificate is the admin's. */
  adminArgs(): string[] {
    return [
      '--admin-url',
      this.adminUrl,
      '--admin-ca',
      path.join(this.ssldir, 'certs', 'ca.pem'),
      '--admin-cert',
      path.join(this.ssldir, 'certs', 'localhost.pem'),
      '--admin-key',
      path.join(this.ssldir, 'private_keys', 'localhost.pem'),
    ];
  }

  /** `exportfact ARGS` with the admin options appended. */
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return run(process.execPath, [CLI, ...args, ...this.adminArgs()]);
  }

  /** GET on the admin API as `localhost`. */
  // biome-ignore lint/suspicious/noExplicitAny: JSON of the admin API
  async admin(pathAndQuery: string): Promise<any> {
    const r = await httpsJson(`${this.adminUrl}/admin/v1${pathAndQuery}`, tlsOf(this.ssldir, 'localhost'));
    if (r.status !== 200) throw new Error(`GET /admin/v1${pathAndQuery}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  stop(): Promise<void> {
    return stopProcess(this.child);
  }
}

/**
 * The suite's memory: every second, the resident memory of this process and its descendants
 * (brokers, puppet agents) plus the given JVMs and theirs, summed; the peak is kept.
 */
export class MemorySampler {
  peakBytes = 0;
  peakAt = '';
  private readonly timer: NodeJS.Timeout;
  private readonly roots = new Set<number>([process.pid]);

  constructor(private readonly phase: () => string) {
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }

  track(pid: number | undefined): void {
    if (pid) this.roots.add(pid);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  sample(): number {
    const parents = new Map<number, number>();
    const rss = new Map<number, number>();
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        parents.set(Number(entry), Number(fields[1]));
        rss.set(Number(entry), Number(fields[21]) * 4096); // rss in pages (4 KiB here)
      } catch {
        // the process ended meanwhile
      }
    }
    let total = 0;
    for (const [pid, bytes] of rss) {
      for (let p: number | undefined = pid; p && p > 1; p = parents.get(p)) {
        if (this.roots.has(p)) {
          total += bytes;
          break;
        }
      }
    }
    if (total > this.peakBytes) {
      this.peakBytes = total;
      this.peakAt = this.phase();
    }
    return total;
  }
}

/**
 * A certificate from the Puppet CA (its intermediate signs, as for every node) with alternative
 * names of our choosing: puppetserver refuses alternative names in requests unless told
 * otherwise, and a broker's admin client checks the name it connects to (`localhost`).
 */
export async function issueCertificate(server: PuppetServer, certname: string, altNames: string[]): Promise<void> {
  const cadir = server.info.cadir;
  const key = path.join(server.ssldir, 'private_keys', `${certname}.pem`);
  const cert = path.join(server.ssldir, 'certs', `${certname}.pem`);
  const csr = path.join(server.dir, `${certname}.csr`);
  const ext = path.join(server.dir, `${certname}.ext`);
  fs.writeFileSync(
    ext,
    [
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = critical, serverAuth, clientAuth',
      `subjectAltName = ${[certname, ...altNames].map((n) => `DNS:${n}`).join(', ')}`,
      '',
    ].join('\n'),
  );
  const steps: string[][] = [
    ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${certname}`, '-keyout', key, '-out', csr],
    ['x509', '-req', '-in', csr, '-CA', path.join(cadir, 'ca_crt.pem'), '-CAkey', path.join(cadir, 'ca_key.pem')].concat([
      '-set_serial',
      `0x${Date.now().toString(16)}ff`,
      '-days',
      '30',
      '-sha256',
      '-extfile',
      ext,
      '-out',
      cert,
    ]),
  ];
  for (const args of steps) {
    const r = await run('openssl', args);
    if (r.code !== 0) throw new Error(`openssl ${args[0]} failed:\n${r.stderr}`);
  }
}

/**
 * The old module needs puppetlabs-stdlib (ensure_resource, file_line) and, on Puppet 6 and
 * later, puppetlabs-augeas_core (the augeas type) on the server's module path: Debian's
 * packages, installed when missing (CI installs them in .ci/run).
 */
export async function ensureOldModuleDependencies(): Promise<void> {
  const missing = [
    ['stdlib', 'puppet-module-puppetlabs-stdlib'],
    ['augeas_core', 'puppet-module-puppetlabs-augeas-core'],
  ].filter(([mod]) => !fs.existsSync(path.join('/usr/share/puppet/modules', mod, 'metadata.json')));
  if (!missing.length) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-qq'], { env });
  const r = await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing.map(([, pkg]) => pkg)], { env });
  if (r.code !== 0) throw new Error(`apt-get install ${missing.map(([, p]) => p).join(' ')} failed:\n${r.stderr}`);
}

/**
 * Writes the old module 0.1.1 into a module path: its manifests as published (see
 * fixtures/exportfact-0.1.1/PROVENANCE.md), with `/etc/facter` moved into the test's folder.
 */
export function writeOldModule(modules: string, facterdir: string): void {
  const dest = path.join(modules, 'exportfact');
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(path.join(dest, 'manifests'), { recursive: true });
  fs.copyFileSync(path.join(OLD_MODULE, 'Modulefile'), path.join(dest, 'Modulefile'));
  for (const file of fs.readdirSync(path.join(OLD_MODULE, 'manifests'))) {
    const text = fs.readFileSync(path.join(OLD_MODULE, 'manifests', file), 'utf8');
    fs.writeFileSync(path.join(dest, 'manifests', file), text.replaceAll("'/etc/facter'", `'${facterdir}'`));
  }
}
