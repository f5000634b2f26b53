import { type Command, Option } from 'commander';
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

/** Options as commander hands them over to `serve` (env variables already merged in). */
export interface AdminServeOptions {
  adminListen: string;
  adminCertname?: string[];
  adminRole?: string[];
  adminSigningKey: string;
}

const list = (value: string, previous: string[] | undefined) => [
  ...(previous ?? []),
  ...value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
];

/** The admin listener's options, for `exportfact serve`. */
export function addAdminServeOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--admin-listen <host:port>', 'admin API address (keep it on loopback)')
        .env('EXPORTFACT_ADMIN_LISTEN')
        .default(DEFAULT_ADMIN_LISTEN),
    )
    .addOption(
      new Option('--admin-certname <names>', 'certnames of admin certificates (comma-separated, repeatable)')
        .env('EXPORTFACT_ADMIN_CERTNAMES')
        .argParser(list),
    )
    .addOption(
      new Option(
        '--admin-role <roles>',
        'pp_auth_role values of admin certificates (comma-separated, repeatable; none by default). Only if your CA never signs pp_auth_role unchecked (puppetserver: allow-authorization-extensions false, no autosign of it)',
      )
        .env('EXPORTFACT_ADMIN_ROLES')
        .argParser(list),
    )
    .addOption(
      new Option(
        '--admin-signing-key <file>',
        'Ed25519 key admin tokens are verified with; `exportfact admin token` signs with the same file',
      )
        .env('EXPORTFACT_ADMIN_SIGNING_KEY')
        .default(DEFAULT_SIGNING_KEY_FILE),
    );
}

export function parseAdminServeOptions(o: AdminServeOptions): AdminConfig {
  let address: { host: string; port: number };
  try {
    address = parseListen(o.adminListen);
  } catch {
    throw new ConfigError(`--admin-listen ${JSON.stringify(o.adminListen)} is not HOST:PORT (for example ${DEFAULT_ADMIN_LISTEN})`);
  }
  return {
    ...address,
    adminCertnames: o.adminCertname ?? [],
    adminRoles: o.adminRole ?? [],
    signingKeyFile: o.adminSigningKey,
  };
}
