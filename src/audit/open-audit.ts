import type { ServeConfig } from '../config/serve-config';
import type { Store } from '../db/store';
import type { Logger } from '../log/logger';
import { AuditDevice } from './audit-device';
import { AuditHeadsFile } from './audit-heads-file';
import { AuditLog } from './audit-log';
import { AuditService } from './audit-service';
import { AuditSigner, readPublicKey } from './audit-signer';

export interface OpenAudit {
  log: AuditLog;
  service: AuditService;
  /** This broker's key first, then those given with --audit-trust-key. */
  trustedKeys: Buffer[];
  /** Stops signing and the device, signing the head a last time. */
  close(): Promise<void>;
}

/** The audit trail of one broker: its signing key, heads file, optional device, and the periodic signing. */
export async function openAudit(store: Store, config: ServeConfig['audit'], log: Logger): Promise<OpenAudit> {
  const { signer, created } = await AuditSigner.open(config.keyFile);
  if (created) log.warn({ file: config.keyFile }, 'audit signing key created (mode 0600); keep it outside the database host backups');
  const trustedKeys = [signer.publicKey, ...config.trustKeyFiles.map(readPublicKey)];
  const heads = new AuditHeadsFile(config.headsFile);
  const audit = new AuditLog(store, signer, log, heads, () => trustedKeys);
  const device = config.deviceFile ? new AuditDevice(config.deviceFile, store, log) : undefined;
  await device?.start();
  const service = new AuditService(store, audit, { trustedKeys: () => trustedKeys, publicKey: signer.publicKey, heads, device });
  const timer = setInterval(
    () => audit.signHead().catch((err: Error) => log.error({ err: err.message }, 'signing the audit chain head failed')),
    config.signEveryMs,
  );
  timer.unref();
  return {
    log: audit,
    service,
    trustedKeys,
    async close() {
      clearInterval(timer);
      await audit.close().catch((err: Error) => log.error({ err: err.message }, 'could not sign the audit chain head at shutdown'));
      await device?.stop();
    },
  };
}

/** The audit files of a broker kept in one folder (tests, benchmarks, a quick start). */
export function auditFilesIn(dir: string): ServeConfig['audit'] {
  return { keyFile: `${dir}/audit-signing.key`, headsFile: `${dir}/audit-heads.jsonl`, trustKeyFiles: [], signEveryMs: 60_000 };
}
