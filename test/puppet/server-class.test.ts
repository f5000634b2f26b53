/**
 * The class exportfact::server, for real: `puppet apply` as root installs the broker from the
 * tarball `npm pack` makes, creates its system user, copies the node's TLS files and writes
 * exportfact.yaml and the systemd unit, all in folders of the test's own (the class's
 * defaults are /usr/local, /etc/exportfact, /var/lib/exportfact). Containers run no systemd,
 * so the test then starts the broker exactly as the rendered unit's ExecStart says, as its
 * User and Group, in its WorkingDirectory, with its UMask and systemd's PATH; and an agent,
 * configured by exportfact::agent, publishes and reads a fact through it.
 *
 * Puppet 7 only: the class runs npm, which the Puppet 8 chroot does not have (the class's
 * rspec examples run on both Puppets, in scripts/test-module.sh).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parse as parseYaml } from 'yaml';
import {
  canConnect,
  DevCa,
  explain,
  freePort,
  makeModulepath,
  PuppetNode,
  REPO,
  removeTempDir,
  sleep,
  succeeded,
  tempDir,
} from './support';

const exec = promisify(execFile);

// The broker node's certname is the name agents connect to (the dev CA's node certificates
// carry it as their CN only): `localhost` lets them verify it without touching /etc/hosts.
const BROKER = 'localhost';
const AGENT = 'reader.server-class.test';
// A system user of this run only: a run killed half-way leaves no name the next run trips on.
const ACCOUNT = `eftest${process.pid}`;
// What systemd gives a service (no login environment).
const SYSTEMD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface Unit {
  execStart: string[];
  user: string;
  group: string;
  workingDirectory: string;
  umask: string;
}

/** The [Service] settings the test obeys, read from the rendered unit. */
function readUnit(file: string): Unit {
  const text = fs.readFileSync(file, 'utf8');
  const one = (key: string): string => {
    const found = [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]);
    expect(found, `${key}= in ${file}`).to.have.length(1);
    return found[0];
  };
  const execStart = one('ExecStart');
  // Split as systemd would: the class writes no quotes, specifiers (%) or variables ($) there.
  expect(execStart).to.match(/^[^"'%$\\]+$/);
  return {
    execStart: execStart.split(/\s+/),
    user: one('User'),
    group: one('Group'),
    workingDirectory: one('WorkingDirectory'),
    umask: one('UMask'),
  };
}

/** A stand-in for the Puppet CA's CRL endpoint (its path, the dev CA's CRL), counting who asks. */
async function crlEndpoint(caDir: string): Promise<{ port: number; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server = https.createServer(
    { cert: fs.readFileSync(path.join(caDir, 'server.pem')), key: fs.readFileSync(path.join(caDir, 'server_key.pem')) },
    (req, res) => {
      if (req.url !== '/puppet-ca/v1/certificate_revocation_list/ca') {
        res.writeHead(404).end();
        return;
      }
      requests++;
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(fs.readFileSync(path.join(caDir, 'crl.pem')));
    },
  );
  const port = await freePort();
  // Every address: the broker resolves `localhost`, maybe to ::1 first.
  await new Promise<void>((resolve) => server.listen(port, resolve));
  return { port, requests: () => requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('puppet module: exportfact::server deploys the broker, which serves an agent (Puppet 7, as root)', function () {
  this.timeout(600000);
  let root: string;
  let ca: DevCa;
  let server: PuppetNode;
  let agent: PuppetNode;
  let crl: Awaited<ReturnType<typeof crlEndpoint>> | undefined;
  let port: number;
  let adminPort: number;
  let broker: ChildProcess | undefined;
  let brokerLog = '';
  let accountCreated = false;
  const dirs = () => ({
    prefix: path.join(root, 'usr', 'local'),
    cache: path.join(root, 'var', 'cache', 'exportfact'),
    config: path.join(root, 'etc', 'exportfact'),
    state: path.join(root, 'var', 'lib', 'exportfact'),
    units: path.join(root, 'etc', 'systemd', 'system'),
  });
  let serverCode: string;

  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root: puppet apply of exportfact::server creates a system user');
    root = tempDir('server-class');
    // The broker's user must reach its folders in here (mkdtemp makes 0700).
    fs.chmodSync(root, 0o711);
    const d = dirs();
    // The parents the class expects a system to have (/etc, /var/lib, /var/cache, /etc/systemd/system).
    for (const dir of [path.dirname(d.config), path.dirname(d.state), path.dirname(d.cache), d.units])
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });

    // dist/ is built by `npm test` already; --ignore-scripts skips prepack's second build.
    const packed = await exec('npm', ['pack', '--ignore-scripts', '--pack-destination', root], { cwd: REPO });
    const tarball = path.join(root, packed.stdout.trim().split('\n').pop()!);

    ca = await DevCa.init(path.join(root, 'ca'), [BROKER, AGENT]);
    crl = await crlEndpoint(ca.dir);
    port = await freePort();
    adminPort = await freePort();
    const modulepath = makeModulepath(root);
    server = new PuppetNode(BROKER, root, ca, modulepath);
    // The Puppet CA of the broker node (server = localhost): its CRL endpoint is the stand-in's.
    server.setup(`https://localhost:${port}`, {}, {}, { ca_port: String(crl.port) });
    agent = new PuppetNode(AGENT, root, ca, modulepath);
    agent.setup(`https://localhost:${port}`);
    fs.rmSync(path.join(agent.confdir, 'exportfact.yaml')); // the agent class writes it
    serverCode = `
      class { 'exportfact::server':
        npm_tarball         => '${tarball}',
        npm_install_options => ['--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'],
        install_prefix      => '${d.prefix}',
        download_dir        => '${d.cache}',
        config_dir          => '${d.config}',
        state_dir           => '${d.state}',
        unit_dir            => '${d.units}',
        user                => '${ACCOUNT}',
        group               => '${ACCOUNT}',
        listen              => '127.0.0.1:${port}',
        admin_listen        => '127.0.0.1:${adminPort}',
        manage_service      => false,
      }`;
  });

  after(async () => {
    if (broker?.pid && broker.exitCode === null) {
      const exited = new Promise((resolve) => broker!.once('exit', resolve));
      process.kill(-broker.pid, 'SIGTERM'); // its process group: runuser, the shell it execs, node
      await Promise.race([exited, sleep(10000)]);
      if (broker.exitCode === null) process.kill(-broker.pid, 'SIGKILL');
    }
    await crl?.close();
    if (accountCreated || (await accountExists())) {
      await exec('userdel', [ACCOUNT]).catch(() => undefined);
      await exec('groupdel', [ACCOUNT]).catch(() => undefined); // when userdel left it
    }
    removeTempDir(root);
  });

  async function accountExists(): Promise<boolean> {
    return exec('getent', ['passwd', ACCOUNT]).then(
      () => true,
      () => false,
    );
  }

  it('puppet apply installs the broker from the tarball, creates its user and folders, copies the TLS files', async () => {
    const r = await server.apply({ code: serverCode }, ['--catalog_cache_terminus', 'json']);
    accountCreated = await accountExists();
    expect(succeeded(r), explain(r)).to.equal(true);
    expect(r.output).to.include('Exec[exportfact: npm install]/returns: executed successfully');
    const d = dirs();
    const bin = path.join(d.prefix, 'bin', 'exportfact');
    expect((await exec(bin, ['--version'])).stdout.trim()).to.equal(
      JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version,
    );

    const { stdout: passwd } = await exec('getent', ['passwd', ACCOUNT]);
    const [, , uid, gid, , home, shell] = passwd.trim().split(':');
    expect([home, shell]).to.deep.equal([d.state, '/usr/sbin/nologin']);
    const owned = (file: string) => {
      const s = fs.statSync(file);
      return { mode: (s.mode & 0o777).toString(8), uid: String(s.uid), gid: String(s.gid) };
    };
    expect(owned(d.config)).to.deep.equal({ mode: '750', uid: '0', gid });
    expect(owned(d.state)).to.deep.equal({ mode: '700', uid, gid });
    expect(owned(path.join(d.config, 'exportfact.yaml'))).to.deep.equal({ mode: '640', uid: '0', gid });

    // The node's own ssldir, copied: the private key readable by the broker's group only.
    const copy = path.join(d.config, 'ssl', 'private_keys', `${BROKER}.pem`);
    expect(owned(copy)).to.deep.equal({ mode: '640', uid: '0', gid });
    expect(fs.readFileSync(copy, 'utf8')).to.equal(fs.readFileSync(path.join(ca.ssldir(BROKER), 'private_keys', `${BROKER}.pem`), 'utf8'));
    expect(fs.readFileSync(path.join(d.config, 'ssl', 'certs', `${BROKER}.pem`), 'utf8')).to.equal(
      fs.readFileSync(path.join(ca.ssldir(BROKER), 'certs', `${BROKER}.pem`), 'utf8'),
    );

    expect(parseYaml(fs.readFileSync(path.join(d.config, 'exportfact.yaml'), 'utf8'))).to.deep.equal({
      ssldir: path.join(d.config, 'ssl'),
      certname: BROKER,
      'crl-url': `https://localhost:${crl!.port}/puppet-ca/v1/certificate_revocation_list/ca`,
      listen: `127.0.0.1:${port}`,
      'admin-listen': `127.0.0.1:${adminPort}`,
      'data-dir': path.join(d.state, 'data'),
      keyring: path.join(d.state, 'keyring.json'),
      'audit-key': path.join(d.state, 'audit-signing.key'),
      'admin-signing-key': path.join(d.state, 'admin-token.key'),
    });
  });

  it('the private key went through neither the catalog nor the report: only its path did', () => {
    const keyFile = path.join(ca.ssldir(BROKER), 'private_keys', `${BROKER}.pem`);
    const keyLines = fs
      .readFileSync(keyFile, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'));
    const catalog = fs.readFileSync(path.join(server.vardir, 'client_data', 'catalog', `${BROKER}.json`), 'utf8');
    const resource = JSON.parse(catalog).resources.find(
      (r: { type: string; title: string }) => r.type === 'File' && r.title.endsWith(`private_keys/${BROKER}.pem`),
    );
    expect(resource.parameters).to.include({ source: keyFile, backup: false, show_diff: false });
    expect(resource.parameters).to.not.have.property('content');
    // Nothing the run kept (catalog, report, state, a filebucket) holds a line of the key.
    for (const file of filesUnder(server.vardir)) {
      const text = fs.readFileSync(file, 'latin1');
      for (const line of keyLines) expect(text.includes(line), `${file} holds the private key`).to.equal(false);
    }
  });

  it('the rendered unit is the shipped one with the paths of this installation; systemd-analyze verify accepts it', async () => {
    const file = path.join(dirs().units, 'exportfact.service');
    const unit = readUnit(file);
    expect(unit.execStart).to.deep.equal([
      path.join(dirs().prefix, 'bin', 'exportfact'),
      'serve',
      '--config',
      path.join(dirs().config, 'exportfact.yaml'),
      '--log-format',
      'json',
    ]);
    expect([unit.user, unit.group, unit.workingDirectory]).to.deep.equal([ACCOUNT, ACCOUNT, dirs().state]);
    const shipped = fs.readFileSync(path.join(REPO, 'packaging', 'exportfact.service'), 'utf8');
    const hardening = (text: string) =>
      text
        .split('\n')
        .filter((l) => /^(No|Protect|Private|Restrict|Capability|Ambient|SystemCall|Lock|UMask|Restart|Kill|Timeout)/.test(l));
    expect(hardening(fs.readFileSync(file, 'utf8'))).to.deep.equal(hardening(shipped));
    const verified = await exec('systemd-analyze', ['verify', '--man=no', file]);
    // verify exits 0 on an unknown value too, and only warns: any output is a failure.
    expect(verified.stderr + verified.stdout).to.equal('');
  });

  it("started exactly as ExecStart says, as the unit user, the broker serves and fetches the Puppet CA's CRL", async () => {
    const unit = readUnit(path.join(dirs().units, 'exportfact.service'));
    expect(unit.umask).to.match(/^[0-7]{4}$/);
    broker = spawn(
      'runuser',
      ['-u', unit.user, '-g', unit.group, '--', '/bin/sh', '-c', `umask ${unit.umask} && exec "$@"`, 'sh', ...unit.execStart],
      {
        cwd: unit.workingDirectory,
        env: { PATH: SYSTEMD_PATH, LANG: 'C.UTF-8' },
        detached: true, // its own process group, so that after() stops all of it
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    broker.stdout!.on('data', (c) => (brokerLog += c));
    broker.stderr!.on('data', (c) => (brokerLog += c));
    const deadline = Date.now() + 60000;
    while (!(await canConnect(port))) {
      if (broker.exitCode !== null) throw new Error(`the broker exited with ${broker.exitCode}:\n${brokerLog}`);
      if (Date.now() > deadline) throw new Error(`the broker did not listen on ${port}:\n${brokerLog}`);
      await sleep(200);
    }
    expect(brokerLog).to.match(/"store":"embedded"/);
    // It made its key files itself, as its user, 0600, in the state folder.
    const { stdout: uid } = await exec('id', ['-u', ACCOUNT]);
    for (const name of ['keyring.json', 'audit-signing.key', 'admin-token.key']) {
      const s = fs.statSync(path.join(dirs().state, name));
      expect([(s.mode & 0o777).toString(8), String(s.uid)], name).to.deep.equal(['600', uid.trim()]);
    }
    // Revocations arrive from the Puppet CA of the node (ca_server, ca_port), with its certificate.
    while (crl!.requests() === 0 && Date.now() < deadline) await sleep(200);
    expect(crl!.requests(), brokerLog).to.be.greaterThan(0);
    expect(brokerLog).to.not.include('CRL fetch failed');
  });

  it('a second apply installs nothing again and only puts back the mode of a key file the broker made', async () => {
    const keyring = path.join(dirs().state, 'keyring.json');
    const before = fs.readFileSync(keyring);
    fs.chmodSync(keyring, 0o644);
    const r = await server.apply({ code: serverCode });
    expect(r.code, explain(r)).to.equal(2);
    const changes = r.lines.filter((l) => l.startsWith('Notice: /Stage'));
    expect(changes, explain(r)).to.deep.equal([
      `Notice: /Stage[main]/Exportfact::Server/File[${keyring}]/mode: mode changed '0644' to '0600'`,
    ]);
    expect(fs.readFileSync(keyring)).to.deep.equal(before);
  });

  it('an agent configured by exportfact::agent publishes, then reads, a fact through the broker', async () => {
    const code = {
      code: `
      include exportfact
      exportfact_fact { 'demo.hello': value => 'world' }
      class { 'exportfact::agent': urls => ['https://${BROKER}:${port}'] }
      notify { "seen \${exportfact::value('demo.hello', 'nothing')} from \${facts.dig('exportfact_status', 'source')}": }`,
    };
    const first = await agent.apply(code);
    expect(succeeded(first), explain(first)).to.equal(true);
    expect(first.output).to.match(/Exportfact_fact\[demo\.hello\]\/ensure: published "world"/);
    const second = await agent.apply(code);
    expect(succeeded(second), explain(second)).to.equal(true);
    expect(second.output).to.include('seen world from broker');
    expect(brokerLog).to.include(`"certname":"${AGENT}"`);
  });
});

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? e.path, e.name));
}
