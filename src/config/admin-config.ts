import { ConfigError } from '../errors/config-error';
import { parseListen } from './values';

export const DEFAULT_ADMIN_LISTEN = '127.0.0.1:8151';
/** Shared by `serve` (verifies) and `admin token` (signs): run both from one folder, or set EXPORTFACT_ADMIN_SIGNING_KEY. */
export const DEFAULT_SIGNING_KEY_FILE = 'admin-token.key';

export interface AdminConfig {
  host: string;
  port: number;
  adminCertnames: string[];
  adminRoles: string[];
  /** Ed25519 key file tokens are verified with (created 0600 at start if absent). */
  signingKeyFile: string;
}

/** Options as `serve` has them after merging flags, environment and config file. */
export interface AdminServeOptions {
  adminListen?: string;
  adminCertname?: string[];
  adminRole?: string[];
  adminSigningKey?: string;
}

export function parseAdminServeOptions(o: AdminServeOptions): AdminConfig {
  let address: { host: string; port: number };
  try {
    address = parseListen(o.adminListen ?? DEFAULT_ADMIN_LISTEN);
  } catch {
    throw new ConfigError(`--admin-listen ${JSON.stringify(o.adminListen)} is not HOST:PORT (for example ${DEFAULT_ADMIN_LISTEN})`);
  }
  return {
    ...address,
    adminCertnames: o.adminCertname ?? [],
    adminRoles: o.adminRole ?? [],
    signingKeyFile: o.adminSigningKey ?? DEFAULT_SIGNING_KEY_FILE,
  };
}
