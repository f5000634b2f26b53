import fs from 'node:fs';
import { expect } from 'chai';
import { AuditQueries } from '../../src/audit/audit-queries';
import { startTestBroker, type TestBroker, tempDir } from '../support/broker';
import { runCli } from '../support/cli';
import type { Client } from '../support/client';
import { sleep } from '../support/wait';

const POLICY = `rules:
  - name: keystone reads the database password
    match: { pp_role: keystone }
    allow: read
    facts: [db.password]
    sensitive: true
  - name: keystone has its service passwords generated
    match: { pp_role: keystone }
    allow: generate
    facts: ["keystone.*_password"]
  - name: the database exports db and internal facts
    match: { pp_role: db }
    allow: export
    facts: ["db.*", "internal.*"]
  - name: nobody else reads internal facts
    deny: read
    facts: ["internal.*"]
`;

/** The policy as the API enforces it: real broker, real certificates (alice: db, bob: keystone, carol: web). */
describe('access policy enforced by the broker', function () {
  this.timeout(60_000);
  let t: TestBroker;
  let alice: Client;
  let bob: Client;
  let carol: Client;

  before(async () => {
    t = await startTestBroker({ policy: POLICY });
    alice = t.client(t.pki.clients.alice);
    bob = t.client(t.pki.clients.bob);
    carol = t.client(t.pki.clients.carol);
  });
  after(() => t?.close());

  it('lets a node export only what a rule allows, once export rules exist', async () => {
    expect((await alice.put('/v1/facts/db/url', { value: 'mysql://db1' })).status).to.equal(201);
    const web = await alice.put('/v1/facts/web/url', { value: 'x' });
    expect(web.status).to.equal(403);
    expect(web.json.error.code).to.equal('policy_denied');
    expect(web.json.error.message).to.contain('web.url');
    expect((await bob.put('/v1/facts/keystone/url', { value: 'http://ks' })).status).to.equal(403);
    expect((await alice.get('/v1/exports')).json.exports.map((e: { name: string }) => e.name)).to.deep.equal(['url']);
  });

  it('hands a sensitive fact only to its exporter and to the nodes a rule names; others get 404', async () => {
    expect((await alice.put('/v1/facts/db/password', { value: 'pw-1', sensitive: true })).status).to.equal(201);
    expect((await alice.get('/v1/secrets/db/password')).json.value).to.equal('pw-1');
    expect((await bob.get('/v1/secrets/db/password')).json.value).to.equal('pw-1');
    const refused = await carol.get('/v1/secrets/db/password');
    expect(refused.status).to.equal(404);
    expect(refused.json.error.code).to.equal('secret_not_found');
    expect((await bob.get('/v1/facts')).json.secrets.db.password.version).to.be.a('number');
    expect((await carol.get('/v1/facts')).json.secrets).to.deep.equal({});
  });

  it('filters non-sensitive facts by deny rules, but never hides a node’s own facts from it', async () => {
    await alice.put('/v1/facts/internal/build', { value: 'b42' });
    expect((await alice.get('/v1/facts')).json.facts.internal).to.deep.equal({ build: 'b42' });
    expect((await bob.get('/v1/facts')).json.facts.internal).to.equal(undefined);
    expect((await bob.get('/v1/facts/internal')).json.facts).to.deep.equal({});
    expect((await carol.get('/v1/facts')).json.facts.db).to.deep.equal({ url: 'mysql://db1' });
  });

  it('lets only allowed nodes have secrets generated, and lets requesters read them', async () => {
    const made = await bob.request('POST', '/v1/secrets/keystone/admin_password/generate', { body: {} });
    expect(made.status).to.equal(201);
    expect((await bob.get('/v1/secrets/keystone/admin_password')).json.value).to.equal(made.json.value);
    expect((await carol.get('/v1/secrets/keystone/admin_password')).status).to.equal(404);
    const denied = await carol.request('POST', '/v1/secrets/keystone/admin_password/generate', { body: {} });
    expect(denied.status).to.equal(403);
    expect(denied.json.error.code).to.equal('policy_denied');
    expect(denied.text).to.not.contain(made.json.value);
  });

  it('records refusals in the audit trail', async () => {
    await t.broker.audit.flushRefusals();
    const events = await new AuditQueries(t.broker.store).events({
      actor: t.pki.clients.carol.certname,
      action: 'access.refused',
      limit: 50,
    });
    // The first refusal of a reason is an event of its own; later ones in the window are summed
    // into one event per node and reason that names its targets.
    const refused = events.flatMap((e) => {
      const detail = e.detail as { reason: string; targets?: string[] };
      const targets = e.category ? [`${e.category}.${e.name}`] : (detail.targets ?? []).map((t) => t.slice(t.indexOf('/') + 1));
      return targets.map((target) => `${target}:${detail.reason}`);
    });
    expect(refused).to.include.members(['db.password:policy_denied', 'keystone.admin_password:policy_denied']);
  });

  it("sums a node's refusals per reason and window: 1,000 refused writes to distinct names are two events", async () => {
    await t.broker.audit.flushRefusals();
    const count = async () =>
      (await t.broker.store.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_events WHERE actor = 'bob.test'")).rows[0].n;
    const before = await count();
    const agent = bob.keepAliveAgent();
    for (let i = 0; i < 1000; i++) expect((await bob.put(`/v1/facts/probe/name_${i}`, { value: i }, { agent })).status).to.equal(403);
    agent.destroy();
    await t.broker.audit.flushRefusals();
    expect((await count()) - before).to.equal(2);
    const [repeated] = await new AuditQueries(t.broker.store).events({ actor: 'bob.test', action: 'access.refused.repeated', limit: 1 });
    expect(repeated.count).to.equal(999);
    expect((repeated.detail as { targets: string[] }).targets)
      .to.have.length(20)
      .and.include('production/probe.name_1');
  });

  it('puts the policy version in the view’s ETag: a changed policy is never answered with 304', async () => {
    const before = await carol.get('/v1/facts');
    expect((await carol.get('/v1/facts', { headers: { 'If-None-Match': before.headers.etag as string } })).status).to.equal(304);
    const widened = `${POLICY}  - name: web reads the database password now
    match: { pp_role: web }
    allow: read
    facts: [db.password]
    sensitive: true
`;
    const oldVersion = t.broker.policy.current.version;
    fs.writeFileSync(t.config.policy!.file, widened);
    for (let i = 0; i < 50 && t.broker.policy.current.version === oldVersion; i++) await sleep(100);
    const after = await carol.get('/v1/facts', { headers: { 'If-None-Match': before.headers.etag as string } });
    expect(after.status).to.equal(200);
    expect(after.json.secrets.db.password.version).to.be.a('number');
    expect((await carol.get('/v1/secrets/db/password')).json.value).to.equal('pw-1');
    const changes = await new AuditQueries(t.broker.store).events({ action: 'policy.change', limit: 5 });
    expect(changes[0].detail).to.include({ version: t.broker.policy.current.version, previous: oldVersion });
  });

  it('keeps the policy in force when a reload finds a broken file, and says so in health', async () => {
    const inForce = t.broker.policy.current.version;
    fs.writeFileSync(t.config.policy!.file, 'rules:\n  - allow: read\n    facts: [db.URL]\n');
    for (let i = 0; i < 50 && t.broker.policy.status().last_error === null; i++) await sleep(100);
    expect(t.broker.policy.current.version).to.equal(inForce);
    // Nodes learn that the broker is degraded, not which file is broken or why.
    expect((await alice.get('/v1/health')).json).to.deep.equal({ status: 'degraded' });
    expect((await t.broker.health.report()).policy.last_error).to.match(/policy\.yaml:3:\d+: /);
    expect((await carol.get('/v1/secrets/db/password')).status).to.equal(200); // the widened policy still holds
    expect((await alice.put('/v1/facts/web/url', { value: 'x' })).status).to.equal(403); // and so do its limits
  });
});

describe('policy files at the command line', function () {
  this.timeout(60_000);
  it('refuses to serve with a broken policy, naming the line; policy check and explain work from the installed command', async () => {
    const dir = tempDir('policy-cli');
    fs.writeFileSync(`${dir}/bad.yaml`, 'rules:\n  - allow: raed\n    facts: [db.url]\n');
    fs.writeFileSync(`${dir}/good.yaml`, POLICY);
    const serve = await runCli([
      'serve',
      '--dev-ca',
      `${dir}/certs`,
      '--listen',
      '127.0.0.1:0',
      '--data-dir',
      `${dir}/data`,
      '--policy',
      `${dir}/bad.yaml`,
    ]);
    expect(serve.code).to.equal(2);
    expect(serve.stderr).to.match(/bad\.yaml:2:\d+: unknown action "raed"/);
    expect(
      serve.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('exportfact:')),
    ).to.have.length(1);
    const check = await runCli(['policy', 'check', `${dir}/good.yaml`]);
    expect(check.code).to.equal(0, check.stderr);
    const explain = await runCli([
      'policy',
      'explain',
      `${dir}/good.yaml`,
      '--certname',
      'bob.test',
      '--ext',
      'pp_role=keystone',
      '--sensitive',
      'db',
      'password',
    ]);
    expect(explain.code).to.equal(0, explain.stderr);
    expect(explain.stdout).to.match(/keystone reads the database password/);
  });
});
