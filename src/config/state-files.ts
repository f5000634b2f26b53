import path from 'node:path';
import { ConfigError } from '../errors/config-error';
import { DEFAULT_SIGNING_KEY_FILE } from './admin-config';
import { parseDatabaseUrl } from './values';

export type StoreConfig = { kind: 'embedded'; dataDir: string } | { kind: 'postgres'; url: string };

/**
 * Where a broker keeps what it needs to come back: the store, and the files outside it (the
 * keyring, the audit signing key, the heads file and device, the admin token key). `serve`
 * reads them from these options, and `backup` and `restore` from the same ones (or the same
 * configuration file), so the three never disagree about a default.
 */
export interface StateFileOptions {
  dataDir?: string;
  databaseUrl?: string;
  keyring?: string;
  auditKey?: string;
  auditHeads?: string;
  auditDevice?: string;
  adminSigningKey?: string;
}

export const DEFAULT_KEYRING_FILE = 'keyring.json';
export const DEFAULT_AUDIT_KEY_FILE = 'audit-signing.key';

export function storeConfig(o: Pick<StateFileOptions, 'dataDir' | 'databaseUrl'>): StoreConfig {
  if (o.dataDir && o.databaseUrl) throw new ConfigError('give either --data-dir (embedded store) or --database-url (PostgreSQL), not both');
  return o.databaseUrl ? { kind: 'postgres', url: parseDatabaseUrl(o.databaseUrl) } : { kind: 'embedded', dataDir: o.dataDir ?? 'data' };
}

export interface StateFiles {
  keyring: string;
  auditKey: string;
  /** Signed heads outside the database: beside the audit key unless given. */
  auditHeads: string;
  auditDevice?: string;
  adminSigningKey: string;
}

export function stateFiles(o: StateFileOptions): StateFiles {
  const auditKey = o.auditKey ?? DEFAULT_AUDIT_KEY_FILE;
  return {
    keyring: o.keyring ?? DEFAULT_KEYRING_FILE,
    auditKey,
    auditHeads: o.auditHeads ?? path.join(path.dirname(auditKey), 'audit-heads.jsonl'),
    auditDevice: o.auditDevice,
    adminSigningKey: o.adminSigningKey ?? DEFAULT_SIGNING_KEY_FILE,
  };
}
