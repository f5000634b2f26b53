import type { X509Certificate } from 'node:crypto';
import { canonicalSerial } from './certificate';
import { chainLinks } from './peer-authenticator';
import type { RevocationList } from './revocation';
import type { TrustStore } from './trust-store';

/**
 * Checks a server the broker itself connects to (PuppetDB) the way agents are checked: its
 * path through the CA bundle, and the CRLs in force. Node's TLS already verified the chain
 * against --ca and the host name; this adds revocation, which Node's `crl` option cannot do
 * safely (see RevocationList). A revoked PuppetDB certificate is refused whoever holds its key.
 * Throws (an UntrustedCertificateError or an AppError) when the server must not be believed.
 */
export function serverCertificateCheck(trust: TrustStore, revocation: RevocationList) {
  return (peer: X509Certificate, name: string): void => {
    revocation.check(chainLinks(canonicalSerial(peer.serialNumber), trust.pathFor(peer)), name);
  };
}
