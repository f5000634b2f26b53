/**
 * Integration harness for the Puppet module: a real broker (child process of the built CLI),
 * a dev CA with one Puppet-style ssldir per node, and real `puppet apply` runs, each node with
 * its own confdir, vardir, ssldir, Hiera data and certificate. At most two Puppet processes
 * run at once (the machines have two cores).
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { canConnect, runProcess as run, startListening, stopProcess } from '../support/process';
import { removeTempDir, tempDir as sharedTempDir } from '../support/temp';
import { sleep } from '../support/wait';

export { removeTempDir } from '../support/temp';
export { canConnect, sleep };

export const REPO = path.resolve(__dirname, '..', '..', '..');
export const MODULE_DIR = path.join(REPO, 'puppet-module');
export const EXAMPLES_DIR = path.join(MODULE_DIR, 'examples');
const CLI = path.join(REPO, 'dist', 'src', 'cli', 'main.js');
const FIXTURES = path.join(REPO, 'test', 'puppet', 'fixtures');

/** A test's folder (removed at exit at the latest; EXPORTFACT_KEEP_TMP=1 keeps it). */
export function tempDir(label: string): string {
  return sharedTempDir(`puppet-${label}`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Two permits: never more than two Puppet processes at once. */
class Semaphore {
  private waiting: (() => void)[] = [];
  constructor(private permits: number) {}
  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.permits > 0) this.permits--;
    else await new Promise<void>((r) => this.waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.permits++;
    }
  }
}
const puppetSlots = new Semaphore(2);

/**
 * A Puppet to run nodes with: the machine's own (Debian 12: Puppet 7), or Puppet 8 from a
 * Debian 13 chroot (scripts/puppet8-chroot.sh builds it once and caches it;
 * scripts/puppet8.sh runs `puppet` in it with the same paths, see there).
 */
export interface PuppetRuntime {
  /** Shown in the suite's title, e.g. "Puppet 8". */
  readonly label: string;
  /** The `puppet` command. */
  readonly command: string;
  /** Makes the runtime ready (may take minutes the first time on a machine). */
  prepare(): Promise<void>;
}

export const HOST_PUPPET: PuppetRuntime = {
  label: 'Puppet 7',
  command: 'puppet',
  prepare: async () => {},
};

export const PUPPET8: PuppetRuntime = {
  label: 'Puppet 8',
  command: path.join(REPO, 'scripts', 'puppet8.sh'),
  prepare: async () => {
    const r = await run('bash', [path.join(REPO, 'scripts', 'puppet8-chroot.sh')]);
    if (r.code !== 0) throw new Error(`the Puppet 8 chroot could not be built (scripts/puppet8-chroot.sh):\n${r.stderr}`);
  },
};

/** The Puppets the module's main suites run on: both, unless EXPORTFACT_SKIP_PUPPET8=1. */
export function puppetRuntimes(): PuppetRuntime[] {
  return process.env.EXPORTFACT_SKIP_PUPPET8 === '1' ? [HOST_PUPPET] : [HOST_PUPPET, PUPPET8];
}

/** The dev CA of one test file, with an ssldir per node. */
export class DevCa {
  constructor(readonly dir: string) {}
  static async init(dir: string, nodes: string[]): Promise<DevCa> {
    const args = [CLI, 'ca', 'init', '--dir', dir, ...nodes.flatMap((n) => ['--node', n])];
    const r = await run(process.execPath, args);
    if (r.code !== 0) throw new Error(`ca init failed: ${r.stderr}${r.stdout}`);
    return new DevCa(dir);
  }
  ssldir(node: string): string {
    return path.join(this.dir, 'nodes', node);
  }
}

/** A request as the broker logs it (one JSON line per request, never a body). */
export interface LoggedRequest {
  certname?: string;
  method: string;
  url: string;
  status: number;
}

/** How a test wants its broker started, beyond the defaults (embedded store, random admin port). */
export interface BrokerOptions {
  /** An access policy (YAML, docs/policy.md), written beside the data folder. */
  policy?: string;
  /** PostgreSQL instead of the embedded store (`--database-url`); the data folder is then only the working folder. */
  databaseUrl?: string;
  /** The admin listener's port (default: any free one, unknown to the test). */
  adminPort?: number;
  /** Certnames whose certificates are admins (`--admin-certname`). */
  adminCertnames?: string[];
  /** The keyring's JSON, written as keyring.json into the working folder (brokers sharing a database share their keys). */
  keyring?: string;
}

/**
 * The real broker, as a child process on a free port with its own data folder. Its working
 * folder (keyring.json, admin-token.key, audit-signing.key) is the data folder's parent.
 */
export class BrokerProcess {
  private child?: ChildProcess;
  log = '';
  constructor(
    readonly ca: DevCa,
    readonly port: number,
    readonly dataDir: string,
    readonly options: BrokerOptions = {},
  ) {}

  /** @param policy an access policy (YAML, docs/policy.md), written beside the data folder */
  static async start(ca: DevCa, dataDir: string, policy?: string, options: BrokerOptions = {}): Promise<BrokerProcess> {
    const opts = { ...options, policy: policy ?? options.policy };
    fs.mkdirSync(path.dirname(path.resolve(dataDir)), { recursive: true });
    if (opts.policy !== undefined) fs.writeFileSync(path.join(path.dirname(dataDir), 'policy.yaml'), opts.policy);
    if (opts.keyring !== undefined) fs.writeFileSync(path.join(path.dirname(dataDir), 'keyring.json'), opts.keyring, { mode: 0o600 });
    const b = new BrokerProcess(ca, await freePort(), dataDir, opts);
    await b.start();
    return b;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** The admin listener, when the test chose its port. */
  get adminUrl(): string {
    if (!this.options.adminPort) throw new Error('this broker was started without a known admin port (BrokerOptions.adminPort)');
    return `https://127.0.0.1:${this.options.adminPort}`;
  }

  /** The folder the broker runs in: its keys (keyring.json, admin-token.key, audit-signing.key) are there. */
  get workDir(): string {
    return path.dirname(path.resolve(this.dataDir));
  }

  /** The process id while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const d = this.ca.dir;
    const o = this.options;
    const args = [
      CLI,
      'serve',
      '--ca',
      path.join(d, 'ca.pem'),
      '--crl',
      path.join(d, 'crl.pem'),
      '--cert',
      path.join(d, 'server.pem'),
      '--key',
      path.join(d, 'server_key.pem'),
      '--listen',
      `127.0.0.1:${this.port}`,
      '--admin-listen',
      `127.0.0.1:${o.adminPort ?? 0}`,
      ...(o.databaseUrl ? ['--database-url', o.databaseUrl] : ['--data-dir', this.dataDir]),
      ...(o.adminCertnames?.length ? ['--admin-certname', o.adminCertnames.join(',')] : []),
    ];
    const policy = path.join(this.workDir, 'policy.yaml');
    if (fs.existsSync(policy)) args.push('--policy', policy);
    // The broker keeps keyring.json, admin-token.key and audit-signing.key in its working
    // directory: beside the data folder, so a restart finds them and the repository stays clean.
    const ports = o.adminPort ? [this.port, o.adminPort] : [this.port];
    this.child = await startListening(args, { cwd: this.workDir, ports, sink: this });
  }

  async stop(): Promise<void> {
    await stopProcess(this.child);
    this.child = undefined;
  }

  /** `kill -9`: no graceful stop, nothing flushed; resolves once the process is gone. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  /**
   * `kill -9` the moment its log shows a request that satisfies `match` (the line is written
   * when the response has been sent), e.g. in the middle of an agent's run. Resolves with
   * that request once the process is gone.
   */
  killOn(match: (r: LoggedRequest) => boolean): Promise<LoggedRequest> {
    const child = this.child;
    if (!child) return Promise.reject(new Error('the broker is not running'));
    return new Promise((resolve) => {
      let pending = '';
      const onData = (chunk: Buffer) => {
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        const hit = lines
          .filter((l) => l.startsWith('{') && l.includes('"msg":"request"'))
          .map((l) => JSON.parse(l) as LoggedRequest)
          .find(match);
        if (!hit) return;
        child.stdout!.off('data', onData);
        child.once('exit', () => resolve(hit));
        child.kill('SIGKILL');
        this.child = undefined;
      };
      child.stdout!.on('data', onData);
    });
  }

  /** The request lines of its log (JSON), e.g. to see which node it served. */
  requests(): LoggedRequest[] {
    return this.log
      .split('\n')
      .filter((l) => l.startsWith('{') && l.includes('"msg":"request"'))
      .map((l) => JSON.parse(l));
  }

  /** Resolves once a request line of its log (from the `since`th on) satisfies `match` (polling its log). */
  async waitForRequest(
    match: (r: LoggedRequest) => boolean,
    { since = 0, timeoutMs = 60000 }: { since?: number; timeoutMs?: number } = {},
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.requests().slice(since).some(match)) return;
      await sleep(50);
    }
    throw new Error(`no such request within ${timeoutMs} ms in the log of the broker on ${this.port}`);
  }

  /** An admin token signed with this broker's admin-token.key (`exportfact admin token`). */
  async adminToken(scopes: string[], subject = 'test'): Promise<string> {
    const r = await runCli([
      'admin',
      'token',
      '--scope',
      scopes.join(','),
      '--subject',
      subject,
      '--ttl',
      '30m',
      '--signing-key',
      path.join(this.workDir, 'admin-token.key'),
    ]);
    if (r.code !== 0) throw new Error(`admin token failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** Runs an admin command of the CLI (`nodes …`, `waits`, `graph …`) against this broker's admin listener. */
  adminCli(args: string[], credentials: { token?: string; certname?: string }): Promise<{ code: number; stdout: string; stderr: string }> {
    const auth = credentials.token
      ? ['--token', credentials.token]
      : [
          '--admin-cert',
          path.join(this.ca.ssldir(credentials.certname!), 'certs', `${credentials.certname}.pem`),
          '--admin-key',
          path.join(this.ca.ssldir(credentials.certname!), 'private_keys', `${credentials.certname}.pem`),
        ];
    return runCli([...args, '--admin-url', this.adminUrl, '--admin-ca', path.join(this.ca.dir, 'ca.pem'), ...auth]);
  }
}

/** The built `exportfact` command (dist/), run as a process. */
export function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [CLI, ...args], opts);
}

export interface RunResult {
  node: string;
  code: number;
  output: string;
  /** Lines of the run without Facter's harmless noise. */
  lines: string[];
}

/** One simulated node: confdir, vardir, codedir, Hiera data, ssldir from the dev CA. */
export class PuppetNode {
  readonly dir: string;
  constructor(
    readonly name: string,
    readonly root: string,
    readonly ca: DevCa,
    readonly modulepath: string,
    readonly puppet: PuppetRuntime = HOST_PUPPET,
  ) {
    this.dir = path.join(root, 'nodes', name);
  }

  get confdir(): string {
    return path.join(this.dir, 'conf');
  }
  get vardir(): string {
    return path.join(this.dir, 'var');
  }
  get cacheFile(): string {
    return path.join(this.vardir, 'exportfact', 'view.json');
  }
  /** Where the "old module" wrote external facts on this node (Facter reads it: pluginfactdest). */
  get factsd(): string {
    return path.join(this.dir, 'facts.d');
  }
  /** Where the Kickstack example "installs" its services on this node. */
  get serviceRoot(): string {
    return path.join(this.dir, 'srv');
  }

  /** @param settings more Puppet settings for the node's puppet.conf ([main]) */
  setup(
    brokerUrls: string | string[],
    hiera: Record<string, unknown> = {},
    extraConfig: Record<string, unknown> = {},
    settings: Record<string, string> = {},
  ): void {
    for (const d of [this.confdir, this.vardir, path.join(this.dir, 'hieradata'), path.join(this.dir, 'code')])
      fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(
      path.join(this.confdir, 'puppet.conf'),
      [
        '[main]',
        `certname = ${this.name}`,
        `ssldir = ${this.ca.ssldir(this.name)}`,
        `vardir = ${this.vardir}`,
        `logdir = ${path.join(this.vardir, 'log')}`,
        `rundir = ${path.join(this.vardir, 'run')}`,
        // As root Puppet writes last_run_summary.yaml to the shared /var/cache/puppet/public otherwise.
        `publicdir = ${path.join(this.vardir, 'public')}`,
        `codedir = ${path.join(this.dir, 'code')}`,
        `hiera_config = ${path.join(this.confdir, 'hiera.yaml')}`,
        `pluginfactdest = ${this.factsd}`,
        'server = localhost',
        ...Object.entries(settings).map(([k, v]) => `${k} = ${v}`),
        '',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(this.confdir, 'hiera.yaml'),
      [
        '---',
        'version: 5',
        'defaults:',
        `  datadir: ${path.join(this.dir, 'hieradata')}`,
        '  data_hash: yaml_data',
        'hierarchy:',
        '  - name: common',
        '    path: common.yaml',
        '',
      ].join('\n'),
    );
    this.setHiera({ 'kickstack::root': this.serviceRoot, 'exportfact::old_factsdir': this.factsd, ...hiera });
    this.setBroker(brokerUrls, extraConfig);
  }

  setHiera(data: Record<string, unknown>): void {
    fs.writeFileSync(
      path.join(this.dir, 'hieradata', 'common.yaml'),
      '---\n' +
        Object.entries(data)
          .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
          .join('\n') +
        '\n',
    );
  }

  updateHiera(data: Record<string, unknown>): void {
    const file = path.join(this.dir, 'hieradata', 'common.yaml');
    const current: Record<string, unknown> = {};
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const m = /^([^:]+(?:::[^:]+)*): (.*)$/.exec(line);
      if (m) current[m[1]] = JSON.parse(m[2]);
    }
    this.setHiera({ ...current, ...data });
  }

  setBroker(urls: string | string[], extra: Record<string, unknown> = {}): void {
    const settings = { url: urls, connect_timeout: 2, read_timeout: 5, ...extra };
    fs.writeFileSync(
      path.join(this.confdir, 'exportfact.yaml'),
      Object.entries(settings)
        .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
        .join('\n') + '\n',
    );
  }

  /** `puppet apply` of a manifest file or of code (-e). */
  async apply(manifest: { file?: string; code?: string }, flags: string[] = []): Promise<RunResult> {
    const args = ['apply', '--confdir', this.confdir, '--modulepath', this.modulepath, '--detailed-exitcodes', '--color=false', ...flags];
    if (manifest.code !== undefined) args.push('-e', manifest.code);
    else args.push(manifest.file!);
    const r = await this.puppetCommand(args);
    const output = r.stdout + r.stderr;
    const lines = output.split('\n').filter((l) => l.trim() !== '' && !l.includes('/proc/1/environ'));
    if (process.env.EXPORTFACT_TEST_VERBOSE) console.log(`--- ${this.name} (exit ${r.code})\n${lines.join('\n')}`);
    return { node: this.name, code: r.code, output: lines.join('\n'), lines };
  }

  /** Runs this node's `puppet` with the test fixtures' Facter settings, two at a time. */
  puppetCommand(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = {
      ...process.env,
      RUBYOPT: `-r${path.join(FIXTURES, 'facter-preload.rb')}`,
      EXPORTFACT_TEST_FACTER_CONF: path.join(FIXTURES, 'facter.conf'),
    };
    return puppetSlots.use(() => run(this.puppet.command, args, { env, cwd: this.dir }));
  }

  lastReport(): string {
    return fs.readFileSync(path.join(this.vardir, 'state', 'last_run_report.yaml'), 'utf8');
  }
}

/** A module path with the module under its name (`exportfact`), plus the examples. */
export function makeModulepath(root: string): string {
  const dir = path.join(root, 'modules');
  fs.mkdirSync(dir, { recursive: true });
  fs.symlinkSync(MODULE_DIR, path.join(dir, 'exportfact'));
  return `${dir}${path.delimiter}${EXAMPLES_DIR}`;
}

/** Runs the nodes in order, two at a time (a pair runs concurrently). */
export async function runInPairs(
  nodes: PuppetNode[],
  manifest: { file?: string; code?: string },
  flags: string[] = [],
): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (let i = 0; i < nodes.length; i += 2) {
    const pair = nodes.slice(i, i + 2);
    results.push(...(await Promise.all(pair.map((n) => n.apply(manifest, flags)))));
  }
  return results;
}

/**
 * Runs groups one after the other; the nodes of a group run concurrently (two at a time).
 * Put in one group only nodes that do not depend on each other, or the order is a race.
 */
export async function runGroups(
  groups: PuppetNode[][],
  manifest: { file?: string; code?: string },
  flags: string[] = [],
): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (const group of groups) results.push(...(await runInPairs(group, manifest, flags)));
  return results;
}

/** A failure to read when an assertion on a run fails. */
export function explain(r: RunResult): string {
  return `${r.node} exit ${r.code}:\n${r.output}`;
}

/** True when the run applied without failures (detailed exit codes 0 or 2). */
export function succeeded(r: RunResult): boolean {
  return r.code === 0 || r.code === 2;
}

/**
 * One suite's Puppet world: its own folder, a dev CA for the given certnames (`name:ext=value`
 * as DevCa.init takes them), a broker process, and the module path; nodes come from node().
 */
export class PuppetWorld {
  private constructor(
    readonly root: string,
    readonly ca: DevCa,
    readonly broker: BrokerProcess,
    readonly modulepath: string,
    readonly puppet: PuppetRuntime,
  ) {}

  /**
   * @param opts.dataDir the broker's data folder, relative to the suite's folder (default `data`)
   */
  static async start(
    label: string,
    certnames: string[],
    opts: { puppet?: PuppetRuntime; policy?: string; broker?: BrokerOptions; dataDir?: string } = {},
  ): Promise<PuppetWorld> {
    const puppet = opts.puppet ?? HOST_PUPPET;
    await puppet.prepare();
    const root = tempDir(label);
    const ca = await DevCa.init(path.join(root, 'ca'), certnames);
    const broker = await BrokerProcess.start(ca, path.join(root, opts.dataDir ?? 'data'), opts.policy, opts.broker);
    return new PuppetWorld(root, ca, broker, makeModulepath(root), puppet);
  }

  /** A node of this world, set up against its broker (the arguments of PuppetNode.setup after the URLs). */
  node(
    name: string,
    hiera: Record<string, unknown> = {},
    extraConfig: Record<string, unknown> = {},
    settings: Record<string, string> = {},
  ): PuppetNode {
    const node = new PuppetNode(name, this.root, this.ca, this.modulepath, this.puppet);
    node.setup(this.broker.url, hiera, extraConfig, settings);
    return node;
  }

  /** Stops the broker and removes the folder (EXPORTFACT_KEEP_TMP=1 keeps it). */
  async close(): Promise<void> {
    await this.broker.stop();
    removeTempDir(this.root);
  }
}
