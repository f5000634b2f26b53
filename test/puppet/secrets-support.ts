/**
 * What test/puppet/secrets.test.ts needs beyond ./support: a broker started with its admin
 * listener on a free loopback port and its key files (keyring.json, admin-token.key,
 * audit-signing.key) in a folder of the test (the shared BrokerProcess uses the default admin
 * port and the caller's cwd), and a `puppet facts` run for a node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type DevCa, MODULE_DIR, type PuppetNode, REPO, freePort, sleep } from './support';

const CLI = path.join(REPO, 'dist', 'src', 'cli', 'main.js');
const FIXTURES = path.join(REPO, 'test', 'puppet', 'fixtures');

export class SecretsBroker {
  private child?: ChildProcess;
  log = '';
  constructor(readonly ca: DevCa, readonly port: number, readonly dir: string) {}

  /** @param policy an access policy (YAML, docs/policy.md), written into dir */
  static async start(ca: DevCa, dir: string, policy?: string): Promise<SecretsBroker> {
    fs.mkdirSync(dir, { recursive: true });
    if (policy !== undefined) fs.writeFileSync(path.join(dir, 'policy.yaml'), policy);
    const b = new SecretsBroker(ca, await freePort(), dir);
    await b.start();
    return b;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const d = this.ca.dir;
    const args = [CLI, 'serve', '--ca', path.join(d, 'ca.pem'), '--crl', path.join(d, 'crl.pem'), '--cert', path.join(d, 'server.pem'),
      '--key', path.join(d, 'server_key.pem'), '--listen', `127.0.0.1:${this.port}`, '--admin-listen', '127.0.0.1:0',
      '--data-dir', path.join(this.dir, 'data'), '--keyring', path.join(this.dir, 'keyring.json'),
      '--audit-key', path.join(this.dir, 'audit-signing.key')];
    if (fs.existsSync(path.join(this.dir, 'policy.yaml'))) args.push('--policy', path.join(this.dir, 'policy.yaml'));
    const child = spawn(process.execPath, args, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (c) => (this.log += c));
    child.stderr!.on('data', (c) => (this.log += c));
    const deadline = Date.now() + 60000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode}: ${this.log}`);
      if (await canConnect(this.port)) return;
      await sleep(200);
    }
    throw new Error(`broker did not listen on ${this.port}: ${this.log}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(timer);
    this.child = undefined;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** `puppet facts show` for a node, with the module's facts (as its agent would resolve them). */
export function puppetFacts(node: PuppetNode): Promise<{ code: number; output: string }> {
  const args = ['facts', 'show', '--confdir', node.confdir, '--factpath', path.join(MODULE_DIR, 'lib', 'facter'), '--render-as', 'json'];
  const env = {
    ...process.env,
    RUBYOPT: `-r${path.join(FIXTURES, 'facter-preload.rb')}`,
    EXPORTFACT_TEST_FACTER_CONF: path.join(FIXTURES, 'facter.conf'),
  };
  return new Promise((resolve, reject) => {
    const child = spawn('puppet', args, { env, cwd: node.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

/** Every file under dir (recursively) whose bytes contain needle, as paths relative to dir. */
export function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && fs.readFileSync(p).includes(needle)) hits.push(path.relative(dir, p));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return hits;
}

/** Every file under dir, relative to it (to say where Puppet wrote what). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}
