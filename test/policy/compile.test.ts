/**
 * Compiling policy text: every mistake is reported with the line and column an editor
 * needs, globs mean what docs/policy.md says, the version ignores comments and layout, and
 * the per-caller cache cannot be tricked into handing one identity another's rules.
 */
import { expect } from 'chai';
import { ConfigError } from '../../src/errors/config-error';
import type { Caller } from '../../src/identity/caller';
import { compilePolicy, PolicyError, type PolicyProblem } from '../../src/policy';
import { compileGlob, type Glob } from '../../src/policy/glob';

function problemsOf(text: string): PolicyProblem[] {
  try {
    compilePolicy(text, 'p.yaml');
  } catch (err) {
    expect(err).to.be.instanceOf(PolicyError);
    expect(err).to.be.instanceOf(ConfigError); // so a broken file at start ends the start with exit 2
    return [...(err as PolicyError).problems];
  }
  throw new Error('the policy compiled, but should not have');
}

const at = (p: PolicyProblem) => `${p.line}:${p.col}`;

describe('policy compilation: errors with line numbers', () => {
  const cases: { what: string; text: string; where: string; message: RegExp }[] = [
    { what: 'malformed YAML', text: 'rules:\n  - allow: read\n    facts: [db.url\n', where: '4:1', message: /flow sequence/i },
    { what: 'a repeated key', text: 'rules:\n  - allow: read\n    facts: [db.url]\n    facts: [db.x]\n', where: '4:5', message: /unique/i },
    {
      what: 'an unknown top-level key',
      text: 'rules: []\nrulez: []\n',
      where: '2:1',
      message: /unknown key "rulez" in the policy \(expected rules, version\)/,
    },
    {
      what: 'an unknown rule key',
      text: 'rules:\n  - allow: read\n    facts: [db.url]\n    action: read\n',
      where: '4:5',
      message: /unknown key "action" in rules\[0\] \(expected name, match, allow, deny, facts, sensitive\)/,
    },
    {
      what: 'a bad action',
      text: 'rules:\n  - facts: [db.url]\n    allow: [read, write]\n',
      where: '3:19',
      message: /unknown action "write" \(expected read, export, generate\)/,
    },
    {
      what: 'a bad certname glob',
      text: 'rules:\n  - match:\n      certname: "web[0-9].example.com"\n    allow: read\n    facts: [db.url]\n',
      where: '3:17',
      message: /certname pattern "web\[0-9\]\.example\.com" may hold only/,
    },
    {
      what: 'three stars',
      text: 'rules:\n  - match: {pp_role: "***"}\n    allow: read\n    facts: [db.url]\n',
      where: '2:22',
      message: /three stars/,
    },
    {
      what: 'an uppercase fact pattern',
      text: 'rules:\n  - allow: read\n    facts: [db.URL]\n',
      where: '3:13',
      message: /fact pattern "db\.URL": "URL" is not a fact name pattern/,
    },
    {
      what: 'a fact pattern without a dot',
      text: 'rules:\n  - allow: read\n    facts: "db"\n',
      where: '3:12',
      message: /must be CATEGORY\.NAME/,
    },
    {
      what: 'an unknown extension',
      text: 'rules:\n  - match: {pp_rol: db}\n    allow: read\n    facts: [db.url]\n',
      where: '2:13',
      message: /unknown match key "pp_rol"/,
    },
    {
      what: 'an OID outside the Puppet arc',
      text: 'rules:\n  - match: {"1.2.3.4": x}\n    allow: read\n    facts: [db.url]\n',
      where: '2:13',
      message: /outside Puppet's arc/,
    },
    {
      what: 'sensitive: yes',
      text: 'rules:\n  - allow: read\n    facts: [db.url]\n    sensitive: yes\n',
      where: '4:16',
      message: /sensitive must be true, false or any/,
    },
    {
      what: 'allow and deny together',
      text: 'rules:\n  - allow: read\n    deny: export\n    facts: [db.url]\n',
      where: '3:5',
      message: /both allow and deny/,
    },
    { what: 'a rule without facts', text: 'rules:\n  - allow: read\n', where: '2:5', message: /needs facts:/ },
    { what: 'a rule without allow or deny', text: 'rules:\n  - facts: [db.url]\n', where: '2:5', message: /needs allow: or deny:/ },
    {
      what: 'generate on non-sensitive facts',
      text: 'rules:\n  - allow: generate\n    facts: [db.x]\n    sensitive: false\n',
      where: '4:5',
      message: /generated secrets are always sensitive/,
    },
    {
      what: 'a number where a string belongs',
      text: 'rules:\n  - match: {pp_cluster: 42}\n    allow: read\n    facts: [db.url]\n',
      where: '2:25',
      message: /must be a string: quote it \("42"\)/,
    },
    {
      what: 'a YAML alias',
      text: 'rules:\n  - allow: &a read\n    facts: [db.url]\n  - allow: *a\n    facts: [db.url]\n',
      where: '4:12',
      message: /aliases are not supported/,
    },
    { what: 'an empty file', text: '\n# nothing\n', where: '1:1', message: /the policy is empty; write `rules: \[\]`/ },
    { what: 'a list instead of a mapping', text: '- allow: read\n', where: '1:1', message: /a policy is a mapping with a `rules` list/ },
    { what: 'no rules key', text: 'version: 1\n', where: '1:1', message: /has no `rules` list/ },
    { what: 'a bad version', text: 'version: 2\nrules: []\n', where: '1:10', message: /version must be 1/ },
    {
      what: 'an empty list',
      text: 'rules:\n  - allow: []\n    facts: [db.url]\n',
      where: '2:12',
      message: /empty list, which would match nothing/,
    },
  ];
  for (const c of cases) {
    it(`${c.what}: line:col ${c.where}`, () => {
      const problems = problemsOf(c.text);
      expect(problems.map(at), JSON.stringify(problems)).to.include(c.where);
      const p = problems.find((x) => at(x) === c.where)!;
      expect(p.message).to.match(c.message);
      expect(p.source).to.equal('p.yaml');
    });
  }

  it('reports every problem at once, in file order, and names the first in the message', () => {
    const text = [
      'rules:',
      '  - allow: [read, wrte]',
      '    facts: [db.Url]',
      '  - deny: read',
      '    facts: [db.x]',
      '    colour: red',
    ].join('\n');
    let err: PolicyError | undefined;
    try {
      compilePolicy(text, 'policy.yaml');
    } catch (e) {
      err = e as PolicyError;
    }
    expect(err?.problems.map(at)).to.deep.equal(['2:19', '3:13', '6:5']);
    expect(err?.message).to.equal(
      'policy policy.yaml:2:19: unknown action "wrte" (expected read, export, generate) (and 2 more problems; see exportfact policy check)',
    );
  });

  it('accepts JSON, which is YAML', () => {
    const p = compilePolicy('{"rules": [{"match": {"pp_role": "db"}, "allow": ["read"], "facts": ["db.*"], "sensitive": true}]}', 'p.json');
    expect(p.rules[0]).to.include({ effect: 'allow', sensitive: true, line: 1 });
  });

  it('normalises dotted OIDs to the short names Caller.extensions uses', () => {
    const p = compilePolicy('rules:\n  - match: {"1.3.6.1.4.1.34380.1.1.13": keystone}\n    allow: read\n    facts: [db.pw]\n', 'p.yaml');
    const keystone: Caller = { certname: 'k', environment: 'production', extensions: { pp_role: 'keystone' } };
    expect(p.forCaller(keystone).canRead({ category: 'db', name: 'pw', sensitive: true, exporters: [] })).to.equal(true);
    expect(p.rules[0].text).to.equal('allow read db.pw for pp_role=keystone');
  });
});

describe('policy globs', () => {
  const glob = (pattern: string, kind: 'certname' | 'fact part' | 'value' = 'certname'): Glob => {
    const g = compileGlob(pattern, kind);
    if (typeof g === 'string') throw new Error(g);
    return g;
  };
  const table: [string, string, boolean][] = [
    ['compute*.example.com', 'compute01.example.com', true],
    ['compute*.example.com', 'compute.example.com', true],
    ['compute*.example.com', 'compute.evil.example.com', false], // * stops at dots
    ['compute*.example.com', 'xcompute01.example.com', false], // anchored
    ['compute*.example.com', 'compute01.example.com.evil.net', false],
    ['**.example.com', 'a.b.example.com', true],
    ['**.example.com', 'example.com', false],
    ['web?.example.com', 'web1.example.com', true],
    ['web?.example.com', 'web12.example.com', false],
    ['db.example.com', 'dbxexample.com', false], // a dot is a dot
    ['db.example.com', 'db.example.com', true],
  ];
  for (const [pattern, value, expected] of table) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${value}`, () => {
      expect(glob(pattern).test(value)).to.equal(expected);
    });
  }

  it('takes regex characters in extension values literally', () => {
    expect(glob('role::(a|b)+', 'value').test('role::(a|b)+')).to.equal(true);
    expect(glob('role::(a|b)+', 'value').test('role::a')).to.equal(false);
    expect(glob('role::*', 'value').test('role::keystone')).to.equal(true);
    expect(glob('^x$', 'value').test('x')).to.equal(false);
  });

  it('compares patterns without wildcards as plain strings', () => {
    expect(glob('db.example.com').literal).to.equal(true);
    expect(glob('db*.example.com').literal).to.equal(false);
  });

  it('matches fact categories and names by their own globs', () => {
    const p = compilePolicy('rules:\n  - match: {certname: r}\n    deny: read\n    facts: ["db.*_password", "*.root"]\n', 'p.yaml');
    const r = p.forCaller({ certname: 'r', environment: 'production', extensions: {} });
    const read = (category: string, name: string) => r.canRead({ category, name, sensitive: false, exporters: [] });
    expect([
      read('db', 'keystone_password'),
      read('db', 'password'),
      read('db', 'url'),
      read('any', 'root'),
      read('any', 'roots'),
    ]).to.deep.equal([false, true, true, false, true]);
  });

  it('never matches an extension the caller lacks, not even with **', () => {
    const p = compilePolicy('rules:\n  - match: {pp_role: "**"}\n    allow: read\n    facts: ["*.*"]\n', 'p.yaml');
    const secret = { category: 'db', name: 'pw', sensitive: true, exporters: [] };
    expect(p.forCaller({ certname: 'a', environment: 'production', extensions: { pp_role: '' } }).canRead(secret)).to.equal(true);
    expect(p.forCaller({ certname: 'b', environment: 'production', extensions: {} }).canRead(secret)).to.equal(false);
  });
});

describe('policy version and the per-caller cache', () => {
  const base = 'rules:\n  - match: {pp_auth_role: admin}\n    allow: read\n    facts: ["*.*"]\n';

  it('is a short hex hash that ignores comments, layout and names, but not meaning or order', () => {
    const v = compilePolicy(base, 'a').version;
    expect(v).to.match(/^[0-9a-f]{16}$/);
    expect(compilePolicy(`# header\n\n${base}`, 'b').version).to.equal(v);
    expect(
      compilePolicy('{"rules": [{"facts": "*.*", "allow": "read", "name": "x", "match": {"pp_auth_role": ["admin"]}}]}', 'c').version,
    ).to.equal(v);
    expect(compilePolicy(base.replace('admin', 'admins'), 'd').version).to.not.equal(v);
    const two = (a: string, b: string) => `rules:\n  - {allow: read, facts: [${a}]}\n  - {deny: read, facts: [${b}]}\n`;
    expect(compilePolicy(two('a.b', 'c.d'), 'e').version).to.not.equal(compilePolicy(two('c.d', 'a.b'), 'f').version);
  });

  it('hands out one CallerPolicy per identity, and a new one when an extension differs', () => {
    const p = compilePolicy(base, 'a');
    const c: Caller = { certname: 'n', environment: 'production', extensions: { pp_role: 'x', pp_auth_role: 'admin' } };
    expect(p.forCaller({ ...c, extensions: { pp_auth_role: 'admin', pp_role: 'x' } })).to.equal(p.forCaller(c));
    expect(p.forCaller({ ...c, extensions: { pp_role: 'x' } })).to.not.equal(p.forCaller(c));
  });

  it("tags each caller's view with the policy version and the identity, for ETags", () => {
    const p = compilePolicy(base, 'a');
    const c: Caller = { certname: 'n', environment: 'production', extensions: { pp_role: 'x' } };
    const tag = p.forCaller(c).tag;
    expect(tag).to.match(new RegExp(`^${p.version}\\.[0-9a-f]{12}$`));
    expect(compilePolicy(`# comment\n${base}`, 'b').forCaller(c).tag).to.equal(tag);
    expect(p.forCaller({ ...c, extensions: { pp_role: 'y' } }).tag).to.not.equal(tag);
    expect(p.forCaller({ ...c, environment: 'staging' }).tag).to.not.equal(tag);
    expect(compilePolicy(base.replace('admin', 'root'), 'c').forCaller(c).tag).to.not.equal(tag);
  });

  it('cannot be fooled by an extension value that spells out another extension', () => {
    const p = compilePolicy(base, 'a');
    const secret = { category: 'db', name: 'root', sensitive: true, exporters: [] };
    const admin: Caller = { certname: 'n', environment: 'production', extensions: { pp_auth_role: 'admin', pp_role: 'web' } };
    const forger: Caller = { certname: 'n', environment: 'production', extensions: { pp_role: 'web\npp_auth_role=admin' } };
    const forger2: Caller = { certname: 'n', environment: 'production', extensions: { pp_role: 'web","pp_auth_role","admin' } };
    expect(p.forCaller(admin).canRead(secret)).to.equal(true);
    expect(p.forCaller(forger).canRead(secret)).to.equal(false);
    expect(p.forCaller(forger2).canRead(secret)).to.equal(false);
  });
});
