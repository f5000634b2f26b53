// The CRLs the broker honours, validated before they replace the ones in use.
//
// Puppet's crl.pem holds one CRL per CA (root and intermediate since Puppet 7). A CRL is
// only trusted when a CA certificate of the bundle signed it and it is current; a bad file
// must never silently empty the revocation list. CRLs are filed under the CA certificate
// whose key verified them (its fingerprint), not under a name: two CAs may share a name.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { KeyUsageFlags, KeyUsagesExtension, PemConverter, X509Certificate, X509Crl } from '@peculiar/x509';
import * as asn1js from 'asn1js';
import { canonicalName, canonicalSerial } from './certificate';
import type { TrustedCa, TrustStore } from './trust-store';

export interface CrlInfo {
  /** The issuer's name, for people (canonicalName form). */
  issuer: string;
  /** Fingerprints of the bundle CAs whose key verified this CRL. */
  signers: string[];
  thisUpdate: Date;
  nextUpdate: Date | null;
  /** CRL number extension, null when absent. */
  crlNumber: bigint | null;
  /** Same form as PeerIdentity.serial (canonicalSerial). */
  revokedSerials: Set<string>;
}

export interface CrlSet {
  crls: CrlInfo[];
  loadedAt: Date;
  /** Whether the CA (by fingerprint) lists this serial (any hex spelling). */
  isRevoked(caFingerprint: string, serial: string): boolean;
  /** Whether some CRL of the set was signed by this CA, so that "not revoked" means something. */
  hasCrlFor(caFingerprint: string): boolean;
  /** The newest CRL in force for a CA, to refuse an older one later. */
  newestFor(caFingerprint: string): CrlInfo | undefined;
  /** CRLs whose nextUpdate has passed: a set valid at load time goes stale while the broker runs. */
  staleCrls(now?: Date): CrlInfo[];
  /** Every revoked serial, by the fingerprint of the CA that lists it. */
  revoked(): { issuer: string; serials: string[] }[];
}

export class CrlValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CrlValidationError';
  }
}

/** Clock skew tolerated between the CA that wrote thisUpdate and this host. */
const THIS_UPDATE_SKEW_MS = 5 * 60 * 1000;
const OID_CRL_NUMBER = '2.5.29.20';
const OID_AUTHORITY_KEY_ID = '2.5.29.35';

export async function parseCrlBundle(input: string | Buffer, trust: TrustStore, now: Date = new Date()): Promise<CrlSet> {
  const crls: CrlInfo[] = [];
  for (const [index, der] of splitCrls(input).entries()) crls.push(await validateCrl(der, index, trust.cas, now));
  return makeCrlSet(crls, new Date());
}

function splitCrls(input: string | Buffer): Buffer[] {
  const text = typeof input === 'string' ? input : input.toString('latin1');
  if (!text.includes('-----BEGIN')) {
    if (typeof input === 'string') throw new CrlValidationError('CRL input holds no PEM "X509 CRL" block');
    return [input]; // a single DER CRL
  }
  let blocks: ReturnType<typeof PemConverter.decodeWithHeaders>;
  try {
    blocks = PemConverter.decodeWithHeaders(text);
  } catch (err) {
    throw new CrlValidationError(`CRL input is not valid PEM: ${(err as Error).message}`);
  }
  // "X509 CRL" is what OpenSSL and Puppet write; some libraries write plain "CRL".
  const ders = blocks.filter((b) => b.type === 'X509 CRL' || b.type === 'CRL').map((b) => Buffer.from(b.rawData));
  if (ders.length === 0) throw new CrlValidationError('CRL input holds no PEM "X509 CRL" block');
  return ders;
}

async function validateCrl(der: Buffer, index: number, cas: readonly TrustedCa[], now: Date): Promise<CrlInfo> {
  const label = `CRL #${index + 1}`;
  let crl: X509Crl;
  try {
    crl = new X509Crl(new Uint8Array(der));
  } catch (err) {
    throw new CrlValidationError(`${label} is not a valid X.509 CRL: ${(err as Error).message}`);
  }
  const issuer = canonicalName(crl.issuerName);
  const fail = (why: string) => new CrlValidationError(`${label} (issuer "${issuer}") ${why}`);

  const named = cas.filter((ca) => ca.subject === issuer);
  if (named.length === 0) throw fail('was issued by a CA that is not in the CA bundle');
  const signers = await signersOf(crl, named);
  if (signers.length === 0) throw fail('has a signature that does not verify against the CA certificate of that name');
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
    signers: signers.map((ca) => ca.fingerprint),
    thisUpdate: crl.thisUpdate,
    nextUpdate,
    crlNumber: crlNumberOf(crl),
    revokedSerials: new Set(crl.entries.map((entry) => canonicalSerial(entry.serialNumber))),
  };
}

async function signersOf(crl: X509Crl, candidates: TrustedCa[]): Promise<TrustedCa[]> {
  const signers: TrustedCa[] = [];
  for (const ca of candidates) {
    const cert = new X509Certificate(new Uint8Array(ca.der));
    const keyUsage = cert.getExtension(KeyUsagesExtension);
    if (keyUsage && !(keyUsage.usages & KeyUsageFlags.cRLSign)) continue;
    try {
      // The PublicKey (not the certificate) makes peculiar use the CRL's own signature
      // algorithm; with the certificate it would borrow the CA certificate's hash.
      if (await crl.verify({ publicKey: cert.publicKey }, webcrypto as unknown as Crypto)) signers.push(ca);
    } catch {
      // An unusable key for this algorithm is just "not this signer".
    }
  }
  return signers;
}

function crlNumberOf(crl: X509Crl): bigint | null {
  const extension = crl.extensions.find((e) => e.type === OID_CRL_NUMBER);
  if (!extension) return null;
  const { offset, result } = asn1js.fromBER(new Uint8Array(extension.value));
  return offset === extension.value.byteLength && result instanceof asn1js.Integer ? result.toBigInt() : null;
}

/** Which of two CRLs of one CA is newer: by CRL number when both have one, else by thisUpdate. */
export function isOlderCrl(candidate: CrlInfo, inForce: CrlInfo): boolean {
  if (candidate.crlNumber !== null && inForce.crlNumber !== null) return candidate.crlNumber < inForce.crlNumber;
  return candidate.thisUpdate.getTime() < inForce.thisUpdate.getTime();
}

function makeCrlSet(crls: CrlInfo[], loadedAt: Date): CrlSet {
  const revokedBySigner = new Map<string, Set<string>>();
  const newestBySigner = new Map<string, CrlInfo>();
  for (const crl of crls) {
    for (const signer of crl.signers) {
      // Two CRLs from one CA in a bundle: honour every revocation either lists.
      const serials = revokedBySigner.get(signer) ?? new Set<string>();
      for (const serial of crl.revokedSerials) serials.add(serial);
      revokedBySigner.set(signer, serials);
      const newest = newestBySigner.get(signer);
      if (!newest || isOlderCrl(newest, crl)) newestBySigner.set(signer, crl);
    }
  }
  return {
    crls,
    loadedAt,
    isRevoked: (caFingerprint, serial) => revokedBySigner.get(caFingerprint)?.has(canonicalSerial(serial)) ?? false,
    hasCrlFor: (caFingerprint) => revokedBySigner.has(caFingerprint),
    newestFor: (caFingerprint) => newestBySigner.get(caFingerprint),
    staleCrls: (now = new Date()) => crls.filter((crl) => crl.nextUpdate !== null && crl.nextUpdate.getTime() < now.getTime()),
    revoked: () => [...revokedBySigner].map(([issuer, serials]) => ({ issuer, serials: [...serials] })),
  };
}
