import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { ConfigError } from './config/config-error';
import type { ServeConfig } from './config/serve-config';
import { openStore } from './db/open-store';
import type { Store } from './db/store';
import { FactService } from './facts/fact-service';
import { FactStore } from './facts/fact-store';
import { BrokerMetrics } from './health/metrics';
import { createAgentApp } from './http/app';
import type { Logger } from './log/logger';
import { NodeService } from './nodes/node-service';
import { NodeStore } from './nodes/node-store';
import { PeerAuthenticator } from './tls/peer-authenticator';
import { RevocationList } from './tls/revocation';
import { loadTlsMaterial } from './tls/tls-material';

export interface Broker {
  url: string;
  port: number;
  store: Store;
  revocation: RevocationList;
  close(): Promise<void>;
}

/** Wires one broker: store, services, TLS listener. Used by `exportfact serve` and by the tests. */
export async function startBroker(config: ServeConfig, log: Logger): Promise<Broker> {
  const tls = loadTlsMaterial(config.tls);
  const revocation = new RevocationList(tls.caPem, log);
  if (tls.crlPem !== undefined) {
    // At start there is no older set to fall back on: a bad CRL file stops the start.
    await revocation.load(tls.crlPem, config.tls.crl!).catch((err: Error) => {
      throw new ConfigError(`--crl ${config.tls.crl}: ${err.message}`);
    });
  }

  const store = await openStore(config.store);
  const metrics = new BrokerMetrics();
  const authenticator = new PeerAuthenticator(revocation, config.defaultEnvironment);
  const app = createAgentApp({
    store,
    facts: new FactService(new FactStore(store)),
    nodes: new NodeService(new NodeStore(store)),
    authenticator,
    revocation,
    metrics,
    log,
    bodyLimitBytes: config.bodyLimitBytes,
  });

  const server = https.createServer(
    {
      ca: tls.caPem,
      cert: tls.certPem,
      key: tls.keyPem,
      requestCert: true,
      rejectUnauthorized: true, // chain and dates are checked in the handshake; revocation per request
      minVersion: 'TLSv1.2',
    },
    app,
  );
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 35_000;

  // Open connections, so a CRL reload can close the revoked ones at once.
  const sockets = new Set<TLSSocket>();
  server.on('secureConnection', (socket: TLSSocket) => {
    metrics.handshakes.inc();
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', (err) => log.debug({ err: err.message }, 'TLS handshake refused'));
  revocation.on('updated', () => {
    for (const socket of sockets) {
      try {
        if (revocation.isRevoked(authenticator.chainOf(socket))) socket.destroy();
      } catch {
        /* a socket without an accepted certificate never reaches the app */
      }
    }
  });

  if (config.tls.crl) revocation.watchFile(config.tls.crl, config.crlWatchMs);
  if (config.crlUrl) revocation.pollUrl(config.crlUrl, config.crlPollMs, { ca: tls.caPem, cert: tls.certPem, key: tls.keyPem });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
  } catch (err) {
    revocation.close();
    await store.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  log.info({ listen: `${host}:${port}`, store: store.kind }, 'exportfact broker listening');

  return {
    url: `https://${host}:${port}`,
    port,
    store,
    revocation,
    async close() {
      revocation.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      await store.close();
    },
  };
}
