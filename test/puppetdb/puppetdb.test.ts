/**
 * Moving a live estate off the old module, and node liveness from PuppetDB, against the real
 * thing: a puppetserver (Debian's package) with storeconfigs on a PuppetDB (Debian's package,
 * on its own database of the machine's PostgreSQL), agents in agent mode, the broker and the
 * CLI built from this repository.
 *
 * 1. Four nodes export facts through the old module 0.1.1 (fixtures/exportfact-0.1.1): the
 *    Augeas and File_line twins land in PuppetDB.
 * 2. `exportfact migrate from-puppetdb`, dry run then --apply, brings them into the broker;
 *    again, it creates nothing; bad input is one line naming what and where.
 * 3. The new module on the same nodes reads the imported values in its first run.
 * 4. `puppet node deactivate` of an exporter: the liveness poll deactivates it in the broker,
 *    its facts vanish from the others' next run; PuppetDB bringing it back brings it back.
 *
 * Needs root (it installs and runs puppetserver and PuppetDB, and runs puppet agent); it fails,
 * never skips, when they cannot be installed or started. PuppetDB and puppetserver start once
 * for the whole file (~2 GB together).
 */

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { AgentNode, httpsJson } from '../puppet/agent-support';
import { explain, freePort, MODULE_DIR, removeTempDir, sleep, succeeded, tempDir } from '../puppet/support';
import {
  ensureOldModuleDependencies,
  issueCertificate,
  MemorySampler,
  PdbBroker,
  PuppetDb,
  pdbQuery,
  replaceFacts,
  StoreconfigsServer,
  type Tls,
  tlsOf,
  writeOldModule,
} from './support';

const DB = 'db.pdb.test';
const MQ = 'mq.pdb.test';
const WEB = 'web.pdb.test';
const STAGE = 'stage.pdb.test';
const BULK = 'bulk.pdb.test';
/** A certificate of the Puppet CA that PuppetDB's allowlist leaves out. */
const REFUSED = 'refused.pdb.test';
const PASSWORD = 'canary-db-password-7f3a';
/** How often the broker under test polls PuppetDB (60 s in production). */
const INTERVAL_S = 2;
/** Exports of the bulk node, for the importer's speed (two resources each: the Augeas and File_line twins). */
const BULK_EXPORTS = 500;

// biome-ignore lint/suspicious/noExplicitAny: JSON of the admin API
type Json = any;

describe('PuppetDB: importing the old module, and node liveness (real puppetserver + PuppetDB)', function () {
  this.timeout(900_000);
  let root: string;
  let server: StoreconfigsServer | undefined;
  let puppetdb: PuppetDb | undefined;
  let broker: PdbBroker | undefined;
  const nodes = new Map<string, AgentNode>();
  let adminTls: Tls;
  let memory: MemorySampler | undefined;
  let phase = 'start-up';
  const t0 = Date.now();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`;
  const node = (name: string) => nodes.get(name)!;
  const seen = (name: string): Json => JSON.parse(fs.readFileSync(path.join(root, 'seen', `${name}.json`), 'utf8'));
  const events = async (action: string): Promise<Json[]> => (await broker!.admin(`/audit/events?action=${action}&limit=1000`)).events;
  const agentRuns = async (names: string[]) => {
    const results = await Promise.all(names.map((n) => node(n).agent()));
    for (const r of results) expect(succeeded(r), explain(r)).to.equal(true);
    return results;
  };

  /** site.pp with the old module: what the estate looked like before the move. */
  const oldSite = () => `
node '${DB}' {
  include exportfact
  exportfact::export { 'db_host': value => '${DB}', category => 'mysql' }
  exportfact::export { 'db_password': value => '${PASSWORD}', category => 'mysql' }
}
node '${MQ}' {
  include exportfact
  exportfact::export { 'mq_host': value => '${MQ}', category => 'rabbitmq' }
  exportfact::export { 'mq_port': value => '5672', category => 'rabbitmq' }
  exportfact::export { 'cluster_name': value => 'from-mq', category => 'common' }
}
node '${WEB}' {
  include exportfact
  exportfact::export { 'web_url': value => 'http://${WEB}/', category => 'web' }
  exportfact::export { 'motd': value => 'hello from web', category => 'web' }
  exportfact::export { 'cluster_name': value => 'from-web', category => 'common' }
  exportfact::export { 'Bad-Name': value => 'x', category => 'web' }
  # Not an export of the module: an Augeas resource of another kind in its namespace.
  @@augeas { 'fact_retired_lin':
    context => '/files${root}/facter/facts.d/web.txt', incl => '${root}/facter/facts.d/web.txt',
    lens => 'Shellvars.lns', changes => 'rm retired', tag => ['fact_web'],
  }
}
node '${STAGE}' {
  include exportfact
  exportfact::export { 'app_url': value => 'http://${STAGE}/', category => 'app' }
}
`;

  /** site.pp with the new module: the same nodes, the old interface kept; each writes what it reads. */
  const newSite = () => {
    const common = `class { 'exportfact': old_factsdir => '${root}/facter/facts.d' }`;
    const report = (n: string) => `file { '${root}/seen/${n}.json': content => to_json($facts['exportfact']) }`;
    return `
node '${DB}' {
  ${common}
  exportfact::export { 'db_host': value => '${DB}', category => 'mysql' }
  # A credential leaves the manifest: published from a file on the node, as a secret.
  exportfact_secret_export { 'mysql.db_password': source => '${root}/secrets/db_password' }
  ${report(DB)}
}
node '${MQ}' {
  ${common}
  exportfact::export { 'mq_host': value => '${MQ}', category => 'rabbitmq' }
  exportfact::export { 'mq_port': value => '5673', category => 'rabbitmq' }
  ${report(MQ)}
}
node '${WEB}' {
  ${common}
  exportfact::export { 'web_url': value => 'http://${WEB}/', category => 'web' }
  exportfact::export { 'motd': value => 'hello from web', category => 'web' }
  exportfact_secret_file { '${root}/seen/web-db-password': secret => 'mysql.db_password', mode => '0600' }
  ${report(WEB)}
}
node default {
  ${common}
}
`;
  };

  before(async function () {
    if (process.env.EXPORTFACT_SKIP_PUPPET === '1') this.skip(); // `npm run test:broker` only; CI never sets it
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      throw new Error('the PuppetDB test needs root (it installs and runs puppetserver and PuppetDB, and puppet agent); CI runs as root');
    }
    memory = new MemorySampler(() => phase);
    root = tempDir('puppetdb');
    await ensureOldModuleDependencies();
    const database = `exportfact_puppetdb_${process.pid}`;
    puppetdb = new PuppetDb(path.join(root, 'puppetdb'), await freePort(), database);
    server = new StoreconfigsServer(path.join(root, 'server'), await freePort(), puppetdb.url);
    await server.setup(); // the CA, so PuppetDB has its certificate (the server's, `localhost`)
    // PuppetDB answers the server and the broker (both `localhost`), not REFUSED.
    await Promise.all([puppetdb.start(server.ssldir, ['localhost']), server.start()]);
    memory.track(server.pid);
    memory.track(puppetdb.pid);
    await issueCertificate(server, REFUSED, ['localhost']);
    console.log(`      puppetserver (port ${server.port}) and PuppetDB (port ${puppetdb.port}) ready after ${elapsed()}`);
    adminTls = tlsOf(server.ssldir, 'localhost');

    // The broker first, as the migration guide says: it polls PuppetDB from the start.
    fs.mkdirSync(path.join(root, 'seen'), { recursive: true });
    fs.mkdirSync(path.join(root, 'secrets'), { recursive: true });
    fs.writeFileSync(path.join(root, 'secrets', 'db_password'), PASSWORD, { mode: 0o600 });
    const policy = path.join(root, 'policy.yaml');
    fs.writeFileSync(
      policy,
      `rules:\n  - name: web reads the database password\n    match: { certname: ${WEB} }\n    allow: read\n    facts: [mysql.db_password]\n    sensitive: true\n`,
    );
    broker = await PdbBroker.start({
      ssldir: server.ssldir,
      certname: 'localhost',
      workDir: path.join(root, 'broker'),
      args: ['--puppetdb-url', puppetdb.url, '--puppetdb-interval', String(INTERVAL_S), '--policy', policy],
    });

    const modules = path.join(server.production, 'modules');
    writeOldModule(modules, path.join(root, 'facter'));
    fs.writeFileSync(path.join(server.production, 'manifests', 'site.pp'), oldSite());
    for (const name of [DB, MQ, WEB, STAGE, BULK]) {
      const n = new AgentNode(name, root, server);
      n.setup(broker.url);
      nodes.set(name, n);
    }
    // STAGE's certificate carries pp_environment: its facts belong to the broker's "staging".
    fs.writeFileSync(path.join(node(STAGE).confdir, 'csr_attributes.yaml'), 'extension_requests:\n  pp_environment: staging\n');
  });

  after(async function () {
    this.timeout(180_000);
    phase = 'shutdown';
    await broker?.stop();
    await server?.stop();
    await puppetdb?.stop(true);
    memory?.stop();
    if (server) {
      console.log(
        `      PuppetDB file: ${elapsed()} in all; peak memory ${((memory?.peakBytes ?? 0) / 2 ** 20).toFixed(0)} MiB (${memory?.peakAt})`,
      );
    }
    removeTempDir(root);
  });

  it('the old module 0.1.1 exports through a real puppetserver into PuppetDB (storeconfigs): Augeas and File_line twins', async () => {
    phase = 'old module: first agent runs';
    const started = Date.now();
    // BULK's first run (certificate, pluginsync) happens now too, in an environment of its own
    // that exports nothing yet: its exports come later, for the importer's speed.
    const bulkEnv = path.join(path.dirname(server!.production), 'bulk');
    fs.mkdirSync(path.join(bulkEnv, 'manifests'), { recursive: true });
    fs.writeFileSync(path.join(bulkEnv, 'environment.conf'), 'environment_timeout = 0\n');
    writeOldModule(path.join(bulkEnv, 'modules'), path.join(root, 'facter'));
    fs.writeFileSync(path.join(bulkEnv, 'manifests', 'site.pp'), 'include exportfact\n');
    await agentRuns([DB, MQ, WEB]);
    const [, bulk] = await Promise.all([agentRuns([STAGE]), node(BULK).agent(['--environment', 'bulk'])]);
    expect(succeeded(bulk), explain(bulk)).to.equal(true);
    console.log(`      first runs of five nodes (old module) in ${((Date.now() - started) / 1000).toFixed(0)} s, at ${elapsed()}`);
    // PuppetDB stores catalogs asynchronously: wait until every node's exports are there.
    const query = ['and', ['=', 'exported', true], ['~', 'title', '^fact_']];
    let resources: Json[] = [];
    for (let i = 0; i < 60; i++) {
      resources = await pdbQuery<Json[]>(puppetdb!, adminTls, '/pdb/query/v4/resources', query);
      if (new Set(resources.map((r) => r.certname)).size === 4) break;
      await sleep(500);
    }
    const of = (certname: string, type: string, title: string) =>
      resources.find((r) => r.certname === certname && r.type === type && r.title === title);
    const augeas = of(DB, 'Augeas', 'fact_db_host_lin');
    expect(augeas?.parameters.changes, JSON.stringify(resources.map((r) => `${r.certname} ${r.type}[${r.title}]`))).to.equal(
      `set db_host ${DB}`,
    );
    expect(augeas.tags).to.include('fact_mysql');
    expect(augeas.parameters.incl).to.equal(`${root}/facter/facts.d/mysql.txt`);
    const fileLine = of(DB, 'File_line', 'fact_db_host_win');
    expect(fileLine?.parameters.line).to.equal(`db_host=${DB}`);
    expect(fileLine.parameters.path).to.match(/facts\.d\/mysql\.txt$/);
    // The credential, in plaintext, queryable by anyone PuppetDB answers: what the move ends.
    expect(of(DB, 'Augeas', 'fact_db_password_lin')?.parameters.changes).to.equal(`set db_password ${PASSWORD}`);
    expect(resources.filter((r) => r.certname === WEB)).to.have.length(9); // 4 exports × 2, and the odd one
  });

  let dryRun: { code: number; stdout: string; stderr: string };
  it('dry run (the default): a table of what would be imported, conflicts and skipped resources named; nothing written', async () => {
    phase = 'import: dry run';
    // MQ already runs the new module somewhere and published another port: the import must keep it.
    const published = await node(MQ).request(`${broker!.url}/v1/facts/rabbitmq/mq_port`, { method: 'PUT', body: { value: '5673' } });
    expect(published.status, JSON.stringify(published.body)).to.equal(201);

    dryRun = await broker!.cli(['migrate', 'from-puppetdb', '--puppetdb-url', puppetdb!.url]);
    console.log(`      --- exportfact migrate from-puppetdb (exit ${dryRun.code})\n${dryRun.stdout}${dryRun.stderr}      ---`);
    expect(dryRun.code, dryRun.stderr).to.equal(1); // something is in conflict or skipped
    const rows = tableRows(dryRun.stdout);
    expect(rows).to.deep.include.members([
      [DB, 'production', 'mysql', 'db_host', DB, 'create'],
      [DB, 'production', 'mysql', 'db_password', '(sensitive)', 'create'],
      [MQ, 'production', 'rabbitmq', 'mq_host', MQ, 'create'],
      [MQ, 'production', 'rabbitmq', 'mq_port', '5672', 'conflict'],
      [MQ, 'production', 'common', 'cluster_name', 'from-mq', 'conflict'],
      [WEB, 'production', 'common', 'cluster_name', 'from-web', 'conflict'],
      [WEB, 'production', 'web', 'web_url', `http://${WEB}/`, 'create'],
      [WEB, 'production', 'web', 'motd', 'hello from web', 'create'],
      [STAGE, 'staging', 'app', 'app_url', `http://${STAGE}/`, 'create'],
    ]);
    expect(rows, 'one row per export: the Augeas and File_line twins are read as one').to.have.length(9);
    expect(dryRun.stdout).to.include('dry run: nothing written');
    expect(dryRun.stdout).to.match(/mq\.pdb\.test rabbitmq\.mq_port: mq\.pdb\.test already published another value/);
    expect(dryRun.stdout).to.match(/common\.cluster_name: 2 nodes export common\.cluster_name \(mq\.pdb\.test, web\.pdb\.test\)/);
    // Whitespace: the old readers got "hello" only; the import takes the manifest's value, and says so.
    expect(dryRun.stdout).to.match(/web\.pdb\.test Augeas\[fact_motd_lin\]: the value of web\.motd holds whitespace/);
    // Skipped: one line each, naming the node and the resource.
    const skipped = dryRun.stderr.trim().split('\n');
    expect(skipped).to.have.length(3); // Bad-Name's twins, and the odd Augeas resource
    expect(dryRun.stderr).to.include(
      `exportfact: skipped ${WEB} Augeas[fact_retired_lin]: its changes (a "rm" command of 2 words) are not "set NAME VALUE"`,
    );
    expect(dryRun.stderr).to.include(
      `exportfact: skipped ${WEB} Augeas[fact_Bad-Name_lin]: the fact name "Bad-Name" is not a Facter-style name`,
    );
    expect(dryRun.stderr).to.include(`exportfact: skipped ${WEB} File_line[fact_Bad-Name_win]:`);
    // The secret's value is in no output, and nothing was written.
    expect(dryRun.stdout + dryRun.stderr).to.not.include(PASSWORD);
    expect(await events('fact.import')).to.have.length(0);
    const view = await node(WEB).request(`${broker!.url}/v1/facts`);
    expect(view.body.facts, 'only what MQ published itself').to.deep.equal({ rabbitmq: { mq_port: '5673' } });
  });

  it('--apply: each export a fact of its node, in its environment; the secret sealed; every write an audit entry by the admin', async () => {
    phase = 'import: apply';
    const applied = await broker!.cli(['migrate', 'from-puppetdb', '--puppetdb-url', puppetdb!.url, '--apply']);
    console.log(`      --- exportfact migrate from-puppetdb --apply (exit ${applied.code})\n${applied.stdout}${applied.stderr}      ---`);
    expect(applied.code, applied.stderr).to.equal(1); // the conflicts and skipped resources are still there
    expect(applied.stdout).to.include('applied: 6 facts written');
    expect(tableRows(applied.stdout).filter((r) => r[5] === 'create')).to.have.length(6);
    expect(applied.stdout + applied.stderr).to.not.include(PASSWORD);

    const view = (await node(WEB).request(`${broker!.url}/v1/facts`)).body;
    expect(view.facts).to.deep.equal({
      mysql: { db_host: DB },
      rabbitmq: { mq_host: MQ, mq_port: '5673' }, // kept: the conflict was not overwritten
      web: { web_url: `http://${WEB}/`, motd: 'hello from web' },
    });
    expect(view.secrets).to.deep.equal({ mysql: { db_password: { version: 1 } } });
    // The secret reaches the node the policy lets read it, over mTLS, and only there.
    const secret = await node(WEB).request(`${broker!.url}/v1/secrets/mysql/db_password`);
    expect([secret.status, secret.body.value]).to.deep.equal([200, PASSWORD]);
    expect((await node(MQ).request(`${broker!.url}/v1/secrets/mysql/db_password`)).status).to.equal(404);
    // STAGE's fact is in staging, where its certificate puts it.
    const staging = (await node(STAGE).request(`${broker!.url}/v1/facts`)).body;
    expect([staging.environment, staging.facts]).to.deep.equal(['staging', { app: { app_url: `http://${STAGE}/` } }]);

    const imports = await events('fact.import');
    expect(imports).to.have.length(6);
    for (const e of imports) {
      expect([e.actor_kind, e.actor]).to.deep.equal(['admin', 'localhost']);
      expect(e.detail.source).to.equal('puppetdb');
    }
    const pw = imports.find((e) => e.name === 'db_password');
    expect(pw.detail).to.deep.include({
      exporter: DB,
      sensitive: true,
      resources: ['Augeas[fact_db_password_lin]', 'File_line[fact_db_password_win]'],
    });
    expect(JSON.stringify(await broker!.admin('/audit/events?limit=1000'))).to.not.include(PASSWORD);
    // The exporters are nodes of the broker now (PuppetDB's word will reach them), last seen when PuppetDB last heard of them.
    const listed = (await broker!.admin('/nodes')).nodes.map((n: Json) => [n.certname, n.environment, n.state]);
    expect(listed).to.deep.include.members([
      [DB, 'production', 'active'],
      [WEB, 'production', 'active'],
      [STAGE, 'staging', 'active'],
    ]);
  });

  it('a second --apply creates nothing: every imported fact is the same', async () => {
    phase = 'import: again';
    const again = await broker!.cli(['migrate', 'from-puppetdb', '--puppetdb-url', puppetdb!.url, '--apply', '--json']);
    const report = JSON.parse(again.stdout);
    expect(report.counts).to.deep.equal({ create: 0, same: 6, conflict: 3, skipped: 3 });
    expect(report.written).to.equal(0);
    expect(await events('fact.import')).to.have.length(6);
    expect(report.rows.find((r: Json) => r.name === 'db_password')).to.not.have.property('value');
  });

  it('bad PuppetDB URLs and certificates: one line naming what and where, exit 1, nothing written', async () => {
    phase = 'import: bad input';
    const before = (await events('fact.import')).length;
    const closed = await freePort();
    const plain = net.createServer((s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]')).listen(0, '127.0.0.1');
    await new Promise((r) => plain.once('listening', r));
    const plainPort = (plain.address() as net.AddressInfo).port;
    const refused = await PdbBroker.start({
      ssldir: server!.ssldir,
      certname: REFUSED,
      workDir: path.join(root, 'refused-broker'),
      args: [],
    });
    try {
      const cases: [string, string[], RegExp][] = [
        [
          'unreachable',
          ['--puppetdb-url', `https://localhost:${closed}`],
          /cannot reach PuppetDB at https:\/\/localhost:\d+ \(ECONNREFUSED\)/,
        ],
        ['not TLS', ['--puppetdb-url', `https://localhost:${plainPort}`], /PuppetDB at https:\/\/localhost:\d+ does not speak TLS/],
        [
          'a query error',
          ['--puppetdb-url', server!.url],
          /PuppetDB at https:\/\/localhost:\d+\/pdb\/query\/v4\/resources answered HTTP 404 to the query/,
        ],
      ];
      for (const [what, args, message] of cases) {
        const r = await broker!.cli(['migrate', 'from-puppetdb', ...args, '--apply']);
        expect([what, r.code, r.stdout], r.stderr).to.deep.equal([what, 1, '']);
        expect(r.stderr.trim().split('\n'), what).to.have.length(1);
        expect(r.stderr, what).to.match(message);
      }
      // A certificate PuppetDB refuses (not on its allowlist): the broker holding it is told so.
      const forbidden = await refused.cli(['migrate', 'from-puppetdb', '--puppetdb-url', puppetdb!.url, '--apply']);
      expect(forbidden.code, forbidden.stderr).to.equal(1);
      expect(forbidden.stderr.trim()).to.match(
        /^exportfact: 502 puppetdb_forbidden: PuppetDB at https:\/\/localhost:\d+\/pdb\/query\/v4\/resources refused the broker's certificate \(HTTP 403\)/,
      );
      // Not https at all: refused before anything is asked (a usage error).
      const http = await broker!.cli(['migrate', 'from-puppetdb', '--puppetdb-url', `http://localhost:${plainPort}`]);
      expect([http.code, http.stderr.trim()]).to.deep.equal([
        2,
        "exportfact: 400 invalid_body: field puppetdb_url must be an https:// URL (PuppetDB's TLS port, 8081 by default), not http:// : its plain port answers anyone without a certificate",
      ]);
    } finally {
      plain.close();
      await refused.stop();
    }
    expect(await events('fact.import')).to.have.length(before);
  });

  it('the new module on the same nodes reads the imported values in its first run (agent mode, one run each)', async () => {
    phase = 'new module: first runs';
    const modules = path.join(server!.production, 'modules');
    fs.rmSync(path.join(modules, 'exportfact'), { recursive: true });
    fs.cpSync(MODULE_DIR, path.join(modules, 'exportfact'), { recursive: true, filter: (src) => !src.includes(`${path.sep}spec`) });
    fs.writeFileSync(path.join(server!.production, 'manifests', 'site.pp'), newSite());
    // WEB first: everything it reads comes from the import (the exporters have not run the new module yet).
    const [web] = await agentRuns([WEB]);
    const expected = {
      mysql: { db_host: DB },
      rabbitmq: { mq_host: MQ, mq_port: '5673' },
      web: { web_url: `http://${WEB}/`, motd: 'hello from web' },
    };
    expect(seen(WEB), explain(web)).to.deep.equal(expected);
    expect(fs.readFileSync(path.join(root, 'seen', 'web-db-password'), 'utf8')).to.equal(PASSWORD);
    const [db, mq] = await agentRuns([DB, MQ]);
    expect(seen(DB), explain(db)).to.deep.equal(expected);
    expect(seen(MQ), explain(mq)).to.deep.equal(expected);
    // Republishing the imported values changes nothing: no new version, the secret included.
    for (const r of [web, db, mq]) expect(r.output, explain(r)).to.not.match(/Exportfact_(fact|secret_export)\[.*\]\/(ensure|value)/);
    expect(await events('fact.change')).to.have.length(0);
    expect(await events('secret.rotate')).to.have.length(0);
  });

  let deactivatedAfter = 0;
  let vanishedAfter = 0;
  it("`puppet node deactivate` of an exporter: the liveness poll deactivates it, its facts vanish from the others' next run", async () => {
    phase = 'liveness: deactivate';
    const started = Date.now();
    await server!.deactivate(MQ);
    let state: Json;
    while (Date.now() - started < 30_000) {
      state = await broker!.admin(`/nodes/${MQ}`);
      if (state.state === 'deactivated') break;
      await sleep(200);
    }
    deactivatedAfter = (Date.now() - started) / 1000;
    expect(state.state, JSON.stringify(state)).to.equal('deactivated');
    expect(state.state_reason).to.match(/^PuppetDB: deactivated at \d{4}-/);
    const [web] = await agentRuns([WEB]);
    vanishedAfter = (Date.now() - started) / 1000;
    expect(seen(WEB), explain(web)).to.deep.equal({ mysql: { db_host: DB }, web: { web_url: `http://${WEB}/`, motd: 'hello from web' } });
    console.log(
      `      ${MQ} deactivated in the broker ${deactivatedAfter.toFixed(1)} s after \`puppet node deactivate\` (poll every ${INTERVAL_S} s); gone from ${WEB}'s facts ${vanishedAfter.toFixed(1)} s after it (its next run)`,
    );
    const audit = (await events('node.deactivate')).find((e) => e.detail.certname === MQ);
    expect([audit.actor_kind, audit.actor]).to.deep.equal(['broker', 'puppetdb']);
    expect(audit.detail.reason).to.match(/^PuppetDB: deactivated at /);
  });

  it("PuppetDB bringing the node back brings it back; an admin's deactivation and a node PuppetDB never heard of are left alone", async () => {
    phase = 'liveness: back';
    // An admin retires DB in the broker: PuppetDB still lists it as active, which must not undo that.
    const retired = await broker!.cli(['nodes', 'deactivate', DB, '--reason', 'moved to the new cluster']);
    expect(retired.code, retired.stderr).to.equal(0);
    // A node that only contacts the broker (puppet apply, say): PuppetDB never heard of it.
    await server!.ca(['generate', '--certname', 'apply-only.pdb.test']);
    const applyOnly = await httpsJson(`${broker!.url}/v1/facts`, tlsOf(server!.ssldir, 'apply-only.pdb.test'));
    expect(applyOnly.status).to.equal(200);

    // PuppetDB hears of MQ again (as at its next agent run) without MQ contacting the broker.
    await replaceFacts(puppetdb!, adminTls, MQ);
    const started = Date.now();
    let mq: Json;
    while (Date.now() - started < 30_000) {
      mq = await broker!.admin(`/nodes/${MQ}`);
      if (mq.state === 'active') break;
      await sleep(200);
    }
    expect([mq.state, mq.state_reason]).to.deep.equal(['active', 'PuppetDB: active again']);
    const back = (await events('node.reactivate')).find((e) => e.detail.certname === MQ);
    expect([back.actor_kind, back.actor]).to.deep.equal(['broker', 'puppetdb']);
    await sleep(3 * INTERVAL_S * 1000); // a few more polls
    const db = await broker!.admin(`/nodes/${DB}`);
    expect([db.state, db.state_reason]).to.deep.equal(['deactivated', 'moved to the new cluster']);
    expect((await broker!.admin('/nodes/apply-only.pdb.test')).state).to.equal('active');
    const health = await broker!.admin('/health');
    console.log(`      admin health, puppetdb: ${JSON.stringify(health.puppetdb)}`);
    expect(health.puppetdb).to.include({ url: `${puppetdb!.url}/`, interval_seconds: INTERVAL_S, last_error: null, stale: false });
    expect(health.puppetdb.last_answer_age_seconds).to.be.below(2 * INTERVAL_S + 1);
    // DB comes back by its own request, as any node does.
    expect((await node(DB).request(`${broker!.url}/v1/facts`)).status).to.equal(200);
  });

  it('the importer on a larger estate: speed (resources/s) of a dry run and an apply', async () => {
    phase = 'import: bulk';
    // BULK exports through the old module from its own environment (production runs the new module by now).
    const bulkEnv = path.join(path.dirname(server!.production), 'bulk');
    fs.writeFileSync(
      path.join(bulkEnv, 'manifests', 'site.pp'),
      `include exportfact\nInteger[1, ${BULK_EXPORTS}].each |$i| {\n  exportfact::export { "setting_\${i}": value => "value-\${i}", category => 'bulk' }\n}\n`,
    );
    const started = Date.now();
    const bulkRun = await node(BULK).agent(['--environment', 'bulk']);
    expect(succeeded(bulkRun), explain(bulkRun)).to.equal(true);
    const query = ['and', ['=', 'certname', BULK], ['=', 'exported', true]];
    for (let i = 0; i < 120; i++) {
      if ((await pdbQuery<Json[]>(puppetdb!, adminTls, '/pdb/query/v4/resources', query)).length >= 2 * BULK_EXPORTS) break;
      await sleep(500);
    }
    console.log(
      `      ${BULK} exported ${BULK_EXPORTS} facts (${2 * BULK_EXPORTS} resources) in ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    for (const mode of ['--dry-run', '--apply', '--apply']) {
      const r = await broker!.cli(['migrate', 'from-puppetdb', '--puppetdb-url', puppetdb!.url, mode, '--json']);
      const report = JSON.parse(r.stdout);
      const bulk = report.rows.filter((row: Json) => row.node === BULK);
      expect(bulk, mode).to.have.length(BULK_EXPORTS);
      console.log(
        `      ${mode}: ${report.resources} resources in ${report.seconds.toFixed(2)} s = ${Math.round(report.resources / report.seconds)} resources/s (create ${report.counts.create}, same ${report.counts.same})`,
      );
    }
    expect(Object.keys((await node(WEB).request(`${broker!.url}/v1/facts/bulk`)).body.facts.bulk)).to.have.length(BULK_EXPORTS);
  });

  it('PuppetDB down: node states stay as PuppetDB last said, and health says how old that answer is', async () => {
    phase = 'liveness: PuppetDB down';
    const before = (await broker!.admin('/nodes')).nodes.map((n: Json) => [n.certname, n.state]);
    await puppetdb!.stop();
    await sleep((3 * INTERVAL_S + 2) * 1000);
    const health = await broker!.admin('/health');
    expect(health.status).to.equal('degraded');
    expect(health.puppetdb.stale).to.equal(true);
    expect(health.puppetdb.last_answer_age_seconds).to.be.above(3 * INTERVAL_S);
    expect(health.puppetdb.last_error).to.match(/cannot reach PuppetDB at https:\/\/localhost:\d+ \(ECONNREFUSED\)/);
    expect((await broker!.admin('/nodes')).nodes.map((n: Json) => [n.certname, n.state])).to.deep.equal(before);
    // Logged when the error changes, not at every poll (there were at least three).
    expect(broker!.log.match(/PuppetDB's node list cannot be read/g)?.length).to.be.within(1, 2);
  });
});

/** The rows of the importer's table (columns split on two or more spaces). */
function tableRows(stdout: string): string[][] {
  const lines = stdout.split('\n');
  const header = lines.findIndex((l) => l.startsWith('NODE '));
  const rows: string[][] = [];
  for (const line of lines.slice(header + 1)) {
    if (!line.trim()) break;
    rows.push(line.trim().split(/ {2,}/));
  }
  return rows;
}
