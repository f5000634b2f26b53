import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { startTestBroker, type TestBroker } from '../support/broker';
import type { Client } from '../support/client';
import { getTestPki } from '../support/pki';
import { sleep } from '../support/wait';

/** Polls until fn() is true or the time is up; returns how long it took. */
async function within(ms: number, fn: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await fn()) return Date.now() - start;
    await sleep(100);
  }
  throw new Error(`condition not met within ${ms} ms`);
}

describe('authentication by Puppet certificate (real TLS handshakes)', () => {
  let t: TestBroker;
  let admin: Client;
  before(async () => {
    t = await startTestBroker({ crlWatchMs: 200, admin: { certnames: ['ops.admin.test'] } });
    admin = t.adminClient(await t.pki.issueClientCert({ certname: 'ops.admin.test' }));
  });
  after(() => t?.close());

  it('lets in an RSA client and an EC (P-256) client, each as its certname', async () => {
    for (const cert of [t.pki.clients.alice, t.pki.clients.bob]) {
      const r = await t.client(cert).get('/v1/exports');
      expect(r.status).to.equal(200);
    }
    const nodes = await t.client(t.pki.clients.alice).get('/v1/nodes');
    expect(nodes.json.nodes.map((n: { certname: string }) => n.certname)).to.include.members([
      t.pki.clients.alice.certname,
      t.pki.clients.bob.certname,
    ]);
  });

  it('takes the identity from the certificate, never from headers', async () => {
    const bob = t.client(t.pki.clients.bob);
    const r = await bob.put(
      '/v1/facts/spoof/who',
      { value: 1 },
      {
        headers: {
          'X-Certname': t.pki.clients.alice.certname,
          'X-Client-Verify': 'SUCCESS',
          'X-Client-DN': `CN=${t.pki.clients.alice.certname}`,
        },
      },
    );
    expect(r.status).to.equal(201);
    const own = await bob.get('/v1/exports');
    expect(own.json.exports.map((e: { category: string }) => e.category)).to.include('spoof');
    const alices = await t.client(t.pki.clients.alice).get('/v1/exports');
    expect(alices.json.exports.map((e: { category: string }) => e.category)).to.not.include('spoof');
  });

  for (const [label, key] of [
    ['no certificate', undefined],
    ['an expired certificate', 'expired'],
    ['a certificate from a foreign CA', 'foreign'],
  ] as const) {
    it(`refuses ${label} in the handshake`, async () => {
      const cert = key ? t.pki.clients[key] : undefined;
      const err = await t
        .client(cert)
        .get('/v1/facts')
        .then(
          (r) => new Error(`got HTTP ${r.status}`),
          (e: Error) => e,
        );
      expect(err.message).to.not.match(/^got HTTP/);
    });
  }

  it('refuses a revoked certificate with 401 certificate_revoked and closes the connection', async () => {
    const r = await t.client(t.pki.clients.revoked).get('/v1/facts');
    expect(r.status).to.equal(401);
    expect(r.json.error.code).to.equal('certificate_revoked');
    expect(r.headers.connection).to.equal('close');
  });

  it('tells nodes only the status in /v1/health, and admins each CRL and its nextUpdate in /admin/v1/health', async () => {
    const node = await t.client(t.pki.clients.alice).get('/v1/health');
    expect([node.status, node.json]).to.deep.equal([200, { status: 'ok' }]);
    const r = await admin.get('/admin/v1/health');
    expect(r.status).to.equal(200);
    expect(r.json.status).to.equal('ok');
    expect(r.json.revocation.crls).to.have.length(2);
    for (const c of r.json.revocation.crls) {
      expect(Date.parse(c.next_update)).to.be.greaterThan(Date.now());
      expect(c.stale).to.equal(false);
    }
  });

  it('keeps the CRLs in force when a new file is bad (expired, or badly signed), and says so in health and the log', async () => {
    const carol = t.client(t.pki.clients.carol);
    for (const bad of [t.pki.expiredCrlBundlePem, t.pki.badSignatureCrlBundlePem]) {
      fs.writeFileSync(t.config.tls.crl!, bad);
      await within(5000, async () => (await admin.get('/admin/v1/health')).json.revocation.last_error !== null);
      // The bad file revoked carol; it was refused, so carol still gets in; revoked still does not.
      expect((await carol.get('/v1/exports')).status).to.equal(200);
      expect((await t.client(t.pki.clients.revoked).get('/v1/exports')).status).to.equal(401);
      expect((await carol.get('/v1/health')).json).to.deep.equal({ status: 'degraded' });
      fs.writeFileSync(t.config.tls.crl!, t.pki.crlBundlePem);
      await within(5000, async () => (await admin.get('/admin/v1/health')).json.revocation.last_error === null);
    }
    expect(t.logs.text).to.match(/CRL refused; keeping the CRLs already in force/);
  });

  it('refuses a newly revoked node within seconds, on new and on kept-alive connections', async () => {
    const carol = t.client(t.pki.clients.carol);
    const agent = carol.keepAliveAgent();
    expect((await carol.get('/v1/exports', { agent })).status).to.equal(200);
    fs.writeFileSync(t.config.tls.crl!, await t.pki.crlBundleRevoking([t.pki.clients.carol.serial]));
    // `within` throws (failing the test) if the refusal has not come in 30 s.
    await within(30_000, async () => (await carol.get('/v1/exports')).status === 401);
    // The kept-alive connection was closed on reload, or its next request is refused: never served.
    const kept = await carol.get('/v1/exports', { agent }).then(
      (r) => r.status,
      () => 'closed',
    );
    expect(kept).to.be.oneOf([401, 'closed']);
    agent.destroy();
  });
});

describe('revocation from the Puppet CA over HTTPS (--crl-url)', () => {
  let t: TestBroker;
  let ca: https.Server;
  let served: string;
  /** The fake CA answers only once released: until then the broker has no CRL. */
  let release: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));

  before(async () => {
    const pki = await getTestPki();
    served = pki.crlBundlePem;
    ca = https.createServer({ cert: pki.server.certPem, key: pki.server.keyPem }, (req, res) => {
      if (req.url !== '/puppet-ca/v1/certificate_revocation_list/ca') return void res.writeHead(404).end();
      void released.then(() => res.writeHead(200, { 'Content-Type': 'text/plain' }).end(served));
    });
    await new Promise<void>((r) => ca.listen(0, '127.0.0.1', r));
    const port = (ca.address() as AddressInfo).port;
    t = await startTestBroker({ crl: null, crlUrl: `https://localhost:${port}/puppet-ca/v1/certificate_revocation_list/ca` });
  });
  after(async () => {
    release();
    await t?.close();
    ca?.close();
  });

  it('refuses clients with 503 crl_unavailable until the first CRL has arrived (fails closed)', async () => {
    const r = await t.client(t.pki.clients.carol).get('/v1/exports');
    expect(r.status).to.equal(503);
    expect(r.json.error.code).to.equal('crl_unavailable');
    expect(r.headers['retry-after']).to.equal('5');
  });

  it('picks up a revocation published by the CA', async () => {
    release();
    const carol = t.client(t.pki.clients.carol);
    await within(5000, async () => t.broker.revocation.status().crls.length === 2);
    expect((await carol.get('/v1/exports')).status).to.equal(200);
    served = await t.pki.crlBundleRevoking([t.pki.clients.carol.serial]);
    await within(30_000, async () => (await carol.get('/v1/exports')).status === 401);
  });
});
