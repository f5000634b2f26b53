import type { TLSSocket } from 'node:tls';
import { AppError } from '../errors/app-error';
import type { Caller } from '../identity/caller';
import { parseIssuerAndSerial, parsePuppetCertificate, type PeerIdentity } from './certificate';
import { parseCaBundle } from './crl-set';
import type { RevocationList } from './revocation';

/** What revocation checks of each certificate in the chain; the leaf also names the caller. */
export type ChainLink = Pick<PeerIdentity, 'issuer' | 'serial'>;
type Chain = [PeerIdentity, ...ChainLink[]];

/**
 * Turns a verified TLS peer into a Caller. The handshake already checked the chain and the
 * dates (rejectUnauthorized); revocation is checked here on every request, against the
 * CRLs in force at that moment, so a reload also shuts out kept-alive connections.
 *
 * The CA part of a chain comes from our own CA bundle, indexed once, not from the peer:
 * asking Node for the peer's whole chain cost about a millisecond per connection.
 */
export class PeerAuthenticator {
  /** Chains by leaf fingerprint: an agent reconnects with the same certificate every run. */
  private readonly chainsByLeaf = new Map<string, Chain>();
  private readonly chains = new WeakMap<TLSSocket, Chain>();
  /** CA certificates by subject (two when a CA was renewed under the same name). */
  private readonly cas = new Map<string, (ChainLink & { subject: string })[]>();

  constructor(
    private readonly revocation: RevocationList,
    private readonly defaultEnvironment: string,
    caBundlePem: string,
  ) {
    for (const ca of parseCaBundle(caBundlePem)) {
      const link = { subject: ca.subject, ...parseIssuerAndSerial(ca.der) };
      this.cas.set(ca.subject, [...(this.cas.get(ca.subject) ?? []), link]);
    }
  }

  authenticate(socket: TLSSocket): Caller {
    const chain = this.chainOf(socket);
    if (this.revocation.isRevoked(chain)) {
      throw new AppError(401, 'certificate_revoked', `the certificate of ${chain[0].certname} has been revoked`, { Connection: 'close' });
    }
    const leaf = chain[0];
    return { certname: leaf.certname, environment: leaf.extensions.pp_environment || this.defaultEnvironment, extensions: leaf.extensions };
  }

  chainOf(socket: TLSSocket): Chain {
    const known = this.chains.get(socket);
    if (known) return known;
    if (!socket.authorized) {
      // Unreachable with rejectUnauthorized, kept as a guard should the server options change.
      throw new AppError(401, 'certificate_required', `client certificate not accepted: ${socket.authorizationError ?? 'none presented'}`);
    }
    const peer = socket.getPeerX509Certificate();
    if (!peer) throw new AppError(401, 'certificate_required', 'a client certificate is required');
    let chain = this.chainsByLeaf.get(peer.fingerprint256);
    if (!chain) {
      chain = this.buildChain(peer.raw);
      if (this.chainsByLeaf.size >= 50_000) this.chainsByLeaf.clear();
      this.chainsByLeaf.set(peer.fingerprint256, chain);
    }
    this.chains.set(socket, chain);
    return chain;
  }

  private buildChain(der: Buffer): Chain {
    let leaf: PeerIdentity;
    try {
      leaf = parsePuppetCertificate(der);
    } catch (err) {
      throw new AppError(401, 'certificate_unusable', `client certificate cannot name a node: ${(err as Error).message}`);
    }
    const chain: Chain = [leaf];
    const seen = new Set<string>();
    let issuer = leaf.issuer;
    // Walk up through the bundle; a self-signed root (issuer = subject) ends it.
    while (!seen.has(issuer)) {
      seen.add(issuer);
      const cas = this.cas.get(issuer) ?? [];
      chain.push(...cas);
      const next = cas.find((c) => c.issuer !== c.subject);
      if (!next) break;
      issuer = next.issuer;
    }
    return chain;
  }
}
