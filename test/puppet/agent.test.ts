/**
 * Agent mode against a real puppetserver (Debian's package, started by scripts/puppetserver.sh
 * in a temp folder on a free port): its own CA (Puppet 7: root + intermediate, two CRLs)
 * issues the agents' certificates through autosign, the broker trusts that CA and its CRLs,
 * pluginsync delivers the module to the agents, and a gate is compiled on the server from the
 * facts the agent resolved against the broker, and the agent reports that gate to the broker
 * with its own certificate when it applies the catalog. Revoking a node on the CA locks it out of the
 * broker within seconds (the broker polls the CA's CRL endpoint).
 *
 * Needs root and installs puppetserver if missing (CI is root): it fails, never skips, when
 * puppetserver cannot be installed or started. One JVM (~1.2 GB) for the whole file.
 */

import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { AgentBroker, AgentNode, PuppetServer } from './agent-support';
import { explain, freePort, MODULE_DIR, removeTempDir, sleep, succeeded, tempDir } from './support';

const A = 'a.agent.test';
const B = 'b.agent.test';
const DB_URL = `postgres://${A}/app`;

function pems(file: string, kind: 'CERTIFICATE' | 'X509 CRL'): string[] {
  const re = new RegExp(`-----BEGIN ${kind}-----[\\s\\S]+?-----END ${kind}-----`, 'g');
  return fs.readFileSync(file, 'utf8').match(re) ?? [];
}

describe('puppet module in agent mode: a real puppetserver, its CA, pluginsync, gates compiled on the server', function () {
  this.timeout(600000);
  let root: string;
  let server: PuppetServer | undefined;
  let broker: AgentBroker | undefined;
  let a: AgentNode;
  let b: AgentNode;
  let gated: string;
  const t0 = Date.now();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`;

  /** site.pp: B's role waits for db.url; A exports it only once `exporting` (rewritten between runs; environment_timeout = 0). */
  const writeSite = (exporting: boolean) => {
    fs.writeFileSync(
      path.join(server!.production, 'manifests', 'site.pp'),
      `
node '${A}' {
  include exportfact
${exporting ? `  exportfact_fact { 'db.url': value => "postgres://\${trusted['certname']}/app" }` : ''}
}
node '${B}' {
  include exportfact
  if exportfact::gate('role::b', ['db.url']) {
    file { '${gated}': content => $facts['exportfact']['db']['url'] }
  }
}
`,
    );
  };

  before(async function () {
    if (process.env.EXPORTFACT_SKIP_PUPPET === '1') this.skip(); // `npm run test:broker` only; CI never sets it
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      throw new Error('the agent-mode test needs root (it installs and runs puppetserver, and puppet agent); CI runs as root');
    }
    root = tempDir('agent');
    server = new PuppetServer(path.join(root, 'server'), await freePort());
    await server.start(); // installs puppetserver if missing, creates its CA, waits until it answers
    console.log(`      puppetserver ready on port ${server.port} after ${elapsed()} (ssldir ${server.ssldir})`);
    const modules = path.join(server.production, 'modules');
    fs.cpSync(MODULE_DIR, path.join(modules, 'exportfact'), { recursive: true, filter: (src) => !src.includes(`${path.sep}spec`) });
    a = new AgentNode(A, root, server);
    b = new AgentNode(B, root, server);
    gated = path.join(b.dir, 'b-configured');
    writeSite(false);
    broker = await AgentBroker.start(server, path.join(root, 'broker'));
    for (const n of [a, b]) n.setup(broker.url);
  });

  after(async function () {
    this.timeout(120000);
    await broker?.stop();
    await server?.stop();
    if (server) console.log(`      agent-mode file: ${elapsed()} in all`);
    removeTempDir(root);
  });

  it('first runs: the CA signs both agents (autosign, root + intermediate), pluginsync delivers the module, B waits', async () => {
    const [ra, rb] = await Promise.all([a.agent(), b.agent()]);
    console.log(`      first runs of both agents done at ${elapsed()}`);
    for (const r of [ra, rb]) {
      expect(succeeded(r), explain(r)).to.equal(true);
      expect(r.output, explain(r)).to.include(`Downloaded certificate for ${r.node}`);
    }
    // pluginsync: the module's fact, type, provider and Deferred function under each agent's
    // vardir/lib (the gates are Puppet-language functions: they run on the server only).
    for (const n of [a, b]) {
      for (const f of [
        'facter/exportfact.rb',
        'puppet/type/exportfact_fact.rb',
        'puppet/provider/exportfact_fact/broker.rb',
        'puppet/type/exportfact_gate.rb',
        'puppet/provider/exportfact_gate/broker.rb',
        'puppet/functions/exportfact/secret.rb',
        'puppet_x/exportfact/client.rb',
      ]) {
        const file = path.join(n.vardir, 'lib', f);
        expect(fs.existsSync(file), `${n.name}: ${file} not delivered by pluginsync`).to.equal(true);
        expect(fs.readFileSync(file, 'utf8')).to.equal(fs.readFileSync(path.join(MODULE_DIR, 'lib', f), 'utf8'));
      }
    }
    // The agents' certificates come from the server's intermediate CA, which the root signed.
    const bundle = pems(path.join(server!.ssldir, 'certs', 'ca.pem'), 'CERTIFICATE').map((p) => new X509Certificate(p));
    expect(bundle, 'certs/ca.pem should hold root + intermediate').to.have.length(2);
    const rootCa = bundle.find((c) => c.subject === c.issuer)!;
    const intermediate = bundle.find((c) => c.subject !== c.issuer)!;
    expect(rootCa && intermediate, 'a self-signed root and an intermediate').to.be.ok;
    expect(intermediate.checkIssued(rootCa) && intermediate.verify(rootCa.publicKey)).to.equal(true);
    for (const n of [a, b]) {
      const cert = new X509Certificate(fs.readFileSync(n.certFile));
      expect(cert.subject).to.include(`CN=${n.name}`);
      expect(
        cert.checkIssued(intermediate) && cert.verify(intermediate.publicKey),
        `${n.name}'s certificate is not issued by the intermediate CA`,
      ).to.equal(true);
      expect(cert.checkIssued(rootCa)).to.equal(false);
    }
    // Nothing published yet: B's gate, compiled on the server, is closed and says why.
    expect(rb.output, explain(rb)).to.include('exportfact: role::b waits for db.url (absent)');
    expect(fs.existsSync(gated)).to.equal(false);
    // The gate travelled in the catalog; B's agent reported it, with B's certificate.
    const gates = await b.request(`${broker!.url}/v1/gates`);
    expect(gates.body.gates.map((g: { name: string; open: boolean; missing: unknown[] }) => [g.name, g.open, g.missing])).to.deep.equal([
      ['role::b', false, [{ category: 'db', name: 'url', min: 1 }]],
    ]);
  });

  it("A publishes db.url in its run; B's next run opens the gate, compiled on the server from B's facts", async () => {
    writeSite(true);
    const ra = await a.agent();
    expect(succeeded(ra), explain(ra)).to.equal(true);
    expect(ra.output, explain(ra)).to.match(/Exportfact_fact\[db\.url\]\/ensure: published "postgres:\/\/a\.agent\.test\/app"/);

    // The broker has it, read with B's Puppet certificate.
    const view = await b.request(`${broker!.url}/v1/facts`);
    expect(view.status, JSON.stringify(view.body)).to.equal(200);
    expect(JSON.stringify(view.body)).to.include(DB_URL);

    const rb = await b.agent();
    console.log(`      A published and B converged at ${elapsed()}`);
    expect(succeeded(rb), explain(rb)).to.equal(true);
    expect(rb.output, explain(rb)).to.not.include('waits for');
    expect(rb.output, explain(rb)).to.include(`File[${gated}]/ensure: defined content`);
    expect(fs.readFileSync(gated, 'utf8')).to.equal(DB_URL);
    expect(rb.output, explain(rb)).to.include('Exportfact_gate[role::b]/open: opened');

    // The server compiled B's catalog from the facts B resolved against the broker...
    const facts = server!.storedFacts(B) as { exportfact?: { db?: { url?: string } } } | undefined;
    expect(facts?.exportfact?.db?.url, 'the facts puppetserver stored for B').to.equal(DB_URL);
    // ...and never asked the broker itself (it would have used its own certificate, `localhost`).
    expect([...broker!.requesters()].sort()).to.deep.equal([A, B]);
  });

  it('the broker trusts the Puppet CA chain and loaded both of its CRLs', async () => {
    expect(pems(path.join(server!.ssldir, 'crl.pem'), 'X509 CRL')).to.have.length(2);
    expect((await a.request(`${broker!.url}/v1/health`)).body).to.deep.equal({ status: 'ok' });
    const health = await broker!.adminHealth();
    expect(health.status, JSON.stringify(health.body)).to.equal(200);
    expect(health.body.revocation.enabled).to.equal(true);
    expect(health.body.revocation.crls, JSON.stringify(health.body)).to.have.length(2);
    expect(health.body.revocation.last_error).to.equal(null);
  });

  it('revoking B on the CA locks B out of the broker within 30 s; A still gets in', async () => {
    await server!.ca(['revoke', '--certname', B]);
    const revokedAt = Date.now();
    let refused = '';
    while (Date.now() - revokedAt < 30000) {
      try {
        const r = await b.request(`${broker!.url}/v1/facts`);
        if (r.status === 401 || r.status === 403) refused = `HTTP ${r.status} ${JSON.stringify(r.body)}`;
      } catch (err) {
        refused = (err as Error).message;
      }
      if (refused) break;
      await sleep(500);
    }
    console.log(`      B refused ${((Date.now() - revokedAt) / 1000).toFixed(1)} s after its revocation (${refused.slice(0, 120)})`);
    expect(refused, 'B was still served 30 s after its revocation').to.not.equal('');
    const ok = await a.request(`${broker!.url}/v1/facts`);
    expect(ok.status).to.equal(200);
    const health = await broker!.adminHealth();
    const crls = health.body.revocation.crls as { revoked: number }[];
    expect(crls).to.have.length(2);
    expect(crls.map((c) => c.revoked).sort()).to.deep.equal([0, 1]);
  });
});
