/** `exportfact policy check|explain` as processes. */

import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { runCli } from '../support/cli';
import { tempDir } from '../support/temp';

const EXAMPLE = path.resolve(__dirname, '..', '..', '..', 'puppet-module', 'examples', 'policy.yaml');

const run = (args: string[]) => runCli(['policy', ...args]);

describe('exportfact policy (CLI)', function () {
  this.timeout(30_000);
  let dir: string;
  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  before(() => {
    dir = tempDir('policy-cli');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('check: the Kickstack example is valid, without warnings (exit 0)', async () => {
    const r = await run(['check', EXAMPLE]);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(new RegExp(`^${EXAMPLE.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: valid, 11 rules, version [0-9a-f]{16}\\n$`));
    expect(r.stderr).to.equal('');
  });

  it('check: prints trust warnings with their line, and still exits 0', async () => {
    const file = write(
      'warn.yaml',
      'rules:\n  - {match: {certname: db.example.com}, allow: export, facts: ["db.*"]}\n  - match: {pp_role: keystone}\n    allow: read\n    facts: [db.password]\n',
    );
    const r = await run(['check', file]);
    expect(r.code).to.equal(0);
    expect(r.stderr).to.match(
      new RegExp(
        `^${file}:3: warning: rules\\[1\\] grants read of sensitive facts to any node whose certificate claims pp_role=keystone;.*\\n$`,
      ),
    );
    expect(r.stdout).to.include('valid, 2 rules').and.include('1 warning');
  });

  it('check: prints every error with file:line:col, then one line, and exits 2', async () => {
    const file = write(
      'broken.yaml',
      'rules:\n  - allow: [read, wrte]\n    facts: [db.Url]\n  - deny: read\n    facts: [db.x]\n    colour: red\n',
    );
    const r = await run(['check', file]);
    expect(r.code).to.equal(2);
    expect(r.stdout).to.equal('');
    expect(r.stderr.split('\n')).to.deep.equal([
      `${file}:2:19: error: unknown action "wrte" (expected read, export, generate)`,
      `${file}:3:13: error: fact pattern "db.Url": "Url" is not a fact name pattern (lowercase letters, digits, _ and the wildcards * ?)`,
      `${file}:6:5: error: unknown key "colour" in rules[1] (expected name, match, allow, deny, facts, sensitive)`,
      `exportfact: ${file} is not a valid policy (3 problems)`,
      '',
    ]);
  });

  it('check --json: the problems as data, exit 2', async () => {
    const file = write('bad.yaml', 'rules:\n  - allow: read\n    facts: [db.url\n');
    const r = await run(['check', '--json', file]);
    expect(r.code).to.equal(2);
    const out = JSON.parse(r.stdout);
    expect(out).to.include({ file, valid: false });
    expect(out.problems[0]).to.include({ source: file, line: 4, col: 1 });
  });

  it('check: a missing file is one line, exit 2', async () => {
    const r = await run(['check', path.join(dir, 'absent.yaml')]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.equal(`exportfact: policy file ${path.join(dir, 'absent.yaml')} does not exist\n`);
  });

  it('explain: a table naming the deciding rule and its line for each action', async () => {
    const r = await run([
      'explain',
      EXAMPLE,
      '--certname',
      'keystone.kickstack.test',
      '--ext',
      'pp_role=keystone',
      '--sensitive',
      'db',
      'keystone_password',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).to.equal('caller  keystone.kickstack.test  environment=production  pp_role=keystone');
    expect(lines[1]).to.equal('fact    db.keystone_password  sensitive');
    expect(lines[4]).to.match(/^ACTION\s+DECISION\s+BY\s+REASON$/);
    expect(lines[5]).to.match(
      /^read\s+allow\s+rules\[5\] line 52\s+rules\[5\] \(line 52, "keystone reads its database password"\) allows it: allow read db\.keystone_password \(sensitive only\) for certname=keystone\.kickstack\.test pp_role=keystone$/,
    );
    expect(lines[6]).to.match(/^export\s+deny\s+default restricted\s+no rule applies; the policy has rules allowing export or generate/);
    expect(lines[7]).to.match(/^generate\s+deny\s+default restricted/);
    expect(r.stdout).to.include(
      '  generate: rules[4] (line 45) did not apply: certname is "keystone.kickstack.test", not db.kickstack.test|allinone.kickstack.test\n',
    );
  });

  it('explain --json --action: one decision as data; exporters and requesters count', async () => {
    const base = [
      'explain',
      EXAMPLE,
      '--json',
      '--action',
      'read',
      '--certname',
      'rogue.kickstack.test',
      '--ext',
      'pp_role=keystone',
      '--sensitive',
      'db',
      'keystone_password',
    ];
    const denied = JSON.parse((await run(base)).stdout);
    expect(denied.policy.file).to.equal(EXAMPLE);
    expect(denied.decisions).to.have.length(1);
    expect(denied.decisions[0]).to.deep.include({ action: 'read', allowed: false, basis: 'rule' });
    expect(denied.decisions[0].rule).to.include({ index: 10, line: 89, name: 'no other node reads a password' });
    const own = JSON.parse((await run([...base, '--exporter', 'rogue.kickstack.test'])).stdout);
    expect(own.decisions[0]).to.include({ allowed: true, basis: 'own_export' });
  });

  it('explain: the environment comes from pp_environment unless given; the two may not disagree', async () => {
    const file = write('env.yaml', 'rules:\n  - {match: {environment: staging}, deny: read, facts: ["*.*"]}\n');
    const ask = (...extra: string[]) => run(['explain', file, '--json', '--action', 'read', '--certname', 'n', ...extra, 'db', 'url']);
    expect(JSON.parse((await ask('--ext', 'pp_environment=staging')).stdout).decisions[0].allowed).to.equal(false);
    expect(JSON.parse((await ask('--environment', 'staging')).stdout).decisions[0].allowed).to.equal(false);
    expect(JSON.parse((await ask()).stdout).decisions[0].allowed).to.equal(true);
    expect(JSON.parse((await ask('--default-environment', 'staging')).stdout).decisions[0].allowed).to.equal(false);
    const clash = await ask('--ext', 'pp_environment=production', '--environment', 'staging');
    expect(clash.code).to.equal(2);
    expect(clash.stderr).to.equal(
      'exportfact: --environment staging contradicts --ext pp_environment=production (the broker takes the environment from pp_environment)\n',
    );
  });

  it("explain: bad --ext, names and actions are one line, exit 2 (or commander's usage error)", async () => {
    const bad = await run(['explain', EXAMPLE, '--certname', 'n', '--ext', 'pp_rol=x', 'db', 'url']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.equal(
      'exportfact: --ext: unknown Puppet certificate extension name "pp_rol" (expected a pp_* short name or a dotted OID)\n',
    );
    const name = await run(['explain', EXAMPLE, '--certname', 'n', 'db', 'Url']);
    expect(name.code).to.equal(2);
    expect(name.stderr).to.equal(
      'exportfact: name "Url" is not a Facter-style name (lowercase letter, then lowercase letters, digits or _)\n',
    );
    const action = await run(['explain', EXAMPLE, '--certname', 'n', '--action', 'write', 'db', 'url']);
    expect(action.code).to.not.equal(0);
    expect(action.stderr).to.match(/argument 'write' is invalid. Allowed choices are read, export, generate, all/);
  });
});
