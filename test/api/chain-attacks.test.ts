// Attacks on the certificate chain, with real handshakes: every client here gets past
// OpenSSL (it completes chains with intermediates the client sends) and must be refused
// by the broker's own path check, on the agent port and on the admin port alike.
import fs from 'node:fs';
import { expect } from 'chai';
import { startTestBroker, type TestBroker } from '../support/broker';
import { getTestPki, type TestAuthority, type TestCert, type TestPki } from '../support/pki';
import { eventually } from '../support/wait';

const PRODUCTION = { pp_environment: 'production', pp_role: 'db' };

const joinPem = (...blocks: string[]) => blocks.map((b) => (b.endsWith('\n') ? b : `${b}\n`)).join('');

/** A client certificate sent together with an intermediate, as `cert` PEM chain. */
const withChain = (leaf: TestCert, ...cas: TestAuthority[]): TestCert => ({
  ...leaf,
  certPem: joinPem(leaf.certPem, ...cas.map((ca) => ca.pem)),
});

describe('certificate chains: only CAs of the bundle vouch for a client (real TLS)', () => {
  let pki: TestPki;
  let t: TestBroker;
  let revokedInBundle: TestAuthority;
  let withoutCrl: TestAuthority;
  let sibling: TestAuthority;
  let revokedOutside: TestAuthority;
  let sameName: TestAuthority;
  let crlFile: string;

  before(async () => {
    pki = await getTestPki();
    // In the bundle: the suite's root and intermediate, an intermediate the root's CRL revokes,
    // and one that has no CRL at all.
    revokedInBundle = await pki.newAuthority('CN=Revoked Intermediate CA', 'root');
    withoutCrl = await pki.newAuthority('CN=Intermediate CA without CRL', 'root');
    // Not in the bundle, all issued by the same root: what an attacker holding one would send.
    sibling = await pki.newAuthority('CN=Sibling Intermediate CA', 'root');
    revokedOutside = await pki.newAuthority('CN=Revoked Outside CA', 'root');
    // Same name as the bundle's intermediate, another key: a name match must not be enough.
    sameName = await pki.newAuthority('CN=Puppet CA: puppet.test', 'root');
    const crl = pki.writeFile(
      'chain-attacks/crl.pem',
      joinPem(
        await pki.rootCrlRevoking([revokedInBundle.serial, revokedOutside.serial], 5),
        pki.intermediateCrlPem,
        await revokedInBundle.crl([], 1),
      ),
    );
    t = await startTestBroker({
      caBundle: joinPem(pki.caBundlePem, revokedInBundle.pem, withoutCrl.pem),
      crl,
      admin: { certnames: ['ops.admin.test'] },
      policy: 'rules:\n  - allow: read\n    facts: ["*.*"]\n    sensitive: true\n',
    });
    crlFile = t.config.tls.crl!;
    const alice = t.client(pki.clients.alice);
    expect((await alice.put('/v1/facts/db/password', { value: 'alice-only-canary', sensitive: true })).status).to.equal(201);
  });
  after(() => t?.close());

  /** What a client gets on the agent port and on the admin port. */
  async function refusals(cert: TestCert): Promise<{ agent: string; secret: string; write: string; admin: string }> {
    const code = (r: { status: number; json: { error?: { code: string } } }) => `${r.status} ${r.json?.error?.code ?? ''}`.trim();
    return {
      agent: code(await t.client(cert).get('/v1/facts')),
      secret: code(await t.client(cert).get('/v1/secrets/db/password')),
      write: code(await t.client(cert).put('/v1/facts/db/password', { value: 'overwritten', sensitive: true })),
      admin: code(await t.adminClient(cert).get('/admin/v1/whoami')),
    };
  }

  it('lets the genuine node in and shows it its secret (the control)', async () => {
    const r = await t.client(pki.clients.alice).get('/v1/secrets/db/password');
    expect(r.status).to.equal(200);
    expect(r.json.value).to.equal('alice-only-canary');
  });

  it('refuses a leaf from a sibling intermediate the client sends along, even named as an existing node or admin', async () => {
    const asAlice = withChain(await sibling.issue({ certname: 'alice.test', extensions: PRODUCTION }), sibling);
    expect(await refusals(asAlice)).to.deep.equal({
      agent: '401 certificate_untrusted',
      secret: '401 certificate_untrusted',
      write: '401 certificate_untrusted',
      admin: '401 certificate_untrusted',
    });
    const asAdmin = withChain(await sibling.issue({ certname: 'ops.admin.test' }), sibling);
    expect((await refusals(asAdmin)).admin).to.equal('401 certificate_untrusted');
    // Nothing was overwritten.
    expect((await t.client(pki.clients.alice).get('/v1/secrets/db/password')).json.value).to.equal('alice-only-canary');
  });

  it('refuses a leaf from an intermediate the root CRL revokes, sent along by the client', async () => {
    const cert = withChain(await revokedOutside.issue({ certname: 'mallory.test', extensions: PRODUCTION }), revokedOutside);
    expect((await refusals(cert)).agent).to.equal('401 certificate_untrusted');
  });

  it("refuses a leaf signed by another key under the name of the bundle's intermediate", async () => {
    const cert = withChain(await sameName.issue({ certname: 'alice.test', extensions: PRODUCTION }), sameName);
    expect(await refusals(cert)).to.deep.equal({
      agent: '401 certificate_untrusted',
      secret: '401 certificate_untrusted',
      write: '401 certificate_untrusted',
      admin: '401 certificate_untrusted',
    });
  });

  it("refuses a leaf of a bundle intermediate that the root's CRL revokes", async () => {
    const cert = await revokedInBundle.issue({ certname: 'under-revoked.test', extensions: PRODUCTION });
    expect(await refusals(cert)).to.deep.equal({
      agent: '401 certificate_revoked',
      secret: '401 certificate_revoked',
      write: '401 certificate_revoked',
      admin: '401 certificate_revoked',
    });
  });

  it('refuses a leaf of a bundle CA that has no CRL (fails closed), and reports that CA', async () => {
    const cert = await withoutCrl.issue({ certname: 'unchecked.test', extensions: PRODUCTION });
    expect((await refusals(cert)).agent).to.equal('401 crl_missing');
    expect(t.broker.revocation.status().uncovered_cas).to.deep.equal(['CN=Intermediate CA without CRL']);
  });

  it('refuses a CRL older than the one in force (a replayed file) and keeps the newer one', async () => {
    const underRevoked = await revokedInBundle.issue({ certname: 'replay.test', extensions: PRODUCTION });
    // The suite's own root CRL has number 1 and revokes nothing: loading it would un-revoke.
    fs.writeFileSync(crlFile, joinPem(pki.rootCrlPem, pki.intermediateCrlPem, await revokedInBundle.crl([], 1)));
    await eventually('the old CRL is refused', () => t.broker.revocation.status().error !== null, 5000);
    expect(t.broker.revocation.status().error).to.match(/older CRL of CA "CN=Puppet Root CA: 5e1f0a7c2b9d".*CRL number 1 is lower than 5/);
    expect((await t.client(underRevoked).get('/v1/facts')).json.error.code).to.equal('certificate_revoked');
    // A file that drops a CA's CRL altogether is refused too.
    fs.writeFileSync(
      crlFile,
      joinPem(await pki.rootCrlRevoking([revokedInBundle.serial, revokedOutside.serial], 6), pki.intermediateCrlPem),
    );
    await eventually(
      "the CRL without the revoked CA's CRL is refused",
      () => /holds no CRL of CA "CN=Revoked Intermediate CA"/.test(t.broker.revocation.status().error ?? ''),
      5000,
    );
    expect(t.broker.revocation.status().crls.find((c) => c.issuer === 'CN=Puppet Root CA: 5e1f0a7c2b9d')?.crl_number).to.equal('5');
  });
});
