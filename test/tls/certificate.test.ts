/// <reference types="mocha" />
import 'reflect-metadata';
import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { Extension, X509Certificate } from '@peculiar/x509';
import { expect } from 'chai';
import { canonicalSerial, parsePuppetCertificate, puppetExtensionName, puppetExtensionOid } from '../../src/tls/certificate';
import { parseCrlBundle } from '../../src/tls/crl-set';
import { TrustStore } from '../../src/tls/trust-store';
import { derTlv, getTestPki, pemToDer, type TestPki, utf8StringDer } from '../support/pki';

describe('tls/certificate', () => {
  let pki: TestPki;
  before(async () => {
    pki = await getTestPki();
  });

  describe('parsePuppetCertificate', () => {
    it('reads certname, pp_* extensions, serial and fingerprint from an RSA certificate', () => {
      const { alice } = pki.clients;
      const identity = parsePuppetCertificate(pemToDer(alice.certPem));
      const nodeView = new NodeX509Certificate(alice.certPem);
      expect(nodeView.publicKey.asymmetricKeyType).to.equal('rsa');
      expect(identity.certname).to.equal('alice.test');
      expect(identity.extensions).to.deep.equal({ pp_environment: 'production', pp_role: 'db' });
      expect(identity.serial).to.equal(alice.serial);
      expect(identity.notAfter.getTime()).to.equal(new Date(nodeView.validTo).getTime());
      expect(identity.issuer).to.equal('CN=Puppet CA: puppet.test');
    });

    it('agrees with @peculiar/x509 on every field it reads (its DER reader replaced a full parse)', async () => {
      const certs = [
        ...Object.values(pki.clients).map((c) => c.certPem),
        pki.server.certPem,
        (
          await pki.issueClientCert({
            certname: 'many.test',
            extensions: { pp_role: 'a', pp_uuid: 'u', pp_environment: 'e', pp_auth_role: 'r' },
          })
        ).certPem,
        (await pki.issueClientCert({ certname: 'rsa.test', keyAlgorithm: 'RSA-2048' })).certPem,
      ];
      for (const pem of certs) {
        const peculiar = new X509Certificate(pem);
        const identity = parsePuppetCertificate(pemToDer(pem));
        expect(identity.serial).to.equal(canonicalSerial(peculiar.serialNumber));
        expect(identity.issuer).to.equal(peculiar.issuer);
        expect(identity.notAfter.getTime()).to.equal(peculiar.notAfter.getTime());
        expect(identity.certname).to.equal(peculiar.subjectName.getField('CN')[0]);
        const puppet = peculiar.extensions.filter((e) => e.type.startsWith('1.3.6.1.4.1.34380.')).map((e) => puppetExtensionName(e.type));
        expect(Object.keys(identity.extensions).sort()).to.deep.equal(puppet.sort());
      }
    });

    it('refuses bytes that are not one DER certificate', () => {
      const der = pemToDer(pki.clients.bob.certPem);
      for (const bad of [der.subarray(0, der.length - 1), Buffer.concat([der, Buffer.from([0])]), Buffer.from([0x30, 0x80, 0, 0])]) {
        expect(() => parsePuppetCertificate(bad)).to.throw(/not a valid DER X.509 certificate/);
      }
    });

    it('reads an EC P-256 certificate', () => {
      const identity = parsePuppetCertificate(pemToDer(pki.clients.bob.certPem));
      expect(new NodeX509Certificate(pki.clients.bob.certPem).publicKey.asymmetricKeyType).to.equal('ec');
      expect(identity.certname).to.equal('bob.test');
      expect(identity.extensions.pp_role).to.equal('keystone');
    });

    it('reads an EC P-384 certificate', async () => {
      const cert = await pki.issueClientCert({ certname: 'p384.test', keyAlgorithm: 'P-384', extensions: { pp_role: 'cache' } });
      const details = new NodeX509Certificate(cert.certPem).publicKey.asymmetricKeyDetails;
      expect(details?.namedCurve).to.equal('secp384r1');
      const identity = parsePuppetCertificate(pemToDer(cert.certPem));
      expect(identity.certname).to.equal('p384.test');
      expect(identity.extensions).to.deep.equal({ pp_role: 'cache' });
    });

    it('keeps unknown Puppet-arc extensions by OID and ignores every other extension', async () => {
      const cert = await pki.issueClientCert({
        certname: 'odd.test',
        extensions: { pp_auth_role: 'admin' },
        rawExtensions: [
          new Extension('1.3.6.1.4.1.34380.1.1.99', false, utf8StringDer('future')),
          new Extension('1.3.6.1.4.1.34380.1.2.1', false, utf8StringDer('private')),
          new Extension('1.3.6.1.4.1.99999.1', false, utf8StringDer('not puppet')),
          // Same leading digits as Puppet's arc but a different enterprise number.
          new Extension('1.3.6.1.4.1.343801.1', false, utf8StringDer('lookalike')),
        ],
      });
      const identity = parsePuppetCertificate(pemToDer(cert.certPem));
      expect(identity.extensions).to.deep.equal({
        pp_auth_role: 'admin',
        ['1.3.6.1.4.1.34380.1.1.99']: 'future',
        '1.3.6.1.4.1.34380.1.2.1': 'private',
      });
    });

    it('decodes the older IA5String and PrintableString encodings and falls back to raw bytes', async () => {
      const cert = await pki.issueClientCert({
        certname: 'legacy.test',
        rawExtensions: [
          new Extension(puppetExtensionOid('pp_role'), false, derTlv(0x16, Buffer.from('ia5 role'))),
          new Extension(puppetExtensionOid('pp_environment'), false, derTlv(0x13, Buffer.from('printable'))),
          new Extension(puppetExtensionOid('pp_zone'), false, new Uint8Array(Buffer.from('bare-zone'))),
          new Extension(puppetExtensionOid('pp_region'), false, utf8StringDer('région-ü')),
        ],
      });
      const identity = parsePuppetCertificate(pemToDer(cert.certPem));
      expect(identity.extensions).to.deep.equal({
        pp_role: 'ia5 role',
        pp_environment: 'printable',
        pp_zone: 'bare-zone',
        pp_region: 'région-ü',
      });
    });

    it('refuses a certificate that repeats a Puppet extension', async () => {
      const cert = await pki.issueClientCert({
        certname: 'twice.test',
        rawExtensions: [
          new Extension(puppetExtensionOid('pp_role'), false, utf8StringDer('db')),
          new Extension(puppetExtensionOid('pp_role'), false, utf8StringDer('admin')),
        ],
      });
      expect(() => parsePuppetCertificate(pemToDer(cert.certPem))).to.throw(/pp_role more than once/);
    });

    it('throws a clear error on garbage, empty and truncated input', () => {
      expect(() => parsePuppetCertificate(Buffer.from('definitely not a certificate'))).to.throw(/not a valid DER X\.509 certificate/);
      expect(() => parsePuppetCertificate(Buffer.alloc(0))).to.throw(/empty/);
      const der = pemToDer(pki.clients.bob.certPem);
      expect(() => parsePuppetCertificate(der.subarray(0, der.length - 40))).to.throw(/not a valid DER X\.509 certificate/);
    });
  });

  describe('serial and issuer forms', () => {
    it('match the CRL of the issuing CA: revoked certificate found, good one not', async () => {
      const crlSet = await parseCrlBundle(pki.crlBundlePem, new TrustStore(pki.caBundlePem));
      const intermediate = new NodeX509Certificate(pki.intermediateCaPem).fingerprint256;
      const root = new NodeX509Certificate(pki.rootCaPem).fingerprint256;
      const revoked = parsePuppetCertificate(pemToDer(pki.clients.revoked.certPem));
      const alice = parsePuppetCertificate(pemToDer(pki.clients.alice.certPem));
      expect(crlSet.crls.map((crl) => crl.issuer)).to.include(revoked.issuer);
      expect(crlSet.isRevoked(intermediate, revoked.serial)).to.equal(true);
      expect(crlSet.isRevoked(intermediate, alice.serial)).to.equal(false);
      // The same serial under another CA is a different certificate.
      expect(crlSet.isRevoked(root, revoked.serial)).to.equal(false);
    });

    it("canonicalSerial agrees with Node's own serial spelling", () => {
      const nodeSerial = new NodeX509Certificate(pki.clients.alice.certPem).serialNumber;
      expect(canonicalSerial(nodeSerial)).to.equal(parsePuppetCertificate(pemToDer(pki.clients.alice.certPem)).serial);
      expect(canonicalSerial('00:0A:1B')).to.equal('a1b');
      expect(canonicalSerial('0000')).to.equal('0');
      expect(() => canonicalSerial('xyz')).to.throw(/not hexadecimal/);
    });
  });

  describe('extension names', () => {
    it("maps short names and OIDs both ways, per Puppet's oids.rb", () => {
      expect(puppetExtensionName('1.3.6.1.4.1.34380.1.1.13')).to.equal('pp_role');
      expect(puppetExtensionName('1.3.6.1.4.1.34380.1.1.2')).to.equal('pp_instance_id');
      expect(puppetExtensionName('1.3.6.1.4.1.34380.1.1.25')).to.equal('pp_hostname');
      expect(puppetExtensionName('1.3.6.1.4.1.34380.1.3.13')).to.equal('pp_auth_role');
      expect(puppetExtensionName('1.3.6.1.4.1.34380.1.3.1')).to.equal('pp_authorization');
      expect(puppetExtensionName('1.3.6.1.4.1.34380.1.1.999')).to.equal('1.3.6.1.4.1.34380.1.1.999');
      expect(puppetExtensionOid('pp_environment')).to.equal('1.3.6.1.4.1.34380.1.1.12');
      expect(puppetExtensionOid('pp_uuid')).to.equal('1.3.6.1.4.1.34380.1.1.1');
      expect(puppetExtensionOid('1.3.6.1.4.1.34380.1.2.7')).to.equal('1.3.6.1.4.1.34380.1.2.7');
      for (let arc = 1; arc <= 26; arc++) {
        const oid = `1.3.6.1.4.1.34380.1.1.${arc}`;
        expect(puppetExtensionOid(puppetExtensionName(oid))).to.equal(oid);
        expect(puppetExtensionName(oid)).to.match(/^pp_/);
      }
    });

    it('refuses unknown short names', () => {
      expect(() => puppetExtensionOid('pp_nonsense')).to.throw(/unknown Puppet certificate extension name "pp_nonsense"/);
      expect(() => puppetExtensionOid('1.3.')).to.throw(/unknown/);
    });
  });
});
