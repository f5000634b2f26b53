import type { TLSSocket } from 'node:tls';
import { AppError } from '../errors/app-error';
import type { Caller } from '../identity/caller';
import { parsePuppetCertificate, type PeerIdentity } from './certificate';
import type { RevocationList } from './revocation';

interface PeerCertificateChainLink {
  raw: Buffer;
  fingerprint256: string;
  issuerCertificate?: PeerCertificateChainLink;
}

/**
 * Turns a verified TLS peer into a Caller. The handshake already checked the chain and the
 * dates (rejectUnauthorized); revocation is checked here on every request, against the
 * CRLs in force at that moment, so a reload also shuts out kept-alive connections.
 */
export class PeerAuthenticator {
  /** Parsed certificates by fingerprint: an agent run reconnects with the same certificate. */
  private readonly parsed = new Map<string, PeerIdentity>();
  private readonly chains = new WeakMap<TLSSocket, PeerIdentity[]>();

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

  chainOf(socket: TLSSocket): PeerIdentity[] {
    const known = this.chains.get(socket);
    if (known) return known;
    if (!socket.authorized) {
      // Unreachable with rejectUnauthorized, kept as a guard should the server options change.
      throw new AppError(401, 'certificate_required', `client certificate not accepted: ${socket.authorizationError ?? 'none presented'}`);
    }
    const chain: PeerIdentity[] = [];
    let link = socket.getPeerCertificate(true) as unknown as PeerCertificateChainLink;
    while (link?.raw) {
      chain.push(this.parse(link));
      const next = link.issuerCertificate;
      if (!next || next === link || next.fingerprint256 === link.fingerprint256) break; // self-signed root ends the chain
      link = next;
    }
    if (!chain.length) throw new AppError(401, 'certificate_required', 'a client certificate is required');
    this.chains.set(socket, chain);
    return chain;
  }

  private parse(link: PeerCertificateChainLink): PeerIdentity {
    let identity = this.parsed.get(link.fingerprint256);
    if (!identity) {
      identity = parsePuppetCertificate(link.raw);
      if (this.parsed.size >= 50_000) this.parsed.clear();
      this.parsed.set(link.fingerprint256, identity);
    }
    return identity;
  }
}
