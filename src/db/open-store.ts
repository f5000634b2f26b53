import type { StoreConfig } from '../config/serve-config';
import { ConfigError } from '../errors/config-error';
import { StoreUnavailableError } from '../errors/store-errors';
import type { Logger } from '../log/logger';
import { EmbeddedStore } from './embedded-store';
import { migrate } from './migrate';
import { PgStore } from './pg-store';
import type { Store } from './store';

/** After this long without an answer, the operator is told what the broker waits for. */
const SAY_WHY_AFTER_MS = 1000;

/** Opens the configured store and brings its schema up to date. */
export async function openStore(config: StoreConfig, log?: Logger): Promise<Store> {
  const store = config.kind === 'postgres' ? new PgStore(config.url) : await EmbeddedStore.open(config.dataDir, { say: sayTo(log) });
  const slow =
    config.kind === 'postgres' && log
      ? setTimeout(
          () => log.info({ database: databaseWhere(config.url) }, 'waiting for PostgreSQL to answer (gives up after 5 s)'),
          SAY_WHY_AFTER_MS,
        )
      : undefined;
  try {
    await migrate(store);
  } catch (err) {
    await store.close().catch(() => undefined);
    throw operatorError(config, err);
  } finally {
    clearTimeout(slow);
  }
  return store;
}

/**
 * Opens the configured store and proves it answers, leaving its schema as it is (backup reads
 * whatever version it finds; restore needs an empty database). Failures read as at start.
 */
export async function openStoreAsIs(config: StoreConfig, log?: Logger): Promise<Store> {
  const store =
    config.kind === 'postgres'
      ? new PgStore(config.url, { max: 2, applicationName: 'exportfact-cli' })
      : await EmbeddedStore.open(config.dataDir, { say: sayTo(log) });
  try {
    await store.query('SELECT 1');
  } catch (err) {
    await store.close().catch(() => undefined);
    throw operatorError(config, err);
  }
  return store;
}

/** The embedded lock's news, as warnings: a start that waits on another process is worth seeing. */
const sayTo =
  (log?: Logger) =>
  (message: string, fields: Record<string, unknown>): void => {
    if (log) log.warn(fields, message);
    else process.stderr.write(`exportfact: ${message} (${fields.dataDir})\n`);
  };

/** At start the operator needs the driver's own words (ECONNREFUSED host:port), not the 503 text meant for nodes. */
function operatorError(config: StoreConfig, err: unknown): unknown {
  const cause = err instanceof StoreUnavailableError ? err.cause : err;
  return config.kind === 'postgres' ? (startupError(config.url, cause) ?? cause) : cause;
}

/** host:port/database of a URL, without user or password, for messages. */
export function databaseWhere(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || u.searchParams.get('host') || 'localhost'}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'the database';
  }
}

/** Why the broker cannot use the database at start, as one line naming --database-url and the fix; null for other failures. */
function startupError(url: string, err: unknown): ConfigError | null {
  const e = err as { code?: string; message?: string };
  const at = `--database-url (${databaseWhere(url)})`;
  const user = (() => {
    try {
      return decodeURIComponent(new URL(url).username) || 'the default user';
    } catch {
      return 'the user';
    }
  })();
  switch (e?.code) {
    case '28000':
    case '28P01':
      return new ConfigError(`${at}: PostgreSQL refused ${user}: ${e.message}; create the role, or fix pg_hba.conf or ~/.pgpass`);
    case '3D000':
      return new ConfigError(`${at}: ${e.message}; create it (createdb) or name another`);
    case '42501':
      return new ConfigError(`${at}: ${e.message}; the broker's role needs to own its database (or CREATE on it) to run migrations`);
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
      return new ConfigError(`${at}: cannot reach PostgreSQL: ${e.message}; is it running and listening there?`);
  }
  if (/timeout exceeded when trying to connect/i.test(e?.message ?? '')) {
    return new ConfigError(`${at}: no answer from PostgreSQL within 5 s; is the host reachable and the port right?`);
  }
  if (/Connection terminated/i.test(e?.message ?? '')) {
    return new ConfigError(
      `${at}: the connection to PostgreSQL was cut before it answered (${e.message}); is the host reachable and the port right?`,
    );
  }
  return null;
}
