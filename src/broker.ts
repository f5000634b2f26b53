import fs from 'node:fs';
import os from 'node:os';
import { startAdminServer } from './admin/admin-server';
import { auditAdminRoutes } from './audit/audit-admin-routes';
import type { AuditLog } from './audit/audit-log';
import type { AuditService } from './audit/audit-service';
import { openAudit } from './audit/open-audit';
import { TokenVerifyKey } from './admin/token';
import { ConfigError } from './errors/config-error';
import { AppError } from './errors/app-error';
import type { ServeConfig } from './config/serve-config';
import { openStore } from './db/open-store';
import type { Store } from './db/store';
import { BrokerHealth } from './health/broker-health';
import { healthAdminRoutes } from './health/health-routes';
import { BrokerMetrics } from './health/metrics';
import { createAgentApp } from './http/app';
import type { Logger } from './log/logger';
import { KeyRotation } from './secrets/key-rotation';
import { Keyring } from './secrets/keyring';
import { checkFingerprintKey, openKeyring, recordKeyChecks } from './secrets/keyring-bootstrap';
import { secretAdminRoutes } from './secrets/secret-admin-routes';
import { SecretVault } from './secrets/secret-vault';
import { addKeyToFile } from './secrets/keyring';
import { createServices, type Services } from './services';
import { PeerAuthenticator } from './tls/peer-authenticator';
import { createMtlsServer } from './tls/mtls-server';
import { PolicyHolder, type CompiledPolicy } from './policy';
import { RevocationList } from './tls/revocation';
import { loadTlsMaterial } from './tls/tls-material';

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

/** Wires one broker: store, keys, services, TLS listener. Used by `exportfact serve` and by the tests. */
export async function startBroker(config: ServeConfig, log: Logger): Promise<Broker> {
  const tls = loadTlsMaterial(config.tls);
  const revocation = new RevocationList(tls.trust, log, config.tls.crl !== undefined || config.crlUrl !== undefined);
  for (const ca of tls.trust.unusable()) log.warn({ ca: ca.subject, reason: ca.reason }, 'a CA of the bundle can vouch for no client');
  if (!revocation.required) log.warn('no --crl or --crl-url given: revocation is not checked (fine for a test setup only)');
  if (tls.crlPem !== undefined) {
    // At start there is no older set to fall back on: a bad CRL file stops the start.
    await revocation.load(tls.crlPem, config.tls.crl!).catch((err: Error) => {
      throw new ConfigError(`--crl ${config.tls.crl}: ${err.message}`);
    });
  }

  const store = await openStore(config.store);
  const cleanups: (() => unknown)[] = [() => revocation.close(), () => store.close()];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn();
  };
  try {
    const { keyring, writeKeyId } = await openKeyring(store, config.keyring, log);
    const vault = new SecretVault(keyring, writeKeyId);
    const opened = await openAudit(store, config.audit, log);
    const { log: audit, service: auditService, trustedKeys: trustedAuditKeys } = opened;
    cleanups.push(() => opened.close());
    const policy = new PolicyHolder(log);
    if (config.policy) {
      policy.load(config.policy.file); // a broken file stops the start: one line with its line number
      policy.watch(config.policy.watchMs);
    }
    cleanups.push(() => policy.close());
    policy.on('updated', (next: CompiledPolicy, previous: CompiledPolicy) => {
      audit
        .appendNow({ actor: { kind: 'broker', name: os.hostname() }, action: 'policy.change', detail: { file: policy.file, version: next.version, previous: previous.version, rules: next.rules.length } })
        .catch((err: Error) => log.error({ err: err.message }, 'could not record a policy change'));
    });
    const services = createServices(store, vault, { graceSeconds: config.secretGraceSeconds }, log, audit, policy);
    await services.viewVersions.start();
    cleanups.push(() => services.viewVersions.stop(), () => services.nodes.close());
    const keyRotation = new KeyRotation(store, vault, log, audit, config.reencryptBatch);
    await keyRotation.register();
    cleanups.push(() => keyRotation.unregister().catch(() => undefined));

    /** What SIGHUP re-reads, besides the CRL (watched and polled on its own). */
    const reloaders: (() => unknown)[] = [() => policy.reload()];
    const reloadKeyring = async () => {
      if (config.keyring.json) return; // from the environment: nothing to re-read
      try {
        const next = Keyring.load(config.keyring.file);
        if (!next.has(vault.currentWriteKeyId)) throw new Error(`it lacks key ${vault.currentWriteKeyId}, the key the store writes with`);
        await checkFingerprintKey(store, next);
        await recordKeyChecks(store, next);
        vault.replaceKeyring(next);
        log.info({ keyring: config.keyring.file, keys: next.ids }, 'keyring reloaded');
        await keyRotation.tick();
      } catch (err) {
        log.error({ keyring: config.keyring.file, err: (err as Error).message }, 'keyring refused; keeping the keys in force');
      }
    };
    if (!config.keyring.json) {
      fs.watchFile(config.keyring.file, { interval: config.keyWatchMs, persistent: false }, (curr, prev) => {
        if (curr.mtimeMs !== prev.mtimeMs || curr.ino !== prev.ino) void reloadKeyring();
      });
      cleanups.push(() => fs.unwatchFile(config.keyring.file));
    }

    // Heartbeat, key rotation steps and the end of grace periods, on one timer.
    const maintenance = setInterval(() => {
      keyRotation.tick().catch((err: Error) => log.error({ err: err.message }, 'key rotation step failed; will retry'));
      services.secrets.sweepExpired().catch((err: Error) => log.error({ err: err.message }, 'destroying expired secret versions failed; will retry'));
    }, config.maintenanceMs);
    maintenance.unref();
    cleanups.push(() => clearInterval(maintenance));

    const metrics = new BrokerMetrics();
    const authenticator = new PeerAuthenticator(revocation, config.defaultEnvironment, tls.trust);
    const health = new BrokerHealth(store, revocation, policy, audit);
    const app = createAgentApp({ health, services, audit, authenticator, metrics, log, bodyLimitBytes: config.bodyLimitBytes });

    const server = createMtlsServer({
      tls,
      app,
      requireClientCert: true,
      revocation,
      authenticator,
      log,
      listener: 'agent',
      requestTimeoutMs: config.requestTimeoutMs,
      onConnection: () => metrics.handshakes.inc(),
    });
    if (config.tls.crl) revocation.watchFile(config.tls.crl, config.crlWatchMs);
    if (config.crlUrl) revocation.pollUrl(config.crlUrl, config.crlPollMs, { ca: tls.caPem, cert: tls.certPem, key: tls.keyPem });
    const { url, port } = await server.listen(config.host, config.port);
    cleanups.push(() => server.close());

    let adminUrl: string | undefined;
    if (config.admin) {
      const { key: tokenKey, created } = await TokenVerifyKey.open(config.admin.signingKeyFile, log);
      if (created) log.info({ file: config.admin.signingKeyFile }, 'admin token signing key created (mode 0600)');
      cleanups.push(tokenKey.watch(config.keyWatchMs));
      reloaders.push(() => tokenKey.reload());
      const addKey = async () => {
        if (config.keyring.json) throw new AppError(409, 'keyring_from_environment', 'the keyring comes from EXPORTFACT_KEYRING_JSON: add the key there, then rotate with --key-id');
        const id = addKeyToFile(config.keyring.file);
        await reloadKeyring();
        return id;
      };
      const admin = await startAdminServer({
        ...config.admin,
        requestTimeoutMs: config.requestTimeoutMs,
        tls,
        revocation,
        defaultEnvironment: config.defaultEnvironment,
        tokenKey: () => tokenKey.current,
        routers: [
          secretAdminRoutes({ secrets: services.secrets, keyRotation, addKey, defaultEnvironment: config.defaultEnvironment, log }),
          auditAdminRoutes({ audit: auditService, defaultEnvironment: config.defaultEnvironment }),
          healthAdminRoutes(health),
        ],
        log,
      });
      cleanups.push(() => admin.close());
      adminUrl = admin.url;
    }
    log.info({ listen: url.replace('https://', ''), admin: adminUrl ?? null, store: store.kind, keyring: config.keyring.json ? 'environment' : config.keyring.file }, 'exportfact broker listening');

    return { url, port, store, services, revocation, keyRotation, audit, health, auditService, trustedAuditKeys, policy, vault, adminUrl,
      reloadKeyring,
      reload: async () => {
        await reloadKeyring();
        for (const reload of reloaders) await reload();
      },
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
