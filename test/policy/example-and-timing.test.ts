/**
 * The Kickstack example's policy against what the example's roles publish and wait for
 * (puppet-module/examples/kickstack), and the cost of one view: 10,000 facts × 500 rules.
 */

import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Caller } from '../../src/identity/caller';
import { type CompiledPolicy, compilePolicy, type ReadableFact } from '../../src/policy';

const EXAMPLE = path.resolve(__dirname, '..', '..', '..', 'puppet-module', 'examples', 'policy.yaml');

const node = (certname: string, role?: string, environment = 'production'): Caller => ({
  certname: `${certname}.kickstack.test`,
  environment,
  extensions: role ? { pp_role: role } : {},
});
const plain = (id: string, exporter: string): ReadableFact => {
  const [category, name] = id.split('.');
  return { category, name, sensitive: false, exporters: [`${exporter}.kickstack.test`] };
};
const secret = (id: string, requesters: string[] = []): ReadableFact => {
  const [category, name] = id.split('.');
  return { category, name, sensitive: true, exporters: [], requesters: requesters.map((r) => `${r}.kickstack.test`) };
};

describe('the Kickstack example policy', () => {
  let policy: CompiledPolicy;
  before(() => {
    policy = compilePolicy(fs.readFileSync(EXAMPLE, 'utf8'), EXAMPLE);
  });
  const may = (caller: Caller, action: 'read' | 'export' | 'generate', fact: ReadableFact) => policy.explain(caller, action, fact).allowed;

  // What each role publishes (manifests/role/*.pp) and what its gates wait for.
  const roles: { caller: Caller; exports: string[]; reads: string[] }[] = [
    { caller: node('db', 'database'), exports: ['db.keystone_url', 'db.nova_url'], reads: [] },
    { caller: node('mq1', 'mq'), exports: ['mq.rpc_backend', 'rabbitmq.host', 'qpid.host'], reads: [] },
    { caller: node('keystone', 'keystone'), exports: ['keystone.url'], reads: ['db.keystone_url', 'mq.rpc_backend', 'rabbitmq.host'] },
    {
      caller: node('nova', 'nova_api'),
      exports: ['nova.api_url'],
      reads: ['db.nova_url', 'keystone.url', 'mq.rpc_backend', 'rabbitmq.host'],
    },
    { caller: node('compute', 'compute'), exports: [], reads: ['nova.api_url', 'mq.rpc_backend', 'rabbitmq.host'] },
    {
      caller: node('allinone', 'allinone', 'stacked'),
      exports: ['db.keystone_url', 'db.nova_url', 'mq.rpc_backend', 'rabbitmq.host', 'keystone.url', 'nova.api_url'],
      reads: ['db.keystone_url', 'db.nova_url', 'keystone.url', 'nova.api_url', 'mq.rpc_backend', 'rabbitmq.host'],
    },
  ];
  for (const { caller, exports, reads } of roles) {
    it(`${caller.certname} (${caller.extensions.pp_role}) exports and reads what its role needs`, () => {
      for (const f of exports) expect(may(caller, 'export', plain(f, 'x')), `export ${f}`).to.equal(true);
      for (const f of reads) expect(may(caller, 'read', plain(f, 'other')), `read ${f}`).to.equal(true);
      // and nothing the other roles publish
      for (const f of ['db.keystone_url', 'keystone.url', 'nova.api_url', 'mq.rpc_backend'].filter((x) => !exports.includes(x))) {
        expect(may(caller, 'export', plain(f, 'x')), `export ${f}`).to.equal(false);
      }
    });
  }

  it('a node whose certificate names no role may read published facts but export nothing', () => {
    const bare = node('new');
    expect(may(bare, 'read', plain('keystone.url', 'keystone'))).to.equal(true);
    expect(may(bare, 'export', plain('keystone.url', 'x'))).to.equal(false);
    expect(may(bare, 'export', plain('misc.anything', 'x'))).to.equal(false);
  });

  it('compute nodes see no database facts', () => {
    expect(may(node('compute', 'compute'), 'read', plain('db.nova_url', 'db'))).to.equal(false);
  });

  it('passwords: the database generates them; each service reads its own; others none, requesters included', () => {
    const db = node('db', 'database');
    const keystone = node('keystone', 'keystone');
    const nova = node('nova', 'nova_api');
    const compute = node('compute', 'compute');
    expect(may(db, 'generate', secret('db.keystone_password'))).to.equal(true);
    expect(may(db, 'read', secret('db.keystone_password'))).to.equal(true);
    expect(may(keystone, 'generate', secret('db.keystone_password'))).to.equal(false);
    expect(may(keystone, 'read', secret('db.keystone_password'))).to.equal(true);
    expect(may(keystone, 'read', secret('db.nova_password', ['keystone']))).to.equal(false);
    expect(may(nova, 'read', secret('db.nova_password'))).to.equal(true);
    expect(may(compute, 'read', secret('mq.password'))).to.equal(true);
    expect(may(compute, 'read', secret('db.nova_password', ['compute']))).to.equal(false);
    // The role alone is a claim: a node calling itself keystone gets no password.
    expect(may(node('impostor', 'keystone'), 'read', secret('db.keystone_password'))).to.equal(false);
    expect(may(node('mq2', 'mq'), 'generate', secret('mq.password'))).to.equal(true);
  });
});

describe('policy evaluation cost (one view: 10,000 facts × 500 rules)', function () {
  this.timeout(60_000);

  /** 500 rules over 50 roles and 100 categories: literal names, name globs, category globs, denies. */
  function bigPolicy(): string {
    const lines = ['rules:'];
    for (let i = 0; i < 500; i++) {
      const role = `role${i % 50}`;
      const shape = i % 5;
      const facts =
        shape === 0
          ? `cat${i % 100}.name${i % 100}`
          : shape === 1
            ? `cat${i % 100}.name*`
            : shape === 2
              ? `cat${i % 10}?.n*e${i % 7}`
              : shape === 3
                ? `*.name${i % 100}`
                : `cat${i % 100}.*`;
      const who = i % 4 === 0 ? `{certname: "node${i % 50}*.example.com", pp_role: ${role}}` : i % 7 === 0 ? '{}' : `{pp_role: ${role}}`;
      lines.push(
        `  - {match: ${who}, ${i % 9 === 0 ? 'deny' : 'allow'}: [read${i % 3 === 0 ? ', export' : ''}], facts: ["${facts}"]${i % 2 ? ', sensitive: true' : ''}}`,
      );
    }
    return `${lines.join('\n')}\n`;
  }

  const facts: ReadableFact[] = [];
  for (let i = 0; i < 10_000; i++) {
    facts.push({
      category: `cat${i % 100}`,
      name: `name${Math.floor(i / 100)}`,
      sensitive: i % 3 === 0,
      exporters: [`node${i % 200}.example.com`],
      requesters: i % 30 === 0 ? ['node7.example.com'] : undefined,
    });
  }

  it("stays well inside one request's budget, cold and warm", () => {
    const t0 = process.hrtime.bigint();
    const policy = compilePolicy(bigPolicy(), 'big.yaml');
    const compileMs = Number(process.hrtime.bigint() - t0) / 1e6;
    expect(policy.rules).to.have.length(500);

    const callers: Caller[] = [
      { certname: 'node7.example.com', environment: 'production', extensions: { pp_role: 'role7' } },
      { certname: 'other.example.com', environment: 'production', extensions: { pp_role: 'role3' } },
      { certname: 'bare.example.com', environment: 'production', extensions: {} },
    ];
    const report: string[] = [];
    for (const caller of callers) {
      const time = () => {
        const start = process.hrtime.bigint();
        const p = policy.forCaller(caller);
        let readable = 0;
        for (const f of facts) if (p.canRead(f)) readable++;
        return { ms: Number(process.hrtime.bigint() - start) / 1e6, readable };
      };
      const cold = time();
      const warm = time();
      expect(warm.readable).to.equal(cold.readable);
      // Independent check of a sample against explain (which takes the slow path's bookkeeping).
      for (let i = 0; i < facts.length; i += 97)
        expect(policy.forCaller(caller).canRead(facts[i])).to.equal(policy.explain(caller, 'read', facts[i]).allowed);
      report.push(
        `${caller.certname} (${caller.extensions.pp_role ?? 'no role'}, ${policy.forCaller(caller).ruleCount} of 500 rules apply): cold ${cold.ms.toFixed(1)} ms, warm ${warm.ms.toFixed(1)} ms, ${cold.readable} readable`,
      );
      // Speed is the bench's job (bench/policy.ts); the figure printed here is only a hint.
    }
    console.log(`      compile 500 rules: ${compileMs.toFixed(1)} ms`);
    for (const line of report) console.log(`      ${line}`);
  });
});
