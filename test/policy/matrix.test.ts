/**
 * Callers × facts × actions against tables written out by hand (docs/policy.md explains each
 * cell's rule): once under a policy with allow and deny rules, once under the defaults.
 * Each cell is checked through the fast path (canRead/canExport/canGenerate) and through
 * explain, so the two can never drift apart.
 */
import { expect } from 'chai';
import type { Caller } from '../../src/identity/caller';
import { type CompiledPolicy, compilePolicy, DEFAULT_POLICY, type ReadableFact } from '../../src/policy';

const POLICY = `
rules:
  - name: secrets admins read everything          # rules[0]
    match: { pp_auth_role: secrets_admin }
    allow: read
    facts: ["*.*"]
  - name: keystone reads its database password    # rules[1]
    match: { certname: "keystone*.example.com", pp_role: keystone }
    allow: read
    facts: [db.keystone_password]
    sensitive: true
  - name: production databases export and generate db facts   # rules[2]
    match: { pp_role: database, environment: production }
    allow: [export, generate]
    facts: ["db.*"]
  - name: computes export their host              # rules[3]
    match: { certname: "compute*.example.com" }
    allow: export
    facts: [nova.compute_host]
    sensitive: false
  - name: computes never read db facts            # rules[4]
    match: { pp_role: compute }
    deny: read
    facts: ["db.*"]
  - name: computes read the queue password        # rules[5]
    match: { certname: "compute*.example.com" }
    allow: read
    facts: [mq.password]
  - name: nobody else does, requesters included   # rules[6]
    deny: read
    facts: [mq.password]
  - name: keystone exports its URL                # rules[7]
    match: { pp_role: keystone }
    allow: export
    facts: [keystone.url]
`;

const CALLERS: Record<string, Caller> = {
  db: { certname: 'db.example.com', environment: 'production', extensions: { pp_role: 'database', pp_environment: 'production' } },
  keystone: { certname: 'keystone.example.com', environment: 'production', extensions: { pp_role: 'keystone' } },
  rogue: { certname: 'rogue.example.com', environment: 'production', extensions: { pp_role: 'keystone' } },
  compute: { certname: 'compute01.example.com', environment: 'production', extensions: { pp_role: 'compute' } },
  stagingDb: { certname: 'db.staging.example.com', environment: 'staging', extensions: { pp_role: 'database', pp_environment: 'staging' } },
  ops: { certname: 'ops.example.com', environment: 'production', extensions: { pp_auth_role: 'secrets_admin' } },
};

const FACTS: Record<string, ReadableFact> = {
  'db.url': { category: 'db', name: 'url', sensitive: false, exporters: ['db.example.com'] },
  'db.keystone_password': { category: 'db', name: 'keystone_password', sensitive: true, exporters: [], requesters: ['db.example.com'] },
  'db.root_password': { category: 'db', name: 'root_password', sensitive: true, exporters: ['db.example.com'] },
  'nova.compute_host': { category: 'nova', name: 'compute_host', sensitive: false, exporters: ['compute01.example.com'] },
  'mq.password': {
    category: 'mq',
    name: 'password',
    sensitive: true,
    exporters: [],
    requesters: ['keystone.example.com', 'compute01.example.com'],
  },
  'keystone.url': { category: 'keystone', name: 'url', sensitive: false, exporters: ['keystone.example.com'] },
};

// R = may read, E = may export, G = may generate; "-" = refused.
type Expected = Record<string, Record<keyof typeof FACTS, string>>;

const WITH_RULES: Expected = {
  //          db.url  db.keystone_password  db.root_password  nova.compute_host  mq.password  keystone.url
  db: {
    'db.url': 'REG',
    'db.keystone_password': 'REG',
    'db.root_password': 'REG',
    'nova.compute_host': 'R--',
    'mq.password': '---',
    'keystone.url': 'R--',
  },
  keystone: {
    'db.url': 'R--',
    'db.keystone_password': 'R--',
    'db.root_password': '---',
    'nova.compute_host': 'R--',
    'mq.password': '---',
    'keystone.url': 'RE-',
  },
  rogue: {
    'db.url': 'R--',
    'db.keystone_password': '---',
    'db.root_password': '---',
    'nova.compute_host': 'R--',
    'mq.password': '---',
    'keystone.url': 'RE-',
  },
  compute: {
    'db.url': '---',
    'db.keystone_password': '---',
    'db.root_password': '---',
    'nova.compute_host': 'RE-',
    'mq.password': 'R--',
    'keystone.url': 'R--',
  },
  stagingDb: {
    'db.url': 'R--',
    'db.keystone_password': '---',
    'db.root_password': '---',
    'nova.compute_host': 'R--',
    'mq.password': '---',
    'keystone.url': 'R--',
  },
  ops: {
    'db.url': 'R--',
    'db.keystone_password': 'R--',
    'db.root_password': 'R--',
    'nova.compute_host': 'R--',
    'mq.password': 'R--',
    'keystone.url': 'R--',
  },
};

// No policy file: non-sensitive for all, sensitive for exporter and requesters, writes open.
const DEFAULTS: Expected = {
  db: {
    'db.url': 'REG',
    'db.keystone_password': 'REG',
    'db.root_password': 'REG',
    'nova.compute_host': 'REG',
    'mq.password': '-EG',
    'keystone.url': 'REG',
  },
  keystone: {
    'db.url': 'REG',
    'db.keystone_password': '-EG',
    'db.root_password': '-EG',
    'nova.compute_host': 'REG',
    'mq.password': 'REG',
    'keystone.url': 'REG',
  },
  rogue: {
    'db.url': 'REG',
    'db.keystone_password': '-EG',
    'db.root_password': '-EG',
    'nova.compute_host': 'REG',
    'mq.password': '-EG',
    'keystone.url': 'REG',
  },
  compute: {
    'db.url': 'REG',
    'db.keystone_password': '-EG',
    'db.root_password': '-EG',
    'nova.compute_host': 'REG',
    'mq.password': 'REG',
    'keystone.url': 'REG',
  },
  stagingDb: {
    'db.url': 'REG',
    'db.keystone_password': '-EG',
    'db.root_password': '-EG',
    'nova.compute_host': 'REG',
    'mq.password': '-EG',
    'keystone.url': 'REG',
  },
  ops: {
    'db.url': 'REG',
    'db.keystone_password': '-EG',
    'db.root_password': '-EG',
    'nova.compute_host': 'REG',
    'mq.password': '-EG',
    'keystone.url': 'REG',
  },
};

function actual(policy: CompiledPolicy, caller: Caller, fact: ReadableFact): string {
  const p = policy.forCaller(caller);
  return (p.canRead(fact) ? 'R' : '-') + (p.canExport(fact) ? 'E' : '-') + (p.canGenerate(fact) ? 'G' : '-');
}

function explained(policy: CompiledPolicy, caller: Caller, fact: ReadableFact): string {
  return (['read', 'export', 'generate'] as const).map((a, i) => (policy.explain(caller, a, fact).allowed ? 'REG'[i] : '-')).join('');
}

function checkMatrix(label: string, policy: () => CompiledPolicy, expected: Expected) {
  describe(label, () => {
    for (const [who, row] of Object.entries(expected)) {
      for (const [fact, cell] of Object.entries(row)) {
        it(`${who} × ${fact}: ${cell}`, () => {
          expect(actual(policy(), CALLERS[who], FACTS[fact]), 'canRead/canExport/canGenerate').to.equal(cell);
          expect(explained(policy(), CALLERS[who], FACTS[fact]), 'explain').to.equal(cell);
        });
      }
    }
  });
}

describe('policy matrix', () => {
  let compiled: CompiledPolicy;
  before(() => {
    compiled = compilePolicy(POLICY, 'matrix.yaml');
  });

  it('covers every caller and fact in both tables', () => {
    for (const table of [WITH_RULES, DEFAULTS]) {
      expect(Object.keys(table)).to.have.members(Object.keys(CALLERS));
      for (const row of Object.values(table)) expect(Object.keys(row)).to.have.members(Object.keys(FACTS));
    }
  });

  checkMatrix('with allow and deny rules', () => compiled, WITH_RULES);
  checkMatrix('with the defaults (no policy file)', () => DEFAULT_POLICY, DEFAULTS);

  it('names the deciding rule and the basis of each decision', () => {
    const e = (who: string, action: 'read' | 'export' | 'generate', fact: string) => compiled.explain(CALLERS[who], action, FACTS[fact]);
    expect(e('keystone', 'read', 'db.keystone_password')).to.include({ allowed: true, basis: 'rule' });
    expect(e('keystone', 'read', 'db.keystone_password').rule).to.include({
      index: 1,
      line: 7,
      name: 'keystone reads its database password',
    });
    // First match: rules[5] lets the compute node in before rules[6] shuts everyone else out.
    expect(e('compute', 'read', 'mq.password').rule?.index).to.equal(5);
    expect(e('keystone', 'read', 'mq.password')).to.deep.include({ allowed: false, basis: 'rule' });
    expect(e('keystone', 'read', 'mq.password').rule?.index).to.equal(6);
    // A secrets admin's earlier allow wins over the later deny.
    expect(e('ops', 'read', 'mq.password').rule?.index).to.equal(0);
    expect(e('db', 'read', 'db.root_password')).to.include({ basis: 'own_export', rule: null });
    expect(e('db', 'read', 'db.keystone_password')).to.include({ basis: 'default_requester' });
    expect(e('rogue', 'read', 'db.keystone_password')).to.include({ basis: 'default_sensitive', allowed: false });
    expect(e('stagingDb', 'export', 'db.url')).to.include({ basis: 'default_restricted', allowed: false });
    expect(e('keystone', 'read', 'db.url')).to.include({ basis: 'default_non_sensitive', allowed: true });
    expect(DEFAULT_POLICY.explain(CALLERS.rogue, 'export', FACTS['db.url'])).to.include({ basis: 'default_open', allowed: true });
  });

  it('says which rule missed the caller, and why', () => {
    const r = compiled.explain(CALLERS.rogue, 'read', FACTS['db.keystone_password']);
    expect(r.skipped.map((s) => [s.rule.index, s.why])).to.deep.equal([
      [0, 'the caller has no pp_auth_role (the rule wants secrets_admin)'],
      [1, 'certname is "rogue.example.com", not keystone*.example.com'],
      [4, 'pp_role is "keystone", not compute'],
    ]);
    const staging = compiled.explain(CALLERS.stagingDb, 'generate', FACTS['db.keystone_password']);
    expect(staging.skipped.map((s) => s.why)).to.deep.equal(['environment is "staging", not production']);
  });

  it('a deny rule takes a generated secret away from its requester; the exporter keeps its own value', () => {
    const requester = { ...CALLERS.keystone };
    expect(DEFAULT_POLICY.forCaller(requester).canRead(FACTS['mq.password'])).to.equal(true);
    expect(compiled.forCaller(requester).canRead(FACTS['mq.password'])).to.equal(false);
    const ownSecret: ReadableFact = { ...FACTS['mq.password'], exporters: ['keystone.example.com'] };
    expect(compiled.forCaller(requester).canRead(ownSecret)).to.equal(true);
  });
});
