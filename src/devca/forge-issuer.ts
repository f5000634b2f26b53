// Keys and certificates of the development CA, made with node-forge as the product
// brief asks. RSA-2048 keeps `npm start` quick; Puppet's own CA issues RSA-4096.
import forge from 'node-forge';
import { ConfigError } from '../errors/config-error';
import { isPuppetArcOid, puppetExtensionOid } from '../tls/certificate';

const DAY_MS = 24 * 60 * 60 * 1000;
const RSA_BITS = 2048;
// Backdated like Puppet does, so a node whose clock runs a little behind accepts it.
const BACKDATE_MS = DAY_MS;
const CA_LIFETIME_MS = 10 * 365 * DAY_MS;
const LEAF_LIFETIME_MS = 5 * 365 * DAY_MS;

export interface IssuedKeyPair {
  certPem: string;
  keyPem: string;
  publicKeyPem: string;
}

export interface CaMaterial {
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
}

export function generateRsaKeyPair(): Promise<forge.pki.rsa.KeyPair> {
  // With a callback forge hands the work to Node's native, asynchronous generateKeyPair.
  return new Promise((resolve, reject) => {
    forge.pki.rsa.generateKeyPair({ bits: RSA_BITS, e: 0x10001 }, (err, keypair) => (err ? reject(err) : resolve(keypair)));
  });
}

/** forge wants even-length hex and reads a set top bit as a negative serial. */
function forgeSerial(canonicalHex: string): string {
  const even = canonicalHex.length % 2 ? `0${canonicalHex}` : canonicalHex;
  return parseInt(even.slice(0, 1), 16) >= 8 ? `00${even}` : even;
}

function commonName(value: string): forge.pki.CertificateField[] {
  // UTF8String: certnames may hold '_', which PrintableString (forge's default) cannot.
  return [{ name: 'commonName', value, valueTagClass: forge.asn1.Type.UTF8 as unknown as forge.asn1.Class }];
}

function puppetExtension(nameOrOid: string, value: string): object {
  let oid: string;
  try {
    oid = puppetExtensionOid(nameOrOid);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (!isPuppetArcOid(oid)) {
    throw new ConfigError(`extension ${nameOrOid} is outside Puppet's OID arc 1.3.6.1.4.1.34380; the broker would ignore it`);
  }
  // Puppet encodes every extension value as a DER UTF8String.
  return { id: oid, value: forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.UTF8, false, forge.util.encodeUtf8(value)) };
}

function signedPem(cert: forge.pki.Certificate, signingKey: forge.pki.rsa.PrivateKey): string {
  cert.sign(signingKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

function pemsOf(certPem: string, keys: forge.pki.rsa.KeyPair): IssuedKeyPair {
  return {
    certPem,
    // PKCS#1 "RSA PRIVATE KEY", the form Puppet writes into private_keys/.
    keyPem: forge.pki.privateKeyToPem(keys.privateKey),
    publicKeyPem: forge.pki.publicKeyToPem(keys.publicKey),
  };
}

export async function createCaCertificate(subjectCn: string, serial: string, now: Date): Promise<IssuedKeyPair> {
  const keys = await generateRsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = forgeSerial(serial);
  cert.validity.notBefore = new Date(now.getTime() - BACKDATE_MS);
  cert.validity.notAfter = new Date(now.getTime() + CA_LIFETIME_MS);
  cert.setSubject(commonName(subjectCn));
  cert.setIssuer(commonName(subjectCn));
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  return pemsOf(signedPem(cert, keys.privateKey), keys);
}

export interface LeafSpec {
  certname: string;
  serial: string;
  now: Date;
  /** Puppet extensions by short name or OID. */
  extensions?: Record<string, string>;
  dnsNames?: string[];
  ipAddresses?: string[];
}

export async function issueLeafCertificate(ca: CaMaterial, spec: LeafSpec): Promise<IssuedKeyPair> {
  // Validate before spending time on a key.
  const puppetExtensions = Object.entries(spec.extensions ?? {}).map(([name, value]) => puppetExtension(name, value));
  const keys = await generateRsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = forgeSerial(spec.serial);
  cert.validity.notBefore = new Date(spec.now.getTime() - BACKDATE_MS);
  cert.validity.notAfter = new Date(Math.min(spec.now.getTime() + LEAF_LIFETIME_MS, ca.cert.validity.notAfter.getTime()));
  cert.setSubject(commonName(spec.certname));
  cert.setIssuer(ca.cert.subject.attributes);
  const altNames = [
    ...(spec.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(spec.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
  ];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectKeyIdentifier' },
    // forge's `keyIdentifier: true` would hash the leaf's own key; the CA's is wanted.
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes() },
    ...(altNames.length ? [{ name: 'subjectAltName', altNames }] : []),
    ...puppetExtensions,
  ]);
  return pemsOf(signedPem(cert, ca.key), keys);
}

export function loadCa(certPem: string, keyPem: string): CaMaterial {
  return { cert: forge.pki.certificateFromPem(certPem), key: forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey };
}

/** The CA key as PKCS#8 DER, the form WebCrypto imports. */
export function caKeyPkcs8Der(ca: CaMaterial): Buffer {
  const pkcs8 = forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(ca.key));
  return Buffer.from(forge.asn1.toDer(pkcs8).getBytes(), 'binary');
}
