import { createPublicKey } from 'node:crypto';
import express from 'express';
import type pino from 'pino';
import { requireScope } from '../../../src/admin/admin-auth';
import { adminPrincipalOf } from '../../../src/admin/admin-principal';
import { type AdminServer, startAdminServer } from '../../../src/app/admin-app';
import { createLogger } from '../../../src/log/logger';
import { PeerAuthenticator } from '../../../src/tls/peer-authenticator';
import { RevocationList } from '../../../src/tls/revocation';
import { TrustStore } from '../../../src/tls/trust-store';
import { LogCapture } from '../../support/broker';
import { Client } from '../../support/client';
import { getTestPki, type TestCert, type TestPki } from '../../support/pki';

export interface TestAdminServer {
  server: AdminServer;
  pki: TestPki;
  revocation: RevocationList;
  logs: LogCapture;
  client(cert?: TestCert): Client;
  close(): Promise<void>;
}

/** Routes standing in for the secrets/audit admin routes: each needs one scope. */
export function scopedTestRouter(): express.Router {
  const router = express.Router();
  router.post('/test/rotate', requireScope('secrets:rotate'), (req, res) => {
    res.json({ rotated_by: adminPrincipalOf(req).subject, body: req.body });
  });
  router.get('/test/audit', requireScope('audit:read'), (req, res) => {
    res.json({ read_by: adminPrincipalOf(req).subject });
  });
  return router;
}

/** The admin listener in process, real TLS, the test PKI and its CRLs. */
export async function startTestAdminServer(
  opts: { tokenPublicKeyPem?: string; adminCertnames?: string[]; adminRoles?: string[] } = {},
): Promise<TestAdminServer> {
  const pki = await getTestPki();
  const logs = new LogCapture();
  const log = createLogger('info', logs.stream as unknown as pino.DestinationStream);
  const trust = new TrustStore(pki.caBundlePem);
  const revocation = new RevocationList(trust, log, true);
  await revocation.load(pki.crlBundlePem, 'test crl.pem');
  const server = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    tls: {
      caPem: pki.caBundlePem,
      trust,
      certPem: pki.server.certPem,
      keyPem: pki.server.keyPem,
      files: { ca: 'ca.pem', cert: 'server.pem', key: 'server_key.pem' },
    },
    revocation,
    authenticator: new PeerAuthenticator(revocation, 'production', trust),
    adminCertnames: opts.adminCertnames ?? ['ops.admin.test'],
    adminRoles: opts.adminRoles ?? ['admin'],
    tokenKey: opts.tokenPublicKeyPem === undefined ? undefined : () => createPublicKey(opts.tokenPublicKeyPem!),
    routers: [scopedTestRouter()],
    log,
  });
  return {
    server,
    pki,
    revocation,
    logs,
    client: (cert?: TestCert) => new Client(server.url, pki.caBundlePem, cert),
    async close() {
      await server.close();
      revocation.close();
    },
  };
}
