import type { RequestListener } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../log/logger';
import type { PeerAuthenticator } from './peer-authenticator';
import type { RevocationList } from './revocation';
import type { TlsMaterial } from './tls-material';

export interface MtlsServerOptions {
  tls: TlsMaterial;
  app: RequestListener;
  /** true: no verified client certificate, no handshake (agent port). false: certificate optional (admin port). */
  requireClientCert: boolean;
  revocation: RevocationList;
  authenticator: PeerAuthenticator;
  log: Logger;
  listener: string;
  /** Time a client has to send a whole request, body included (slow-body connections end there). */
  requestTimeoutMs: number;
  onConnection?: (socket: TLSSocket) => void;
}

export interface MtlsServer {
  /** Listens; resolves with the bound URL and port. */
  listen(host: string, port: number): Promise<{ url: string; port: number }>;
  close(): Promise<void>;
}

/**
 * An https listener for Puppet certificates, shared by the agent and the admin port: the
 * chain and dates are checked in the handshake, and a CRL reload closes kept-alive
 * connections of newly revoked certificates at once (each request is checked as well).
 */
export function createMtlsServer(o: MtlsServerOptions): MtlsServer {
  const server = https.createServer(
    {
      ca: o.tls.caPem,
      cert: o.tls.certPem,
      key: o.tls.keyPem,
      requestCert: true,
      rejectUnauthorized: o.requireClientCert,
      minVersion: 'TLSv1.2',
      // A client trickling its body a byte at a time holds a socket and memory: the whole
      // request must arrive within requestTimeout (Node checks every connectionsCheckingInterval).
      requestTimeout: o.requestTimeoutMs,
      headersTimeout: Math.min(o.requestTimeoutMs, 35_000),
      connectionsCheckingInterval: Math.min(1000, o.requestTimeoutMs),
    },
    o.app,
  );
  server.keepAliveTimeout = 30_000;

  const sockets = new Set<TLSSocket>();
  server.on('secureConnection', (socket: TLSSocket) => {
    // Identity is read once per connection; a renegotiation must not swap the certificate under it.
    socket.disableRenegotiation();
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    o.onConnection?.(socket);
  });
  server.on('tlsClientError', (err) => o.log.debug({ err: err.message, listener: o.listener }, 'TLS handshake refused'));
  const onCrlUpdate = () => {
    for (const socket of sockets) {
      if (!socket.authorized) continue; // no verified certificate: nothing to revoke
      try {
        if (o.revocation.isRevoked(o.authenticator.chainOf(socket).links)) socket.destroy();
      } catch {
        /* a certificate without a usable chain is refused per request anyway */
      }
    }
  };
  o.revocation.on('updated', onCrlUpdate);

  return {
    async listen(host, port) {
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, host, () => resolve());
        });
      } catch (err) {
        o.revocation.off('updated', onCrlUpdate);
        throw err;
      }
      const bound = (server.address() as AddressInfo).port;
      return { url: `https://${host.includes(':') ? `[${host}]` : host}:${bound}`, port: bound };
    },
    async close() {
      o.revocation.off('updated', onCrlUpdate);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
    },
  };
}
