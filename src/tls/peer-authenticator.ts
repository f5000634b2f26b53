import type { TLSSocket } from 'node:tls';
import { AppError } from '../errors/app-error';
import type { Caller } from '../identity/caller';
import { parseIssuerAndSerial, parsePuppetCertificate, type PeerIdentity } from './certificate';
import type { RevocationList } from './revocation';

interface PeerCertificateChainLink {
  raw: Buffer;
  fingerprint256: string;
  issuerCertificate?: PeerCertificateChainLink;
}

/** What revocation checks of each certificate in the chain; the leaf also names the caller. */
export type ChainLink = Pick<PeerIdentity, 'issuer' | 'serial'>;

/**
 * Turns a verified TLS peer into a Caller. The handshake already checked the chain and the
 * dates (rejectUnauthorized); revocation is checked here on every request, against the
 * CRLs in force at that moment, so a reload also shuts out kept-alive connections.
 */
export class PeerAuthenticator {
  /** Parsed certificates by fingerprint: an agent run reconnects with the same certificate. */
  private readonly parsed = new Map<string, PeerIdentity | ChainLink>();
  private readonly chains = new WeakMap<TLSSocket, [PeerIdentity, ...ChainLink[]]>();

  constructor(
    private readonly revocation: RevocationList,
    private readonly defaultEnvironment: string,
  ) {}

  authenticate(socket: TLSSocket): Caller {
    const chain = this.chainOf(socket);
    if (this.revocation.isRevoked(chain)) {
      throw new AppError(401, 'certificate_revoked', `the certificate of ${chain[0].certname} has been revoked`, { Connection: 'close' });
    }
    const leaf = chain[0];
    return { certname: leaf.certname, environment: leaf.extensions.pp_environment || this.defaultEnvironment, extensions: leaf.extensions };
  }

  chainOf(socket: TLSSocket): [PeerIdentity, ...ChainLink[]] {
    const known = this.chains.get(socket);
    if (known) return known;
    if (!socket.authorized) {
      // Unreachable with rejectUnauthorized, kept as a guard should the server options change.
      throw new AppError(401, 'certificate_required', `client certificate not accepted: ${socket.authorizationError ?? 'none presented'}`);
    }
    let link = socket.getPeerCertificate(true) as unknown as PeerCertificateChainLink;
    if (!link?.raw) throw new AppError(401, 'certificate_required', 'a client certificate is required');
    const chain: [PeerIdentity, ...ChainLink[]] = [this.parseLeaf(link)];
    for (;;) {
      const next = link.issuerCertificate;
      if (!next?.raw || next === link || next.fingerprint256 === link.fingerprint256) break; // self-signed root ends the chain
      link = next;
      chain.push(this.cached(link, () => parseIssuerAndSerial(link.raw)));
    }
    this.chains.set(socket, chain);
    return chain;
  }

  private parseLeaf(link: PeerCertificateChainLink): PeerIdentity {
    try {
      return this.cached(link, () => parsePuppetCertificate(link.raw)) as PeerIdentity;
    } catch (err) {
      throw new AppError(401, 'certificate_unusable', `client certificate cannot name a node: ${(err as Error).message}`);
    }
  }

  private cached<T extends ChainLink>(link: PeerCertificateChainLink, parse: () => T): T {
    let parsed = this.parsed.get(link.fingerprint256) as T | undefined;
    if (!parsed) {
      parsed = parse();
      if (this.parsed.size >= 50_000) this.parsed.clear();
      this.parsed.set(link.fingerprint256, parsed);
    }
    return parsed;
  }
}
