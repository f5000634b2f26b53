// The CAs the broker trusts, and the only paths through them it accepts.
//
// The TLS handshake alone is not enough: OpenSSL completes a chain with intermediates the
// *client* sends, so a leaf from another intermediate under the same root (not in our
// bundle, perhaps revoked by the root's CRL) passes the handshake. Here a certificate is
// trusted only along a path of CAs that are all in the bundle, each link checked by
// signature (never by name alone), ending at a self-signed root of the bundle.
import 'reflect-metadata';
import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { BasicConstraintsExtension, PemConverter, X509Certificate } from '@peculiar/x509';
import { canonicalName, canonicalSerial } from './certificate';

export interface TrustedCa {
  /** canonicalName of the subject: for messages and matching CRL issuers. */
  subject: string;
  /** SHA-256 of the DER in Node's spelling: the CA's identity (two CAs may share a subject). */
  fingerprint: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  selfSigned: boolean;
  /** basicConstraints pathLenConstraint: how many CAs may stand below this one. */
  pathLength?: number;
  cert: NodeX509Certificate;
  der: Buffer;
}

/** Why a certificate is not trusted; the message names the CA or the step that failed. */
export class UntrustedCertificateError extends Error {}

export class TrustStore {
  readonly cas: readonly TrustedCa[];
  /** For each CA, the bundle path from it up to a root (itself first), or the reason there is none. */
  private readonly pathsToRoot = new Map<TrustedCa, TrustedCa[] | string>();

  constructor(caBundlePem: string) {
    let blocks: Buffer[];
    try {
      blocks = PemConverter.decodeWithHeaders(caBundlePem)
        .filter((b) => b.type === 'CERTIFICATE')
        .map((b) => Buffer.from(b.rawData));
    } catch (err) {
      throw new Error(`CA bundle is not valid PEM: ${(err as Error).message}`);
    }
    if (blocks.length === 0) throw new Error('CA bundle holds no PEM "CERTIFICATE" block');
    this.cas = blocks.map((der, index) => readCa(der, index));
    for (const ca of this.cas) this.pathsToRoot.set(ca, this.walkToRoot(ca));
  }

  /** CAs of the bundle that cannot issue anything the broker accepts (no path to a root), with why. */
  unusable(): { subject: string; reason: string }[] {
    return [...this.pathsToRoot].filter(([, p]) => typeof p === 'string').map(([ca, p]) => ({ subject: ca.subject, reason: p as string }));
  }

  /**
   * The CAs from the leaf's issuer up to the root, all from the bundle, or an error saying why
   * not. Dates are checked at `now`; the caller re-checks expiry over the path's validity.
   */
  pathFor(leaf: NodeX509Certificate, now = new Date()): TrustedCa[] {
    if (leaf.ca) throw new UntrustedCertificateError('a CA certificate cannot name a node');
    const issuers = this.cas.filter((ca) => issued(ca, leaf));
    if (issuers.length === 0) {
      throw new UntrustedCertificateError(
        `it was not issued by a CA of the broker's CA bundle (issuer "${leaf.issuer.replace(/\n/g, ', ')}")`,
      );
    }
    let reason = '';
    for (const issuer of issuers) {
      const path = this.pathsToRoot.get(issuer)!;
      if (typeof path === 'string') {
        reason = path;
        continue;
      }
      const expired = path.find((ca) => ca.notBefore > now || ca.notAfter < now);
      if (expired) {
        reason = `CA "${expired.subject}" is outside its validity period`;
        continue;
      }
      return path;
    }
    throw new UntrustedCertificateError(reason);
  }

  /** From a CA up to a self-signed root, through CAs of the bundle only, honouring path lengths. */
  private walkToRoot(start: TrustedCa): TrustedCa[] | string {
    const path = [start];
    for (let current = start; !current.selfSigned; ) {
      const parent = this.cas.find((ca) => !path.includes(ca) && issued(ca, current.cert));
      if (!parent) return `CA "${current.subject}" was not issued by another CA of the bundle and is not a self-signed root`;
      // pathLenConstraint counts the CAs that may stand below `parent`: every CA of the path so far.
      if (parent.pathLength !== undefined && path.length > parent.pathLength) {
        return `CA "${parent.subject}" may not have CAs that deep below it (pathLenConstraint ${parent.pathLength})`;
      }
      path.push(parent);
      current = parent;
    }
    return path;
  }
}

/** True when `ca` issued `cert`: names and key identifiers agree (checkIssued) AND the signature verifies. */
function issued(ca: TrustedCa, cert: NodeX509Certificate): boolean {
  try {
    return cert.checkIssued(ca.cert) && cert.verify(ca.cert.publicKey);
  } catch {
    return false;
  }
}

function readCa(der: Buffer, index: number): TrustedCa {
  let parsed: X509Certificate;
  let cert: NodeX509Certificate;
  try {
    parsed = new X509Certificate(new Uint8Array(der));
    cert = new NodeX509Certificate(der);
  } catch (err) {
    throw new Error(`CA bundle certificate #${index + 1} is not a valid X.509 certificate: ${(err as Error).message}`);
  }
  const subject = canonicalName(parsed.subjectName);
  const constraints = parsed.getExtension(BasicConstraintsExtension);
  if (!cert.ca || !constraints?.ca)
    throw new Error(`CA bundle certificate #${index + 1} ("${subject}") is not a CA certificate (basicConstraints cA is not set)`);
  let selfSigned = false;
  try {
    selfSigned = cert.checkIssued(cert) && cert.verify(cert.publicKey);
  } catch {
    selfSigned = false;
  }
  return {
    subject,
    fingerprint: cert.fingerprint256,
    serial: canonicalSerial(parsed.serialNumber),
    notBefore: parsed.notBefore,
    notAfter: parsed.notAfter,
    selfSigned,
    pathLength: constraints.pathLength,
    cert,
    der,
  };
}
