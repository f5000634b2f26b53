import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { ADMIN_SCOPES, parseScopes } from '../admin/scopes';
import { ensureTokenSigningKey, issueAdminToken, MAX_TOKEN_TTL_SECONDS } from '../admin/token';
import { DEFAULT_SIGNING_KEY_FILE } from '../config/admin-config';
import { ConfigError } from '../errors/config-error';
import { type AdminClientOptions, addAdminClientOptions, adminClientFromOptions, printResult } from './admin-client';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** `90s`, `15m`, `2h` (a bare number is seconds) → seconds; refuses 0 and more than 24h. */
export function parseTtl(value: string): number {
  const m = /^(\d{1,6})([smh]?)$/.exec(value.trim());
  if (!m) throw new ConfigError(`--ttl ${JSON.stringify(value)} is not a duration (for example 90s, 15m, 2h)`);
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2] || 's'];
  if (seconds <= 0) throw new ConfigError('--ttl must be longer than 0');
  if (seconds > MAX_TOKEN_TTL_SECONDS) throw new ConfigError(`--ttl ${value} is longer than the 24h maximum for admin tokens`);
  return seconds;
}

interface TokenOptions {
  createKey?: boolean;
  scope: string;
  ttl: string;
  subject: string;
  signingKey: string;
}

function tokenCommand(): Command {
  return new Command('token')
    .description('issue a short-lived admin token (printed to stdout) for the admin API')
    .requiredOption('--scope <scopes>', `comma-separated scopes: ${ADMIN_SCOPES.join(', ')}`)
    .requiredOption('--subject <name>', 'who the token acts as; recorded in the audit log')
    .addOption(new Option('--ttl <duration>', 'lifetime, e.g. 90s, 15m, 2h (at most 24h)').default('15m'))
    .option('--create-key', 'create the signing key (0600) if it does not exist; the broker must then be given the same file')
    .addOption(
      new Option('--signing-key <file>', "the broker's Ed25519 admin token signing key (its --admin-signing-key)")
        .env('EXPORTFACT_ADMIN_SIGNING_KEY')
        .default(DEFAULT_SIGNING_KEY_FILE),
    )
    .action(async (o: TokenOptions) => {
      const ttlSeconds = parseTtl(o.ttl);
      const { scopes, unknown } = parseScopes(o.scope);
      if (unknown.length)
        throw new ConfigError(`--scope: unknown scope ${JSON.stringify(unknown[0])}; known scopes: ${ADMIN_SCOPES.join(', ')}`);
      if (!scopes.length) throw new ConfigError(`--scope names no scope; known scopes: ${ADMIN_SCOPES.join(', ')}`);
      // A token signed with a key the broker does not have is refused: never make one up silently.
      if (!o.createKey && !fs.existsSync(o.signingKey)) {
        throw new ConfigError(
          `admin token signing key ${path.resolve(o.signingKey)} does not exist; give the broker's key (--signing-key or EXPORTFACT_ADMIN_SIGNING_KEY), or --create-key to create one the broker must then use`,
        );
      }
      const key = await ensureTokenSigningKey(o.signingKey);
      process.stderr.write(
        key.created
          ? `exportfact: created admin token signing key ${path.resolve(o.signingKey)} (mode 0600); the broker must verify with the same file\n`
          : `exportfact: signed with ${path.resolve(o.signingKey)}\n`,
      );
      const token = await issueAdminToken(key.privateKeyPem, { subject: o.subject, scopes, ttlSeconds });
      const expires = new Date(Date.now() + ttlSeconds * 1000).toISOString();
      // The token alone on stdout, so `EXPORTFACT_ADMIN_TOKEN=$(exportfact admin token ...)` works.
      process.stderr.write(`exportfact: token for ${o.subject}, scopes ${scopes.join(' ')}, expires ${expires}\n`);
      process.stdout.write(`${token}\n`);
    });
}

function whoamiCommand(): Command {
  return addAdminClientOptions(new Command('whoami').description('show whom the admin API takes you for, and your scopes')).action(
    async (o: AdminClientOptions) => {
      const me = await adminClientFromOptions(o).request<{ subject: string; kind: string; scopes: string[]; expires_at?: string }>(
        'GET',
        '/admin/v1/whoami',
      );
      printResult(o, me, () => {
        process.stdout.write(`subject: ${me.subject}\nkind:    ${me.kind}\nscopes:  ${me.scopes.join(' ')}\n`);
        if (me.expires_at) process.stdout.write(`expires: ${me.expires_at}\n`);
      });
    },
  );
}

/** `exportfact admin …`: tokens, and commands that only check the admin access itself. */
export function adminCommand(): Command {
  return new Command('admin')
    .description('admin access: issue tokens, check credentials')
    .addCommand(tokenCommand())
    .addCommand(whoamiCommand());
}
