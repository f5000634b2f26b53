import { devCaPaths } from '../devca/dev-ca';
import { ConfigError } from '../errors/config-error';
import { filesFromSsldir, type TlsFiles } from '../tls/tls-material';
import { type AdminConfig, type AdminServeOptions, parseAdminServeOptions } from './admin-config';
import { type LogOptions, parseLogOptions } from './log-options';
import { parsePuppetdbUrl } from './puppetdb-url';
import { type StoreConfig, stateFiles, storeConfig } from './state-files';
import { durationSeconds, environmentOption, parseListen, positiveInt, seconds } from './values';

export type { StoreConfig };

export interface ServeConfig {
  host: string;
  port: number;
  tls: TlsFiles;
  crlUrl?: string;
  crlPollMs: number;
  crlWatchMs: number;
  store: StoreConfig;
  defaultEnvironment: string;
  bodyLimitBytes: number;
  /** Time a client has to send a whole request, body included. */
  requestTimeoutMs: number;
  keyring: { file: string; json?: string };
  secretGraceSeconds: number;
  reencryptBatch: number;
  /** How often key files (keyring, admin token key) are checked for changes. */
  keyWatchMs: number;
  /** Node liveness from PuppetDB (--puppetdb-url): its URL and how often it is read. */
  puppetdb?: { url: string; intervalMs: number };
  /** Node lifecycle: TTL to expiry and to purge, in seconds (0: off). */
  nodes: { ttlSeconds: number; purgeTtlSeconds: number };
  /** How often the broker heartbeats, advances key rotations and destroys expired versions. */
  maintenanceMs: number;
  audit: {
    keyFile: string;
    trustKeyFiles: string[];
    signEveryMs: number;
    /** Signed heads outside the database (append-only JSON lines). */
    headsFile: string;
    /** Optional audit device: every entry, as JSON lines. */
    deviceFile?: string;
  };
  /** Access policy file (docs/policy.md); absent: the built-in defaults. */
  policy?: { file: string; watchMs: number };
  /** Absent: no admin listener (in-process tests that do not need one). */
  admin?: AdminConfig;
  /** How the broker logs (serve only; tests pass their own logger). */
  log?: LogOptions;
}

export const DEFAULT_LISTEN = '127.0.0.1:8150';

/** Options as commander hands them over (strings; env variables and the config file merged in). */
export interface ServeOptions extends Partial<AdminServeOptions> {
  config?: string;
  logFormat?: string;
  logLevel?: string;
  ca?: string;
  crl?: string;
  crlUrl?: string;
  crlInterval?: string;
  crlWatchInterval?: string;
  cert?: string;
  key?: string;
  ssldir?: string;
  certname?: string;
  listen?: string;
  requestTimeout?: string;
  nodeTtl?: string;
  nodePurgeTtl?: string;
  puppetdbUrl?: string;
  puppetdbInterval?: string;
  dataDir?: string;
  databaseUrl?: string;
  defaultEnvironment?: string;
  devCa?: string | boolean;
  keyring?: string;
  secretGrace?: string;
  reencryptBatch?: string;
  auditKey?: string;
  auditHeads?: string;
  auditDevice?: string;
  policy?: string;
  policyWatchInterval?: string;
  auditTrustKey?: string[];
}

function auditConfig(o: ServeOptions): ServeConfig['audit'] {
  const files = stateFiles(o);
  return {
    keyFile: files.auditKey,
    trustKeyFiles: o.auditTrustKey ?? [],
    signEveryMs: 60_000,
    headsFile: files.auditHeads,
    deviceFile: files.auditDevice,
  };
}

function puppetdbConfig(o: ServeOptions): ServeConfig['puppetdb'] {
  if (!o.puppetdbUrl) {
    if (o.puppetdbInterval !== undefined) throw new ConfigError('--puppetdb-interval needs --puppetdb-url');
    return undefined;
  }
  parsePuppetdbUrl(o.puppetdbUrl);
  return { url: o.puppetdbUrl, intervalMs: seconds('--puppetdb-interval', o.puppetdbInterval, 60_000) };
}

/** The development CA's folder, when --dev-ca is given (`--dev-ca` alone: ./certs). */
export function devCaFolder(o: ServeOptions): string | undefined {
  return o.devCa ? (typeof o.devCa === 'string' ? o.devCa : 'certs') : undefined;
}

/** The TLS files a development CA in `dir` provides (made by `ensureDevCa` when absent). */
export function devCaFiles(dir: string): TlsFiles {
  const paths = devCaPaths(dir);
  return { ca: paths.caCert, crl: paths.crl, cert: paths.serverCert, key: paths.serverKey };
}

/** Turns the CLI's strings into a checked configuration; every mistake is one line naming the option. */
export function parseServeOptions(o: ServeOptions, devCaFiles?: TlsFiles): ServeConfig {
  const { host, port } = parseListen(o.listen ?? DEFAULT_LISTEN);
  const store = storeConfig(o);
  if ((o.ssldir && !o.certname) || (!o.ssldir && o.certname)) throw new ConfigError('--ssldir and --certname go together');

  const fromSsldir = o.ssldir && o.certname ? filesFromSsldir(o.ssldir, o.certname) : undefined;
  const base = fromSsldir ?? devCaFiles;
  const tls: Partial<TlsFiles> = { ca: o.ca ?? base?.ca, crl: o.crl ?? base?.crl, cert: o.cert ?? base?.cert, key: o.key ?? base?.key };
  for (const k of ['ca', 'cert', 'key'] as const) {
    if (!tls[k]) throw new ConfigError(`--${k} is required (or --ssldir with --certname, or --dev-ca)`);
  }
  if (o.crlUrl) {
    try {
      if (new URL(o.crlUrl).protocol !== 'https:') throw new Error();
    } catch {
      throw new ConfigError(`--crl-url ${JSON.stringify(o.crlUrl)} is not an https:// URL`);
    }
  }
  return {
    host,
    port,
    tls: tls as TlsFiles,
    crlUrl: o.crlUrl,
    crlPollMs: seconds('--crl-interval', o.crlInterval, 10_000),
    crlWatchMs: seconds('--crl-watch-interval', o.crlWatchInterval, 2_000),
    store,
    defaultEnvironment: environmentOption('--default-environment', o.defaultEnvironment ?? 'production'),
    bodyLimitBytes: 256 * 1024,
    requestTimeoutMs: seconds('--request-timeout', o.requestTimeout, 30_000),
    keyring: { file: stateFiles(o).keyring, json: process.env.EXPORTFACT_KEYRING_JSON || undefined },
    secretGraceSeconds: positiveInt('--secret-grace', o.secretGrace, 86_400),
    reencryptBatch: positiveInt('--reencrypt-batch', o.reencryptBatch, 200),
    maintenanceMs: 2_000,
    keyWatchMs: 1_000,
    nodes: {
      ttlSeconds: durationSeconds('--node-ttl', o.nodeTtl, 7 * 86_400),
      purgeTtlSeconds: durationSeconds('--node-purge-ttl', o.nodePurgeTtl, 14 * 86_400),
    },
    puppetdb: puppetdbConfig(o),
    policy: o.policy ? { file: o.policy, watchMs: seconds('--policy-watch-interval', o.policyWatchInterval, 2_000) } : undefined,
    audit: auditConfig(o),
    admin: parseAdminServeOptions(o),
    log: parseLogOptions(o),
  };
}
