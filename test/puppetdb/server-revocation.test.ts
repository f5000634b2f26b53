// The broker believes PuppetDB only while PuppetDB's certificate is not revoked: the same CRLs
// that refuse agents refuse a PuppetDB whose key was compromised (it could otherwise deactivate
// nodes or feed the importer). The answering server here is a real TLS endpoint with the test
// PKI's server certificate; what PuppetDB itself answers is covered by puppetdb.test.ts.

import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import pino from 'pino';
import { PuppetdbClient, type PuppetdbError } from '../../src/puppetdb/puppetdb-client';
import { RevocationList } from '../../src/tls/revocation';
import { serverCertificateCheck } from '../../src/tls/server-check';
import { TrustStore } from '../../src/tls/trust-store';
import { getTestPki, type TestPki } from '../support/pki';

describe("PuppetDB client: revocation of PuppetDB's certificate", () => {
  let pki: TestPki;
  let server: https.Server;
  let url: string;
  let queries = 0;

  before(async () => {
    pki = await getTestPki();
    server = https.createServer({ cert: pki.server.certPem, key: pki.server.keyPem }, (_req, res) => {
      queries++;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('[]');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://localhost:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function clientWith(crlBundle: string | null) {
    const trust = new TrustStore(pki.caBundlePem);
    const revocation = new RevocationList(trust, pino({ level: 'silent' }), true);
    if (crlBundle) await revocation.load(crlBundle, 'test crl.pem');
    return new PuppetdbClient(url, {
      caPem: pki.caBundlePem,
      certPem: pki.clients.alice.certPem,
      keyPem: pki.clients.alice.keyPem,
      checkServer: serverCertificateCheck(trust, revocation),
    });
  }

  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => expect.fail('the query was believed'),
      (err: PuppetdbError) => err,
    );

  it('answers while its certificate is not revoked', async () => {
    expect(await (await clientWith(pki.crlBundlePem)).nodes()).to.deep.equal([]);
  });

  it('refuses its answer once a CRL in force lists it: 502 puppetdb_untrusted, saying why', async () => {
    const client = await clientWith(await pki.crlBundleRevoking([pki.server.serial]));
    const err = await refusal(client.nodes());
    expect([err.status, err.code]).to.deep.equal([502, 'puppetdb_untrusted']);
    expect(err.message).to.match(/^PuppetDB's certificate at https:\/\/localhost:\d+\/pdb\/query\/v4\/nodes is refused: .*revoked/);
  });

  it('refuses it when no CRL is in force to check it (fail closed, as for agents)', async () => {
    const before = queries;
    const err = await refusal((await clientWith(null)).nodes());
    expect(err.code).to.equal('puppetdb_untrusted');
    expect(err.message).to.match(/no CRL yet/);
    expect(queries).to.equal(before + 1); // the query reached it; its answer was not read
  });
});
