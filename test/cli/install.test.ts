// From a clone to a command on PATH: `npm pack` makes a tarball, `npm install -g` of it in a
// prefix of the test's own gives `exportfact`, which serves with --dev-ca from any folder
// (its SQL found in the package). The shipped systemd unit and example configuration check out.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { tempDir } from '../support/broker';
import { REPO_ROOT, runCommand } from '../support/cli';
import { Client } from '../support/client';

const exec = promisify(execFile);

describe('the installed command (npm pack, npm install -g)', function () {
  this.timeout(300_000);
  let dir: string;
  let bin: string;
  let installed: string;

  before(async () => {
    dir = tempDir('install');
    // dist/ is built by `npm test` already; --ignore-scripts skips prepack's second build.
    const { stdout } = await exec('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: REPO_ROOT });
    const tarball = path.join(dir, stdout.trim().split('\n').pop()!);
    const prefix = path.join(dir, 'prefix');
    await exec('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], {
      cwd: dir,
      maxBuffer: 16 * 1024 * 1024,
    });
    bin = path.join(prefix, 'bin', 'exportfact');
    installed = path.join(prefix, 'lib', 'node_modules', 'exportfact');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('packs what the command needs, and nothing of the tests', async () => {
    for (const wanted of [
      'dist/src/cli/main.js',
      'sql/0001_facts.sql',
      'packaging/exportfact.service',
      'packaging/exportfact.yaml.example',
      'README.md',
    ]) {
      expect(fs.existsSync(path.join(installed, wanted)), wanted).to.equal(true);
    }
    expect(fs.existsSync(path.join(installed, 'dist/test'))).to.equal(false);
    expect(fs.statSync(bin).mode & 0o111, 'executable').to.not.equal(0);
  });

  it('`exportfact serve --dev-ca --data-dir D` runs from another folder, no node or npx in front', async () => {
    const cwd = path.join(dir, 'elsewhere');
    fs.mkdirSync(cwd);
    const serve = await runCommand(
      bin,
      ['serve', '--dev-ca', '--data-dir', path.join(cwd, 'D'), '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'],
      { cwd, untilListening: true },
    );
    try {
      const node = path.join(cwd, 'certs', 'nodes', 'db.example.com');
      const client = new Client(serve.url!, fs.readFileSync(path.join(cwd, 'certs', 'ca.pem'), 'utf8'), {
        certname: 'db.example.com',
        certPem: fs.readFileSync(path.join(node, 'certs', 'db.example.com.pem'), 'utf8'),
        keyPem: fs.readFileSync(path.join(node, 'private_keys', 'db.example.com.pem'), 'utf8'),
        serial: '',
      });
      expect((await client.put('/v1/facts/db/url', { value: 'mysql://db1/nova' })).status).to.equal(201);
      expect((await client.get('/v1/facts')).json.facts.db.url).to.equal('mysql://db1/nova');
    } finally {
      await serve.stop();
    }
  });

  it('the shipped example configuration checks out', async () => {
    const r = await runCommand(bin, ['config', 'check', path.join(installed, 'packaging', 'exportfact.yaml.example')]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/exportfact\.yaml\.example: ok/);
  });

  it('the shipped systemd unit passes systemd-analyze verify, with ExecStart pointing at the installed command', async () => {
    const unit = fs.readFileSync(path.join(installed, 'packaging', 'exportfact.service'), 'utf8');
    expect(unit).to.match(/^ExecStart=\/usr\/local\/bin\/exportfact serve --config \/etc\/exportfact\/exportfact\.yaml/m);
    const local = path.join(dir, 'exportfact.service');
    fs.writeFileSync(local, unit.replace('/usr/local/bin/exportfact', bin));
    let verified: { stdout: string; stderr: string };
    try {
      verified = await exec('systemd-analyze', ['verify', '--man=no', local]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('systemd-analyze is required (Debian package systemd)');
      throw err;
    }
    // verify exits 0 on an unknown value too, and only warns: any output is a failure.
    expect(verified.stderr + verified.stdout).to.equal('');
    for (const hardening of [
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'CapabilityBoundingSet=',
      'RestrictAddressFamilies=',
      'SystemCallFilter=@system-service',
      'StateDirectory=exportfact',
      'Restart=on-failure',
      'ExecReload=/bin/kill -HUP $MAINPID',
    ]) {
      expect(unit).to.include(hardening);
    }
  });
});
