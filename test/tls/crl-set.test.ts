/// <reference types="mocha" />

import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { expect } from 'chai';
import { type CrlSet, CrlValidationError, parseCrlBundle } from '../../src/tls/crl-set';
import { TrustStore } from '../../src/tls/trust-store';
import { getTestPki, pemToDer, type TestCert, type TestPki } from '../support/pki';

const ROOT = 'CN=Puppet Root CA: 5e1f0a7c2b9d';
const INTERMEDIATE = 'CN=Puppet CA: puppet.test';
const DAY_MS = 24 * 60 * 60 * 1000;

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject');
}

/** Resolves with the client CN the server saw, or 'refused: <error>'. */
async function handshake(pki: TestPki, client: TestCert, crl?: string[]): Promise<string> {
  const server = https.createServer(
    { cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.caBundlePem, crl, requestCert: true, rejectUnauthorized: true },
    (req, res) => res.end((req.socket as TLSSocket).getPeerCertificate().subject.CN),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<string>((resolve) => {
      const req = https.get(
        { host: '127.0.0.1', port, ca: pki.caBundlePem, cert: client.certPem, key: client.keyPem, agent: false },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', (err) => resolve(`refused: ${err.message}`));
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('tls/crl-set', () => {
  let pki: TestPki;
  let trust: TrustStore;
  /** CRLs are filed under the fingerprint of the CA certificate that signed them. */
  let root: string;
  let intermediate: string;
  before(async () => {
    pki = await getTestPki();
    trust = new TrustStore(pki.caBundlePem);
    root = new NodeX509Certificate(pki.rootCaPem).fingerprint256;
    intermediate = new NodeX509Certificate(pki.intermediateCaPem).fingerprint256;
  });

  describe('parseCrlBundle', () => {
    let crlSet: CrlSet;
    before(async () => {
      crlSet = await parseCrlBundle(pki.crlBundlePem, trust);
    });

    it('parses both CRLs of a Puppet-style bundle', () => {
      expect(crlSet.crls.map((crl) => crl.issuer)).to.deep.equal([ROOT, INTERMEDIATE]);
      for (const crl of crlSet.crls) {
        expect(crl.crlNumber).to.equal(1n);
        expect(crl.nextUpdate!.getTime()).to.be.greaterThan(Date.now());
        expect(crl.thisUpdate.getTime()).to.be.at.most(Date.now());
      }
      expect(crlSet.crls[0].revokedSerials.size).to.equal(0);
      expect([...crlSet.crls[1].revokedSerials]).to.deep.equal([pki.clients.revoked.serial]);
    });

    it('files each CRL under the CA certificate whose key verified it', () => {
      expect(crlSet.crls.map((crl) => crl.signers)).to.deep.equal([[root], [intermediate]]);
      expect(crlSet.newestFor(intermediate)?.issuer).to.equal(INTERMEDIATE);
    });

    it('finds a revoked serial in any hex spelling, only under its issuer', () => {
      const serial = pki.clients.revoked.serial;
      expect(crlSet.isRevoked(intermediate, serial)).to.equal(true);
      expect(crlSet.isRevoked(intermediate, `00${serial.toUpperCase()}`)).to.equal(true);
      expect(crlSet.isRevoked(root, serial)).to.equal(false);
      expect(crlSet.isRevoked(intermediate, pki.clients.carol.serial)).to.equal(false);
      expect(crlSet.hasCrlFor(intermediate)).to.equal(true);
      expect(crlSet.hasCrlFor(INTERMEDIATE)).to.equal(false); // by fingerprint, never by name
    });

    it('accepts a single CRL in DER', async () => {
      const der = pemToDer(pki.intermediateCrlPem);
      const set = await parseCrlBundle(der, trust);
      expect(set.crls).to.have.length(1);
      expect(set.isRevoked(intermediate, pki.clients.revoked.serial)).to.equal(true);
    });

    it('reports a newer CRL number and the extra revocations of a re-issued bundle', async () => {
      const bundle = await pki.crlBundleRevoking([pki.clients.carol.serial]);
      const set = await parseCrlBundle(bundle, trust);
      expect(Number(set.crls[1].crlNumber)).to.be.greaterThan(1);
      expect(set.isRevoked(intermediate, pki.clients.carol.serial)).to.equal(true);
      expect(set.isRevoked(intermediate, pki.clients.revoked.serial)).to.equal(true);
    });

    it('rejects a CRL whose signature was made with another key, naming it', async () => {
      const err = await rejection(parseCrlBundle(pki.badSignatureCrlBundlePem, trust));
      expect(err).to.be.instanceOf(CrlValidationError);
      expect(err.message).to.match(/^CRL #2 \(issuer "CN=Puppet CA: puppet\.test"\) has a signature that does not verify/);
    });

    it('rejects a CRL from a CA that is not in the bundle', async () => {
      const err = await rejection(parseCrlBundle(pki.crlBundlePem, new TrustStore(pki.rootCaPem)));
      expect(err).to.be.instanceOf(CrlValidationError);
      expect(err.message).to.match(/CRL #2 \(issuer "CN=Puppet CA: puppet\.test"\) was issued by a CA that is not in the CA bundle/);
    });

    it('rejects an expired CRL (nextUpdate passed)', async () => {
      const err = await rejection(parseCrlBundle(pki.expiredCrlBundlePem, trust));
      expect(err).to.be.instanceOf(CrlValidationError);
      expect(err.message).to.match(/CRL #2 .*nextUpdate .* has passed/);
    });

    it('rejects a CRL from the future beyond five minutes of clock skew, tolerates less', async () => {
      const anHourAgo = new Date(Date.now() - 60 * 60 * 1000);
      const err = await rejection(parseCrlBundle(pki.crlBundlePem, trust, anHourAgo));
      expect(err).to.be.instanceOf(CrlValidationError);
      expect(err.message).to.match(/CRL #1 .*thisUpdate .* is in the future/);
      // The test CRLs are dated one minute back; three minutes of skew is fine.
      const set = await parseCrlBundle(pki.crlBundlePem, trust, new Date(Date.now() - 3 * 60 * 1000));
      expect(set.crls).to.have.length(2);
    });

    it('rejects input without a CRL and CRLs that do not parse', async () => {
      const empty = await rejection(parseCrlBundle('just text', trust));
      expect(empty).to.be.instanceOf(CrlValidationError);
      expect(empty.message).to.match(/no PEM "X509 CRL" block/);
      const broken = `-----BEGIN X509 CRL-----\nTUlJQmFnb3Zl\n-----END X509 CRL-----\n`;
      const garbage = await rejection(parseCrlBundle(pki.rootCrlPem + broken, trust));
      expect(garbage).to.be.instanceOf(CrlValidationError);
      expect(garbage.message).to.match(/^CRL #2 is not a valid X\.509 CRL/);
    });
  });

  describe("with Node's TLS", () => {
    it("the test PKI's clients pass or fail the handshake as their role in the suite says", async () => {
      expect(await handshake(pki, pki.clients.alice)).to.equal('alice.test');
      expect(await handshake(pki, pki.clients.bob)).to.equal('bob.test');
      expect(await handshake(pki, pki.clients.foreign)).to.match(/^refused/);
      expect(await handshake(pki, pki.clients.expired)).to.match(/^refused/);
    });

    it('OpenSSL accepts the per-CRL PEMs and refuses the revoked client with them', async () => {
      const crls = [pki.rootCrlPem, pki.intermediateCrlPem];
      expect(await handshake(pki, pki.clients.carol, crls)).to.equal('carol.test');
      expect(await handshake(pki, pki.clients.revoked, crls)).to.match(/^refused/);
      expect(await handshake(pki, pki.clients.revoked)).to.equal('revoked.test');
    });
  });

  describe('staleCrls', () => {
    it('lists CRLs whose nextUpdate passed after loading', async () => {
      const set = await parseCrlBundle(pki.crlBundlePem, trust);
      expect(set.staleCrls()).to.deep.equal([]);
      expect(set.loadedAt.getTime()).to.be.closeTo(Date.now(), 60_000);
      const stale = set.staleCrls(new Date(Date.now() + 31 * DAY_MS));
      expect(stale.map((crl) => crl.issuer)).to.deep.equal([ROOT, INTERMEDIATE]);
    });
  });

  describe('TrustStore', () => {
    it("reads the bundle's CAs with comparable subjects, the root self-signed", () => {
      expect(trust.cas.map((ca) => ca.subject)).to.deep.equal([ROOT, INTERMEDIATE]);
      expect(trust.cas.map((ca) => ca.selfSigned)).to.deep.equal([true, false]);
      expect(trust.cas[1].fingerprint).to.equal(intermediate);
      expect(trust.unusable()).to.deep.equal([]);
    });

    it('throws on a bundle without certificates, or with a certificate that is not a CA', () => {
      expect(() => new TrustStore('')).to.throw(/no PEM "CERTIFICATE" block/);
      expect(() => new TrustStore(pki.rootCrlPem)).to.throw(/no PEM "CERTIFICATE" block/);
      expect(() => new TrustStore(pki.clients.alice.certPem)).to.throw(/is not a CA certificate/);
    });

    it('names an intermediate whose root is missing from the bundle as unusable', () => {
      expect(new TrustStore(pki.intermediateCaPem).unusable()).to.deep.equal([
        { subject: INTERMEDIATE, reason: `CA "${INTERMEDIATE}" was not issued by another CA of the bundle and is not a self-signed root` },
      ]);
    });
  });
});
