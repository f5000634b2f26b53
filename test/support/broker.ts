import path from 'node:path';
import type pino from 'pino';
import { auditFilesIn, openAudit } from '../../src/audit/open-audit';
import { type Broker, startBroker } from '../../src/broker';
import type { ServeConfig, StoreConfig } from '../../src/config/serve-config';
import type { Store } from '../../src/db/store';
import { createLogger } from '../../src/log/logger';
import { createKeyringFile } from '../../src/secrets/keyring';
import { SecretVault } from '../../src/secrets/secret-vault';
import { createServices } from '../../src/services';
import { Client } from './client';
import { createTestDatabase } from './pg';
import { getTestPki, type TestCert, type TestPki } from './pki';
import { tempDir, writePrivate } from './temp';

/**
 * For suites about something else than policy: every node may read every secret of its
 * environment (the defaults allow only exporters and requesters).
 */
export const READ_ALL_SECRETS = `rules:
  - name: tests read every secret
    allow: read
    facts: ["*.*"]
    sensitive: true
`;

export { tempDir } from './temp';

/** Captures the broker's JSON log lines so tests can assert what is (never) logged. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly stream = { write: (line: string) => void this.lines.push(line) };
  get text(): string {
    return this.lines.join('');
  }
}

export interface TestBroker {
  broker: Broker;
  pki: TestPki;
  logs: LogCapture;
  config: ServeConfig;
  client(cert?: TestCert): Client;
  /** The admin listener (start with `admin`). */
  adminClient(cert?: TestCert): Client;
  close(): Promise<void>;
}

/** An in-process broker on a random port with the test PKI; embedded store unless given one. */
export async function startTestBroker(
  opts: {
    store?: StoreConfig;
    adminPort?: number;
    nodes?: { ttlSeconds: number; purgeTtlSeconds: number };
    requestTimeoutMs?: number;
    reuseDir?: string;
    auditDevice?: boolean;
    caBundle?: string;
    crlUrl?: string;
    admin?: { certnames: string[] };
    crl?: string | null;
    crlWatchMs?: number;
    keyringFile?: string;
    graceSeconds?: number;
    reencryptBatch?: number;
    policy?: string;
  } = {},
): Promise<TestBroker> {
  const pki = await getTestPki();
  // Files of this broker only: reload tests rewrite its crl.pem.
  const dir = opts.reuseDir ?? tempDir('tls');
  const write = (name: string, content: string) => writePrivate(dir, name, content);
  const crl = opts.crl === undefined ? write('crl.pem', pki.crlBundlePem) : (opts.crl ?? undefined);
  const config: ServeConfig = {
    host: '127.0.0.1',
    port: 0,
    tls: {
      ca: write('ca.pem', opts.caBundle ?? pki.caBundlePem),
      crl,
      cert: write('server.pem', pki.server.certPem),
      key: write('server_key.pem', pki.server.keyPem),
    },
    crlUrl: opts.crlUrl,
    crlPollMs: 500,
    crlWatchMs: opts.crlWatchMs ?? 200,
    store: opts.store ?? { kind: 'embedded', dataDir: tempDir('data') },
    defaultEnvironment: 'production',
    bodyLimitBytes: 256 * 1024,
    requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
    keyring: { file: opts.keyringFile ?? path.join(dir, 'keyring.json') },
    secretGraceSeconds: opts.graceSeconds ?? 86_400,
    reencryptBatch: opts.reencryptBatch ?? 200,
    maintenanceMs: 200,
    keyWatchMs: 200,
    nodes: opts.nodes ?? { ttlSeconds: 7 * 86_400, purgeTtlSeconds: 14 * 86_400 },
    audit: { ...auditFilesIn(dir), deviceFile: opts.auditDevice ? path.join(dir, 'audit-device.jsonl') : undefined },
    policy: opts.policy === undefined ? undefined : { file: write('policy.yaml', opts.policy), watchMs: 200 },
    admin: opts.admin && {
      host: '127.0.0.1',
      port: opts.adminPort ?? 0,
      adminCertnames: opts.admin.certnames,
      adminRoles: [],
      signingKeyFile: path.join(dir, 'admin-token.key'),
    },
  };
  const logs = new LogCapture();
  const broker = await startBroker(config, createLogger('info', logs.stream as unknown as pino.DestinationStream));
  return {
    broker,
    pki,
    logs,
    config,
    client: (cert?: TestCert) => new Client(broker.url, pki.caBundlePem, cert),
    adminClient: (cert?: TestCert) => new Client(broker.adminUrl!, pki.caBundlePem, cert),
    close: () => broker.close(),
  };
}

/** Services over a store, with a fresh keyring: what the store-level tests need. */
export async function testServices(store: Store, graceSeconds = 86_400) {
  const dir = tempDir('keys');
  const keyring = createKeyringFile(path.join(dir, 'keyring.json'));
  const log = createLogger('silent');
  const audit = (await openAudit(store, auditFilesIn(dir), log)).log;
  return createServices({ store, vault: new SecretVault(keyring, keyring.newestId), secrets: { graceSeconds }, log, audit });
}

/**
 * A test broker on a fresh store of `kind`: a PostgreSQL database of its own (`db`, drop it
 * after) or an embedded folder (`dataDir`). Suites skip the PostgreSQL case themselves.
 */
export async function startTestBrokerOn(
  kind: 'embedded' | 'postgres',
  label: string,
  opts: Omit<Parameters<typeof startTestBroker>[0], 'store'> = {},
): Promise<{ t: TestBroker; db?: { url: string; drop(): Promise<void> }; dataDir?: string }> {
  if (kind === 'postgres') {
    const db = await createTestDatabase(label);
    return { t: await startTestBroker({ ...opts, store: { kind: 'postgres', url: db.url } }), db };
  }
  const dataDir = tempDir(`${label}-data`);
  return { t: await startTestBroker({ ...opts, store: { kind: 'embedded', dataDir } }), dataDir };
}
