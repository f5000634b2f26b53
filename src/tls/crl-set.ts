// The CRLs the broker honours, validated before they replace the ones in use.
//
// Puppet's crl.pem holds one CRL per CA (root and intermediate since Puppet 7). A CRL
// is only trusted when a CA certificate of the bundle with the same subject signed it
// and it is current; a bad file must never silently empty the revocation list.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { KeyUsageFlags, KeyUsagesExtension, X509Certificate, X509Crl } from '@peculiar/x509';
import { canonicalName, canonicalSerial, readSingleTlv } from './certificate';

export interface CrlInfo {
  /** Same form as PeerIdentity.issuer (canonicalName). */
  issuer: string;
  thisUpdate: Date;
  nextUpdate: Date | null;
  /** CRL number extension as a decimal string, null when absent. */
  crlNumber: string | null;
  /** Same form as PeerIdentity.serial (canonicalSerial). */
  revokedSerials: Set<string>;
  /** This CRL alone as PEM: Node's tls `crl` option needs one array entry per CRL. */
  pem: string;
}

export interface CrlSet {
  crls: CrlInfo[];
  loadedAt: Date;
  /** Serial in any hex spelling; issuer in canonicalName form. False when no CRL covers the issuer: see hasCrlFor. */
  isRevoked(issuer: string, serial: string): boolean;
  /** Whether some CRL of the set was issued by this CA, so a "not revoked" answer means something. */
  hasCrlFor(issuer: string): boolean;
  /** CRLs whose nextUpdate has passed: a set valid at load time goes stale while the broker runs. */
  staleCrls(now?: Date): CrlInfo[];
}

export class CrlValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CrlValidationError';
  }
}

export interface CaCertificate { subject: string; der: Buffer; pem: string; }

/** Clock skew tolerated between the CA that wrote thisUpdate and this host. */
const THIS_UPDATE_SKEW_MS = 5 * 60 * 1000;
const OID_CRL_NUMBER = '2.5.29.20';
const OID_AUTHORITY_KEY_ID = '2.5.29.35';
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

interface PemBlock { label: string; der: Buffer; }

function pemBlocks(text: string): PemBlock[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1], der: Buffer.from(m[2].replace(/\s+/g, ''), 'base64') }));
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function parseCaBundle(pem: string): CaCertificate[] {
  const blocks = pemBlocks(pem).filter((b) => b.label === 'CERTIFICATE');
  if (blocks.length === 0) throw new Error('CA bundle holds no PEM "CERTIFICATE" block');
  return blocks.map((block, index) => {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(new Uint8Array(block.der));
    } catch (err) {
      throw new Error(`CA bundle certificate #${index + 1} is not a valid X.509 certificate: ${(err as Error).message}`);
    }
    return { subject: canonicalName(cert.subjectName), der: block.der, pem: toPem('CERTIFICATE', block.der) };
  });
}

export async function parseCrlBundle(pem: string | Buffer, caBundlePem: string, now: Date = new Date()): Promise<CrlSet> {
  const crlDers = splitCrls(pem);
  const caCerts = parseCaBundle(caBundlePem).map((ca) => ({ subject: ca.subject, cert: new X509Certificate(new Uint8Array(ca.der)) }));
  const crls: CrlInfo[] = [];
  for (const [index, der] of crlDers.entries()) {
    crls.push(await validateCrl(der, index, caCerts, now));
  }
  return makeCrlSet(crls, new Date());
}

function splitCrls(input: string | Buffer): Buffer[] {
  const text = typeof input === 'string' ? input : input.toString('latin1');
  if (!text.includes('-----BEGIN')) {
    if (typeof input === 'string') throw new CrlValidationError('CRL input holds no PEM "X509 CRL" block');
    return [input]; // a single DER CRL
  }
  // "X509 CRL" is what OpenSSL and Puppet write; some libraries write plain "CRL".
  const ders = pemBlocks(text).filter((b) => b.label === 'X509 CRL' || b.label === 'CRL').map((b) => b.der);
  if (ders.length === 0) throw new CrlValidationError('CRL input holds no PEM "X509 CRL" block');
  return ders;
}

async function validateCrl(
  der: Buffer,
  index: number,
  caCerts: { subject: string; cert: X509Certificate }[],
  now: Date,
): Promise<CrlInfo> {
  const label = `CRL #${index + 1}`;
  let crl: X509Crl;
  try {
    crl = new X509Crl(new Uint8Array(der));
  } catch (err) {
    throw new CrlValidationError(`${label} is not a valid X.509 CRL: ${(err as Error).message}`);
  }
  const issuer = canonicalName(crl.issuerName);
  const fail = (why: string) => new CrlValidationError(`${label} (issuer "${issuer}") ${why}`);

  const signers = caCerts.filter((ca) => ca.subject === issuer);
  if (signers.length === 0) throw fail('was issued by a CA that is not in the CA bundle');
  if (!(await signedByAny(crl, signers.map((s) => s.cert)))) {
    throw fail('has a signature that does not verify against the CA certificate of that name');
  }
  if (crl.thisUpdate.getTime() > now.getTime() + THIS_UPDATE_SKEW_MS) {
    throw fail(`is not valid yet: thisUpdate ${crl.thisUpdate.toISOString()} is in the future`);
  }
  const nextUpdate = crl.nextUpdate ?? null;
  if (nextUpdate && nextUpdate.getTime() < now.getTime()) {
    throw fail(`has expired: nextUpdate ${nextUpdate.toISOString()} has passed; the CA must publish a fresh CRL`);
  }
  // A critical extension we do not understand (delta CRL, partitioned CRL) means this
  // is not the complete list, and treating it as complete would un-revoke certificates.
  for (const extension of crl.extensions) {
    if (extension.critical && extension.type !== OID_CRL_NUMBER && extension.type !== OID_AUTHORITY_KEY_ID) {
      throw fail(`has an unsupported critical extension ${extension.type}`);
    }
  }
  return {
    issuer,
    thisUpdate: crl.thisUpdate,
    nextUpdate,
    crlNumber: crlNumberOf(crl),
    revokedSerials: new Set(crl.entries.map((entry) => canonicalSerial(entry.serialNumber))),
    pem: toPem('X509 CRL', der),
  };
}

async function signedByAny(crl: X509Crl, candidates: X509Certificate[]): Promise<boolean> {
  for (const ca of candidates) {
    const keyUsage = ca.getExtension(KeyUsagesExtension);
    if (keyUsage && !(keyUsage.usages & KeyUsageFlags.cRLSign)) continue;
    try {
      // The PublicKey (not the certificate) makes peculiar use the CRL's own signature
      // algorithm; with the certificate it would borrow the CA certificate's hash.
      if (await crl.verify({ publicKey: ca.publicKey }, webcrypto as unknown as Crypto)) return true;
    } catch {
      // An unusable key for this algorithm is just "not this signer".
    }
  }
  return false;
}

function crlNumberOf(crl: X509Crl): string | null {
  const extension = crl.extensions.find((e) => e.type === OID_CRL_NUMBER);
  if (!extension) return null;
  const value = new Uint8Array(extension.value);
  const tlv = readSingleTlv(value);
  if (!tlv || tlv.tag !== 0x02 || tlv.contentStart === value.length) return null;
  return BigInt(`0x${Buffer.from(value.subarray(tlv.contentStart)).toString('hex')}`).toString(10);
}

function makeCrlSet(crls: CrlInfo[], loadedAt: Date): CrlSet {
  const revokedByIssuer = new Map<string, Set<string>>();
  for (const crl of crls) {
    // Two CRLs from one CA in a bundle: honour every revocation either lists.
    const serials = revokedByIssuer.get(crl.issuer) ?? new Set<string>();
    for (const serial of crl.revokedSerials) serials.add(serial);
    revokedByIssuer.set(crl.issuer, serials);
  }
  return {
    crls,
    loadedAt,
    isRevoked(issuer: string, serial: string): boolean {
      return revokedByIssuer.get(issuer)?.has(canonicalSerial(serial)) ?? false;
    },
    hasCrlFor(issuer: string): boolean {
      return revokedByIssuer.has(issuer);
    },
    staleCrls(now: Date = new Date()): CrlInfo[] {
      return crls.filter((crl) => crl.nextUpdate !== null && crl.nextUpdate.getTime() < now.getTime());
    },
  };
}
