import os from 'node:os';
import { startAdminListener } from './app/admin-app';
import { createAgentApp } from './app/agent-app';
import { Closer } from './app/closer';
import { checkListenAddresses, listenError } from './app/listen-addresses';
import { startMaintenance } from './app/maintenance';
import { auditAdminRoutes } from './audit/audit-admin-routes';
import type { AuditLog } from './audit/audit-log';
import type { AuditService } from './audit/audit-service';
import { nodeActor } from './audit/auditor';
import { openAudit } from './audit/open-audit';
import { backupAdminRoutes } from './backup/backup-admin-routes';
import type { ServeConfig } from './config/serve-config';
import { openStore } from './db/open-store';
import type { Store } from './db/store';
import { graphAdminRoutes } from './graph/graph-admin-routes';
import { BrokerHealth } from './health/broker-health';
import { healthAdminRoutes } from './health/health-routes';
import { BrokerMetrics } from './health/metrics';
import type { Logger } from './log/logger';
import { nodeAdminRoutes } from './nodes/node-admin-routes';
import { type CompiledPolicy, PolicyHolder } from './policy';
import { openPuppetdb } from './puppetdb/open-puppetdb';
import type { KeyRotation } from './secrets/key-rotation';
import { secretAdminRoutes } from './secrets/secret-admin-routes';
import { openSecretKeys, type SecretKeys } from './secrets/secret-keys';
import type { SecretVault } from './secrets/secret-vault';
import { createServices, type Services } from './services';
import { createMtlsServer } from './tls/mtls-server';
import { openRevocation } from './tls/open-revocation';
import { PeerAuthenticator } from './tls/peer-authenticator';
import type { RevocationList } from './tls/revocation';
import { serverCertificateCheck } from './tls/server-check';
import { loadTlsMaterial, type TlsMaterial } from './tls/tls-material';

export interface Broker {
  url: string;
  port: number;
  store: Store;
  services: Services;
  revocation: RevocationList;
  keyRotation: KeyRotation;
  audit: AuditLog;
  health: BrokerHealth;
  auditService: AuditService;
  trustedAuditKeys: Buffer[];
  policy: PolicyHolder;
  vault: SecretVault;
  /** The admin listener, when configured. */
  adminUrl?: string;
  /** Re-reads the keyring file (SIGHUP, or the file changed); a bad file keeps the keys in force. */
  reloadKeyring(): Promise<void>;
  /** SIGHUP: re-reads the keyring, the policy and the admin token key; whatever is bad keeps the old in force. */
  reload(): Promise<void>;
  close(): Promise<void>;
}

/**
 * One broker, composed of parts that each stop themselves: TLS material and revocation, the
 * store, the audit trail, the policy, the keys, the services, background maintenance, the
 * agent listener and the admin listener. Used by `exportfact serve` and by the tests.
 */
export async function startBroker(config: ServeConfig, log: Logger): Promise<Broker> {
  const parts = new Closer();
  try {
    const tls = loadTlsMaterial(config.tls);
    await checkListenAddresses([
      { option: '--listen', host: config.host, port: config.port },
      ...(config.admin ? [{ option: '--admin-listen', host: config.admin.host, port: config.admin.port }] : []),
    ]);
    const revocation = parts.add(await openRevocation(tls, config, log));
    const store = parts.add(await openStore(config.store, log));
    const audit = parts.add(await openAudit(store, config.audit, log));
    const policy = parts.add(openPolicy(config, audit.log, log));
    const keys = parts.add(await openSecretKeys(store, config, audit.log, log));
    const services = await startServices(parts, config, { store, keys, audit: audit.log, policy, revocation }, log);
    const puppetdb = parts.add(openPuppetdbFor(config, { store, tls, revocation, services, audit: audit.log }, log));
    const metrics = new BrokerMetrics();
    const authenticator = new PeerAuthenticator(revocation, config.defaultEnvironment, tls.trust, (certname) => {
      metrics.revokedRefusals.inc();
      audit.log.refused(nodeActor(certname), 'certificate_revoked');
    });
    const health = new BrokerHealth(store, revocation, policy, audit.log, puppetdb.liveness);
    const agent = parts.add(startAgentListener(config, { tls, revocation, authenticator, health, services, metrics, log }));
    // Closed before the listener (parts close in reverse): held watch requests get their answer now.
    parts.add({ close: () => services.viewVersions.waiters.release() });
    const { url, port } = await agent.listen(config.host, config.port).catch((err: unknown) => {
      throw listenError('--listen', config.host, config.port, err);
    });
    const admin = config.admin
      ? parts.add(
          await startAdminListener({
            listenOption: '--admin-listen',
            ...config.admin,
            keyWatchMs: config.keyWatchMs,
            requestTimeoutMs: config.requestTimeoutMs,
            tls,
            revocation,
            authenticator,
            routers: [...adminRouters(config, { store, services, keys, audit: audit.service, health, log }), puppetdb.routes],
            log,
          }),
        )
      : undefined;
    log.info(
      {
        listen: url.replace('https://', ''),
        admin: admin?.url ?? null,
        store: store.kind,
        keyring: config.keyring.json ? 'environment' : config.keyring.file,
      },
      'exportfact broker listening',
    );
    return {
      url,
      port,
      store,
      services,
      revocation,
      keyRotation: keys.rotation,
      audit: audit.log,
      health,
      auditService: audit.service,
      trustedAuditKeys: audit.trustedKeys,
      policy,
      vault: keys.vault,
      adminUrl: admin?.url,
      reloadKeyring: keys.reload,
      async reload() {
        await keys.reload();
        policy.reload();
        await admin?.reload();
      },
      close: () => parts.close(),
    };
  } catch (err) {
    await parts.close().catch(() => undefined);
    throw err;
  }
}

/** PuppetDB (node liveness, the old module's import) when `--puppetdb-url` is given; its certificate is checked against the CRLs. */
function openPuppetdbFor(
  config: ServeConfig,
  p: { store: Store; tls: TlsMaterial; revocation: RevocationList; services: Services; audit: AuditLog },
  log: Logger,
) {
  return openPuppetdb(config.puppetdb, {
    store: p.store,
    tls: { ...p.tls, checkServer: serverCertificateCheck(p.tls.trust, p.revocation) },
    lifecycle: p.services.lifecycle,
    sensitive: p.services.secrets,
    audit: p.audit,
    onViewCommitted: (environment, version) => p.services.viewVersions.committed(environment, version),
    defaultEnvironment: config.defaultEnvironment,
    log,
  });
}

/**
 * The services and what keeps them current: revoked nodes deactivated at each CRL load, held
 * watch requests re-read on a policy change, and the maintenance timers (key rotation steps,
 * expired secret versions, node expiry and purge). Each registers its own close in `parts`.
 */
async function startServices(
  parts: Closer,
  config: ServeConfig,
  p: { store: Store; keys: SecretKeys; audit: AuditLog; policy: PolicyHolder; revocation: RevocationList },
  log: Logger,
): Promise<Services> {
  const services = createServices({
    store: p.store,
    vault: p.keys.vault,
    audit: p.audit,
    policy: p.policy,
    log,
    secrets: { graceSeconds: config.secretGraceSeconds },
    nodes: config.nodes,
  });
  await services.start();
  parts.add(services);
  parts.add(deactivateRevokedNodes(p.revocation, services, log));
  p.policy.on('updated', () => services.viewVersions.waiters.wakeAll()); // a new policy changes every view's ETag
  parts.add(
    startMaintenance(
      config.maintenanceMs,
      [
        { name: 'key rotation step', run: () => p.keys.rotation.tick() },
        { name: 'destroying expired secret versions', run: () => services.secrets.sweepExpired() },
        { name: 'expiring and purging nodes', run: () => services.lifecycle.sweep(), everyMs: NODE_SWEEP_MS },
      ],
      log,
    ),
  );
  return services;
}

interface AgentParts {
  tls: TlsMaterial;
  revocation: RevocationList;
  authenticator: PeerAuthenticator;
  health: BrokerHealth;
  services: Services;
  metrics: BrokerMetrics;
  log: Logger;
}

/** The agent port: Puppet client certificates only (refused in the handshake otherwise). */
function startAgentListener(config: ServeConfig, p: AgentParts) {
  return createMtlsServer({
    tls: p.tls,
    app: createAgentApp({
      health: p.health,
      services: p.services,
      authenticator: p.authenticator,
      metrics: p.metrics,
      log: p.log,
      bodyLimitBytes: config.bodyLimitBytes,
    }),
    requireClientCert: true,
    revocation: p.revocation,
    authenticator: p.authenticator,
    log: p.log,
    listener: 'agent',
    requestTimeoutMs: config.requestTimeoutMs,
    onConnection: () => p.metrics.handshakes.inc(),
  });
}

/** How often nodes not seen for the node TTL are expired (and inactive ones past the purge TTL purged). */
const NODE_SWEEP_MS = 60_000;

/** A node whose certificate a newly loaded CRL lists is deactivated at once (now, and at every reload). */
function deactivateRevokedNodes(revocation: RevocationList, services: Services, log: Logger) {
  const apply = () =>
    services.lifecycle
      .revoked(revocation.revokedCertificates())
      .then((nodes) => nodes.length && log.info({ nodes }, 'nodes deactivated: their certificates are revoked'))
      .catch((err: Error) => log.error({ err: err.message }, 'deactivating revoked nodes failed; will retry at the next CRL load'));
  revocation.on('updated', apply);
  void apply();
  return { close: () => revocation.off('updated', apply) };
}

/** What the admin port serves besides whoami: secrets and keys, audit, health details, nodes, backups. */
function adminRouters(
  config: ServeConfig,
  p: { store: Store; services: Services; keys: SecretKeys; audit: AuditService; health: BrokerHealth; log: Logger },
) {
  return [
    secretAdminRoutes({
      secrets: p.services.secrets,
      keyRotation: p.keys.rotation,
      addKey: p.keys.addKey,
      defaultEnvironment: config.defaultEnvironment,
      log: p.log,
    }),
    auditAdminRoutes({ audit: p.audit, defaultEnvironment: config.defaultEnvironment }),
    healthAdminRoutes(p.health),
    nodeAdminRoutes(p.services.lifecycle),
    graphAdminRoutes({ graph: p.services.graph, defaultEnvironment: config.defaultEnvironment }),
    backupAdminRoutes({ store: p.store, audit: p.audit.log, log: p.log }),
  ];
}

/**
 * The access policy in force: the file's (a broken file stops the start, naming its line; a
 * broken reload keeps the old one) or the defaults. Every change reaches the audit trail.
 */
function openPolicy(config: ServeConfig, audit: AuditLog, log: Logger): PolicyHolder {
  const policy = new PolicyHolder(log);
  if (!config.policy) return policy;
  policy.load(config.policy.file);
  policy.watch(config.policy.watchMs);
  policy.on('updated', (next: CompiledPolicy, previous: CompiledPolicy) => {
    audit
      .appendNow({
        actor: { kind: 'broker', name: os.hostname() },
        action: 'policy.change',
        detail: { file: policy.file, version: next.version, previous: previous.version, rules: next.rules.length },
      })
      .catch((err: Error) => log.error({ err: err.message }, 'could not record a policy change'));
  });
  return policy;
}
