/**
 * Agent-mode harness: a real puppetserver (scripts/puppetserver.sh, its own CA, everything in
 * one temp folder, on a free port), the broker trusting that CA and its CRLs, and simulated
 * agents running `puppet agent -t`, each with its own confdir, vardir, ssldir, logdir, rundir.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { runProcess as run, startListening, stopProcess } from '../support/process';
import { freePort, REPO, type RunResult } from './support';

const SCRIPT = path.join(REPO, 'scripts', 'puppetserver.sh');
const CLI = path.join(REPO, 'dist', 'src', 'cli', 'main.js');
const FIXTURES = path.join(REPO, 'test', 'puppet', 'fixtures');

/** A puppetserver with its own CA in `dir`, started and stopped by scripts/puppetserver.sh. */
export class PuppetServer {
  info: Record<string, string> = {};
  constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  /** Installs puppetserver if missing, sets it up in `dir` (CA included), starts it, waits until it answers. */
  async start(): Promise<void> {
    await this.script('start');
  }

  private async script(cmd: string): Promise<void> {
    const r = await run('bash', [SCRIPT, cmd, this.dir, '--port', String(this.port)]);
    if (r.code !== 0) throw new Error(`scripts/puppetserver.sh ${cmd} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
    for (const line of r.stdout.split('\n')) {
      const m = /^(\w+)=(.*)$/.exec(line);
      if (m) this.info[m[1]] = m[2];
    }
  }

  async stop(): Promise<void> {
    await this.script('stop');
  }

  get ssldir(): string {
    return this.info.ssldir;
  }
  get confdir(): string {
    return this.info.confdir;
  }
  get production(): string {
    return path.join(this.info.codedir, 'environments', 'production');
  }
  get url(): string {
    return `https://localhost:${this.port}`;
  }
  get crlUrl(): string {
    return `${this.url}/puppet-ca/v1/certificate_revocation_list/ca`;
  }

  /** The facts the server received from a node (what it compiled the node's catalog from). */
  storedFacts(node: string): Record<string, unknown> | undefined {
    const file = path.join(this.dir, 'var', 'server_data', 'facts', `${node}.json`);
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')).values as Record<string, unknown>) : undefined;
  }

  /** `puppetserver ca ARGS` against this server's CA (online: through its CA API). */
  async ca(args: string[]): Promise<string> {
    const r = await run('puppetserver', ['ca', ...args, '--config', path.join(this.confdir, 'puppet.conf')], { cwd: this.dir });
    if (r.code !== 0) throw new Error(`puppetserver ca ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
    return r.stdout + r.stderr;
  }
}

/**
 * The broker built from this repository, trusting the Puppet CA (root + intermediate) and its
 * CRLs: the server's crl.pem, and the CA's CRL endpoint polled every 2 s. Its own certificate
 * is the server's (`localhost`, issued by the same CA).
 */
export class AgentBroker {
  private child?: ChildProcess;
  log = '';
  constructor(
    readonly server: PuppetServer,
    readonly port: number,
    readonly workDir: string,
  ) {}

  static async start(server: PuppetServer, workDir: string): Promise<AgentBroker> {
    fs.mkdirSync(workDir, { recursive: true });
    const b = new AgentBroker(server, await freePort(), workDir);
    const ssl = server.ssldir;
    const args = [
      CLI,
      'serve',
      ...sslServeArgs(ssl, 'localhost'),
      '--crl-url',
      server.crlUrl,
      '--crl-interval',
      '2',
      '--listen',
      `127.0.0.1:${b.port}`,
      '--data-dir',
      path.join(workDir, 'data'),
      '--admin-listen',
      '127.0.0.1:0',
      // The server's own certificate is the admin's: the test reads health details with it.
      '--admin-certname',
      'localhost',
    ];
    b.child = await startListening(args, { cwd: workDir, ports: [b.port], sink: b });
    return b;
  }

  /** The name in the broker's certificate is `localhost`. */
  get url(): string {
    return `https://localhost:${this.port}`;
  }

  /** The admin health report (CRLs, policy, audit), read with the server's certificate (an admin here). */
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies field by field
  async adminHealth(): Promise<{ status: number; body: any }> {
    const admin = /"admin":"([^"]+)"/.exec(this.log)?.[1];
    if (!admin) throw new Error(`the broker logged no admin address: ${this.log}`);
    return httpsJson(`https://localhost:${admin.split(':').pop()}/admin/v1/health`, tlsOf(this.server.ssldir, 'localhost'));
  }

  /** Certnames the broker logged requests from. */
  requesters(): Set<string> {
    const names = new Set<string>();
    for (const m of this.log.matchAll(/"certname":"([^"]+)"/g)) names.add(m[1]);
    return names;
  }

  stop(): Promise<void> {
    return stopProcess(this.child);
  }
}

/** One simulated agent: its own confdir, vardir, ssldir, logdir, rundir, publicdir; `server = localhost`. */
export class AgentNode {
  readonly dir: string;
  constructor(
    readonly name: string,
    root: string,
    readonly server: PuppetServer,
  ) {
    this.dir = path.join(root, 'agents', name);
  }

  get confdir(): string {
    return path.join(this.dir, 'conf');
  }
  get vardir(): string {
    return path.join(this.dir, 'var');
  }
  get ssldir(): string {
    return path.join(this.dir, 'ssl');
  }
  get certFile(): string {
    return path.join(this.ssldir, 'certs', `${this.name}.pem`);
  }
  get keyFile(): string {
    return path.join(this.ssldir, 'private_keys', `${this.name}.pem`);
  }

  setup(brokerUrl: string): void {
    fs.mkdirSync(this.confdir, { recursive: true });
    fs.writeFileSync(
      path.join(this.confdir, 'puppet.conf'),
      [
        '[main]',
        `certname = ${this.name}`,
        'server = localhost',
        `serverport = ${this.server.port}`,
        `ssldir = ${this.ssldir}`,
        `vardir = ${this.vardir}`,
        `logdir = ${path.join(this.dir, 'log')}`,
        `rundir = ${path.join(this.dir, 'run')}`,
        `publicdir = ${path.join(this.dir, 'public')}`, // last_run_summary.yaml; as root it defaults to /var/cache/puppet/public
        `codedir = ${path.join(this.dir, 'code')}`,
        'environment = production',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(this.confdir, 'exportfact.yaml'),
      `url: ${JSON.stringify(brokerUrl)}\nconnect_timeout: 2\nread_timeout: 5\n`,
    );
  }

  /** `puppet agent -t` (detailed exit codes: 0 no change, 2 changes, 1/4/6 failures). */
  async agent(flags: string[] = []): Promise<RunResult> {
    const env = {
      ...process.env,
      RUBYOPT: `-r${path.join(FIXTURES, 'facter-preload.rb')}`,
      EXPORTFACT_TEST_FACTER_CONF: path.join(FIXTURES, 'facter.conf'),
    };
    const r = await run('puppet', ['agent', '-t', '--confdir', this.confdir, '--color=false', ...flags], { env, cwd: this.dir });
    const lines = (r.stdout + r.stderr).split('\n').filter((l) => l.trim() !== '' && !l.includes('/proc/1/environ'));
    if (process.env.EXPORTFACT_TEST_VERBOSE) console.log(`--- ${this.name} agent (exit ${r.code})\n${lines.join('\n')}`);
    return { node: this.name, code: r.code, output: lines.join('\n'), lines };
  }

  /** An HTTPS request to the broker with this agent's Puppet certificate and key. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies field by field
  request(url: string, opts: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
    return httpsJson(
      url,
      {
        ca: fs.readFileSync(path.join(this.server.ssldir, 'certs', 'ca.pem')),
        cert: fs.readFileSync(this.certFile),
        key: fs.readFileSync(this.keyFile),
      },
      opts,
    );
  }
}

/** The TLS files of `certname` in a Puppet ssldir, for HTTPS requests. */
export interface Tls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export function tlsOf(ssldir: string, certname: string): Tls {
  return {
    ca: fs.readFileSync(path.join(ssldir, 'certs', 'ca.pem')),
    cert: fs.readFileSync(path.join(ssldir, 'certs', `${certname}.pem`)),
    key: fs.readFileSync(path.join(ssldir, 'private_keys', `${certname}.pem`)),
  };
}

/** `exportfact serve` TLS options over a Puppet ssldir, serving with `certname`'s certificate. */
export function sslServeArgs(ssldir: string, certname: string): string[] {
  return [
    '--ca',
    path.join(ssldir, 'certs', 'ca.pem'),
    '--crl',
    path.join(ssldir, 'crl.pem'),
    '--cert',
    path.join(ssldir, 'certs', `${certname}.pem`),
    '--key',
    path.join(ssldir, 'private_keys', `${certname}.pem`),
  ];
}

export function httpsJson(
  url: string,
  tls: { ca: Buffer; cert: Buffer; key: Buffer },
  opts: { method?: string; body?: unknown } = {},
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies field by field
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const data = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = https.request(
      url,
      {
        method: opts.method ?? 'GET',
        ...tls,
        agent: false,
        timeout: 5000,
        headers: data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {},
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}
