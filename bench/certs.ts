// Certificates for the benchmark: the test PKI (P-256 root + intermediate, as the tests use)
// and an RSA-4096 CA and server key, which is what a Puppet CA issues. Files go to one
// temporary folder that the orchestrator removes at the end.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { puppetExtensionOid } from '../src/tls/certificate';
import { getTestPki, utf8StringDer } from '../test/support/pki';

const crypto = webcrypto as unknown as Crypto;
const DAY_MS = 24 * 60 * 60 * 1000;
const RSA_SIGNING = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };

export interface CertFiles {
  cert: string;
  key: string;
}

export interface ClientCert {
  certname: string;
  certPem: string;
  keyPem: string;
}

/** What a broker (and the bare server) is started with, and how clients reach it. */
export interface Pki {
  label: 'P-256' | 'RSA-4096';
  caFile: string;
  caPem: string;
  crlFile?: string;
  server: CertFiles;
  /** Issues one client certificate in the given Puppet environment (and further Puppet extensions, e.g. pp_role). */
  client(certname: string, environment: string, extensions?: Record<string, string>): Promise<ClientCert>;
}

const serial = () => {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0] = 0x10 + (b[0] % 0x70);
  return Buffer.from(b).toString('hex');
};

function write(dir: string, name: string, content: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content, { mode: 0o600 });
  return file;
}

/** The test suite's PKI: P-256 server certificate for 127.0.0.1, P-256 clients, two CRLs. */
export async function p256Pki(dir: string): Promise<Pki> {
  const pki = await getTestPki();
  return {
    label: 'P-256',
    caFile: write(dir, 'p256-ca.pem', pki.caBundlePem),
    caPem: pki.caBundlePem,
    crlFile: write(dir, 'p256-crl.pem', pki.crlBundlePem),
    server: { cert: write(dir, 'p256-server.pem', pki.server.certPem), key: write(dir, 'p256-server-key.pem', pki.server.keyPem) },
    client: (certname, environment, extensions = {}) =>
      pki.issueClientCert({ certname, extensions: { ...extensions, pp_environment: environment } }),
  };
}

async function rsaKeys(modulusLength: number): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
}

const keyPem = async (key: CryptoKey) => x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');

/**
 * A Puppet-like RSA PKI: one RSA-4096 CA, an RSA-4096 server key, RSA-4096 client keys (one
 * key shared by every client certificate: the server's work, verifying the client's
 * signature with its public key, is the same, and a 4096-bit key takes seconds to make).
 */
export async function rsa4096Pki(dir: string): Promise<Pki> {
  const caKeys = await rsaKeys(4096);
  const caName = new x509.Name('CN=Puppet CA: bench.rsa');
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name: caName,
      keys: caKeys,
      signingAlgorithm: RSA_SIGNING,
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + 3650 * DAY_MS),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );

  const leaf = async (certname: string, keys: CryptoKeyPair, extra: x509.Extension[]) =>
    x509.X509CertificateGenerator.create(
      {
        serialNumber: serial(),
        subject: new x509.Name([{ CN: [certname] }]),
        issuer: ca.subjectName,
        notBefore: new Date(Date.now() - DAY_MS),
        notAfter: new Date(Date.now() + 365 * DAY_MS),
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: RSA_SIGNING,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
          await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
          ...extra,
        ],
      },
      crypto,
    );

  const serverKeys = await rsaKeys(4096);
  const server = await leaf('localhost', serverKeys, [
    new x509.SubjectAlternativeNameExtension([
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
    ]),
  ]);
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: ca.subjectName,
      thisUpdate: new Date(Date.now() - 60_000),
      nextUpdate: new Date(Date.now() + 30 * DAY_MS),
      entries: [],
      signingAlgorithm: RSA_SIGNING,
      signingKey: caKeys.privateKey,
      extensions: [new x509.Extension('2.5.29.20', false, new Uint8Array([0x02, 0x01, 0x01]))],
    },
    crypto,
  );
  const caPem = ca.toString('pem');
  let clientKeys: Promise<CryptoKeyPair> | undefined;
  return {
    label: 'RSA-4096',
    caFile: write(dir, 'rsa-ca.pem', caPem),
    caPem,
    crlFile: write(dir, 'rsa-crl.pem', x509.PemConverter.encode(crl.rawData, 'X509 CRL')),
    server: {
      cert: write(dir, 'rsa-server.pem', server.toString('pem')),
      key: write(dir, 'rsa-server-key.pem', await keyPem(serverKeys.privateKey)),
    },
    async client(certname, environment, extensions = {}) {
      clientKeys ??= rsaKeys(4096);
      const keys = await clientKeys;
      const cert = await leaf(
        certname,
        keys,
        Object.entries({ ...extensions, pp_environment: environment }).map(
          ([k, v]) => new x509.Extension(puppetExtensionOid(k), false, utf8StringDer(v)),
        ),
      );
      return { certname, certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
    },
  };
}
