// The test PKI: a Puppet-7-shaped CA (root + intermediate), their CRLs, a server and
// client certificates for every identity case the broker must tell apart. Built once per
// process with WebCrypto (P-256 everywhere but one RSA client) so the suite stays fast.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as x509 from '@peculiar/x509';
import { canonicalSerial, puppetExtensionOid } from '../../src/tls/certificate';
import { tempDir } from './temp';

const crypto = webcrypto as unknown as Crypto;
const DAY_MS = 24 * 60 * 60 * 1000;
const EC_SIGNING: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

export interface TestCert {
  certPem: string;
  keyPem: string;
  certname: string;
  serial: string;
}

export type TestKeyAlgorithm = 'P-256' | 'P-384' | 'RSA-2048';

export interface TestCertOptions {
  certname: string;
  keyAlgorithm?: TestKeyAlgorithm;
  /** Puppet extensions by short name or OID, encoded as DER UTF8String like Puppet does. */
  extensions?: Record<string, string>;
  /** Added verbatim, for odd encodings and non-Puppet extensions. */
  rawExtensions?: x509.Extension[];
  notBefore?: Date;
  notAfter?: Date;
}

export interface TestPki {
  dir: string;
  rootCaPem: string;
  intermediateCaPem: string;
  caBundlePem: string;
  rootCrlPem: string;
  intermediateCrlPem: string;
  crlBundlePem: string;
  expiredCrlBundlePem: string;
  server: TestCert;
  clients: {
    alice: TestCert;
    bob: TestCert;
    staging: TestCert;
    revoked: TestCert;
    expired: TestCert;
    foreign: TestCert;
    carol: TestCert;
  };
  /** Root + intermediate CRLs, the intermediate one additionally revoking these serials under a higher CRL number. */
  crlBundleRevoking(serials: string[]): Promise<string>;
  /** Intermediate CRL signed by the wrong key (revoking carol), for "a bad new CRL keeps the old set". */
  badSignatureCrlBundlePem: string;
  writeFile(name: string, content: string): string;
  /** A further client certificate from the intermediate CA, for tests that need odd extensions. */
  issueClientCert(options: TestCertOptions): Promise<TestCert>;
  /**
   * Another CA for attacks on the chain: an intermediate under the suite's root (`under: 'root'`,
   * not in caBundlePem unless a test puts it there), or a self-signed root of its own.
   */
  newAuthority(subject: string, under: 'root' | 'none'): Promise<TestAuthority>;
  /** The root's CRL, revoking these serials (intermediates), with a given CRL number. */
  rootCrlRevoking(serials: string[], crlNumber: number): Promise<string>;
}

export interface TestAuthority {
  pem: string;
  serial: string;
  issue(options: TestCertOptions): Promise<TestCert>;
  crl(revokedSerials: string[], crlNumber: number): Promise<string>;
}

interface Authority {
  name: x509.Name;
  keys: CryptoKeyPair;
  cert: x509.X509Certificate;
  pem: string;
}

let memo: Promise<TestPki> | undefined;

export function getTestPki(): Promise<TestPki> {
  memo ??= buildTestPki();
  return memo;
}

/** DER of a PEM certificate, as a TLS socket's peer certificate would hand it over. */
export function pemToDer(pem: string): Buffer {
  return Buffer.from(x509.PemConverter.decodeFirst(pem));
}

/** DER UTF8String, the encoding Puppet gives extension values. */
export function utf8StringDer(value: string): Uint8Array<ArrayBuffer> {
  return derTlv(0x0c, Buffer.from(value, 'utf8'));
}

export function derTlv(tag: number, content: Uint8Array): Uint8Array<ArrayBuffer> {
  const length =
    content.length < 0x80
      ? [content.length]
      : (() => {
          const bytes = [];
          for (let n = content.length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
          return [0x80 | bytes.length, ...bytes];
        })();
  return new Uint8Array([tag, ...length, ...content]);
}

function derInteger(value: number): Uint8Array<ArrayBuffer> {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  return derTlv(0x02, Buffer.from(hex, 'hex'));
}

/** Positive 16-byte serial with a first byte in 0x10..0x7f, so its canonical form is all 32 digits. */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = 0x10 + (bytes[0] % 0x70);
  return Buffer.from(bytes).toString('hex');
}

function keyParams(algorithm: TestKeyAlgorithm): RsaHashedKeyGenParams | EcKeyGenParams {
  if (algorithm === 'RSA-2048') {
    return { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  }
  return { name: 'ECDSA', namedCurve: algorithm };
}

async function generateKeys(algorithm: TestKeyAlgorithm): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(keyParams(algorithm), true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function makeRootCa(subject: string): Promise<Authority> {
  const keys = await generateKeys('P-256');
  const name = new x509.Name(subject);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name,
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + 3650 * DAY_MS),
      keys,
      signingAlgorithm: EC_SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { name, keys, cert, pem: cert.toString('pem') };
}

async function makeIntermediateCa(subject: string, parent: Authority): Promise<Authority> {
  const keys = await generateKeys('P-256');
  const name = new x509.Name(subject);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: name,
      issuer: parent.cert.subjectName,
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + 3650 * DAY_MS),
      publicKey: keys.publicKey,
      signingKey: parent.keys.privateKey,
      signingAlgorithm: EC_SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(parent.keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { name, keys, cert, pem: cert.toString('pem') };
}

interface LeafOptions extends TestCertOptions {
  dnsNames?: string[];
  ipAddresses?: string[];
}

async function issueLeaf(issuer: Authority, options: LeafOptions): Promise<TestCert> {
  const algorithm = options.keyAlgorithm ?? 'P-256';
  const keys = await generateKeys(algorithm);
  const serial = randomSerial();
  const usages =
    algorithm === 'RSA-2048'
      ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
      : x509.KeyUsageFlags.digitalSignature;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(usages, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
    await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey, false, crypto),
  ];
  const altNames = [
    ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (altNames.length) extensions.push(new x509.SubjectAlternativeNameExtension(altNames));
  for (const [name, value] of Object.entries(options.extensions ?? {})) {
    extensions.push(new x509.Extension(puppetExtensionOid(name), false, utf8StringDer(value)));
  }
  extensions.push(...(options.rawExtensions ?? []));
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial,
      subject: new x509.Name([{ CN: [options.certname] }]),
      issuer: issuer.cert.subjectName,
      notBefore: options.notBefore ?? new Date(Date.now() - DAY_MS),
      notAfter: options.notAfter ?? new Date(Date.now() + 365 * DAY_MS),
      publicKey: keys.publicKey,
      signingKey: issuer.keys.privateKey,
      signingAlgorithm: EC_SIGNING,
      extensions,
    },
    crypto,
  );
  return {
    certPem: cert.toString('pem'),
    keyPem: await privateKeyPem(keys.privateKey),
    certname: options.certname,
    serial: canonicalSerial(serial),
  };
}

interface CrlOptions {
  revokedSerials: string[];
  crlNumber: number;
  thisUpdate?: Date;
  nextUpdate?: Date;
  /** Defaults to the issuer's own key; another key makes a forged CRL. */
  signingKey?: CryptoKey;
}

async function makeCrl(issuer: Authority, options: CrlOptions): Promise<string> {
  const thisUpdate = options.thisUpdate ?? new Date(Date.now() - 60 * 1000);
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: issuer.cert.subjectName,
      thisUpdate,
      nextUpdate: options.nextUpdate ?? new Date(Date.now() + 30 * DAY_MS),
      entries: [...new Set(options.revokedSerials.map(canonicalSerial))].map((serial) => ({
        serialNumber: serial.length % 2 ? `0${serial}` : serial, // peculiar reads whole bytes
        revocationDate: thisUpdate,
        reason: x509.X509CrlReason.keyCompromise,
      })),
      extensions: [
        new x509.Extension('2.5.29.20', false, derInteger(options.crlNumber)),
        await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey, false, crypto),
      ],
      signingAlgorithm: EC_SIGNING,
      signingKey: options.signingKey ?? issuer.keys.privateKey,
    },
    crypto,
  );
  // peculiar labels PEM CRLs "CRL"; OpenSSL (and so Node's tls) only reads "X509 CRL".
  return x509.PemConverter.encode(crl.rawData, 'X509 CRL');
}

function joinPem(...blocks: string[]): string {
  return blocks.map((block) => (block.endsWith('\n') ? block : `${block}\n`)).join('');
}

async function buildTestPki(): Promise<TestPki> {
  const root = await makeRootCa('CN=Puppet Root CA: 5e1f0a7c2b9d');
  const intermediate = await makeIntermediateCa('CN=Puppet CA: puppet.test', root);
  const foreignCa = await makeRootCa('CN=Puppet CA: elsewhere.example');

  const server = await issueLeaf(intermediate, {
    certname: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
  });
  const clients = {
    alice: await issueLeaf(intermediate, {
      certname: 'alice.test',
      keyAlgorithm: 'RSA-2048',
      extensions: { pp_environment: 'production', pp_role: 'db' },
    }),
    bob: await issueLeaf(intermediate, { certname: 'bob.test', extensions: { pp_environment: 'production', pp_role: 'keystone' } }),
    staging: await issueLeaf(intermediate, { certname: 'staging.test', extensions: { pp_environment: 'staging', pp_role: 'db' } }),
    revoked: await issueLeaf(intermediate, { certname: 'revoked.test', extensions: { pp_environment: 'production', pp_role: 'db' } }),
    expired: await issueLeaf(intermediate, {
      certname: 'expired.test',
      extensions: { pp_environment: 'production', pp_role: 'db' },
      notBefore: new Date(Date.now() - 30 * DAY_MS),
      notAfter: new Date(Date.now() - DAY_MS),
    }),
    foreign: await issueLeaf(foreignCa, { certname: 'foreign.test', extensions: { pp_environment: 'production', pp_role: 'db' } }),
    carol: await issueLeaf(intermediate, { certname: 'carol.test', extensions: { pp_environment: 'production', pp_role: 'web' } }),
  };

  const rootCrlPem = await makeCrl(root, { revokedSerials: [], crlNumber: 1 });
  const intermediateCrlPem = await makeCrl(intermediate, { revokedSerials: [clients.revoked.serial], crlNumber: 1 });
  const expiredIntermediateCrlPem = await makeCrl(intermediate, {
    revokedSerials: [clients.revoked.serial],
    crlNumber: 1,
    thisUpdate: new Date(Date.now() - 10 * DAY_MS),
    nextUpdate: new Date(Date.now() - DAY_MS),
  });
  const forgedIntermediateCrlPem = await makeCrl(intermediate, {
    revokedSerials: [clients.revoked.serial, clients.carol.serial],
    crlNumber: 1000,
    signingKey: foreignCa.keys.privateKey,
  });

  let nextCrlNumber = 2;
  const dir = tempDir('pki'); // removed at exit: every suite of the process shares it
  const writeFile = (name: string, content: string): string => {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode: 0o600 });
    return file;
  };

  const pki: TestPki = {
    dir,
    rootCaPem: root.pem,
    intermediateCaPem: intermediate.pem,
    caBundlePem: joinPem(root.pem, intermediate.pem),
    rootCrlPem,
    intermediateCrlPem,
    crlBundlePem: joinPem(rootCrlPem, intermediateCrlPem),
    expiredCrlBundlePem: joinPem(rootCrlPem, expiredIntermediateCrlPem),
    server,
    clients,
    async crlBundleRevoking(serials: string[]): Promise<string> {
      const crl = await makeCrl(intermediate, {
        revokedSerials: [clients.revoked.serial, ...serials.map(canonicalSerial)],
        crlNumber: nextCrlNumber++,
      });
      return joinPem(rootCrlPem, crl);
    },
    badSignatureCrlBundlePem: joinPem(rootCrlPem, forgedIntermediateCrlPem),
    writeFile,
    issueClientCert: (options) => issueLeaf(intermediate, options),
    async newAuthority(subject, under) {
      const authority = under === 'root' ? await makeIntermediateCa(subject, root) : await makeRootCa(subject);
      return {
        pem: authority.pem,
        serial: canonicalSerial(authority.cert.serialNumber),
        issue: (options) => issueLeaf(authority, options),
        crl: (revokedSerials, crlNumber) => makeCrl(authority, { revokedSerials, crlNumber }),
      };
    },
    rootCrlRevoking: (serials, crlNumber) => makeCrl(root, { revokedSerials: serials, crlNumber }),
  };
  writeFile('ca.pem', pki.caBundlePem);
  writeFile('crl.pem', pki.crlBundlePem);
  writeFile('server.pem', server.certPem);
  writeFile('server_key.pem', server.keyPem);
  return pki;
}
