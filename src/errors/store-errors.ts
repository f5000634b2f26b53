import { AppError } from './app-error';

/**
 * What a client is asked to wait before retrying. The pool replaces a cut connection at once;
 * a server that restarts or fails over takes a few seconds.
 */
export const STORE_RETRY_AFTER_SECONDS = 5;

/**
 * The store cannot be reached: refused, cut, shutting down, out of connections. Not a bug and
 * not the client's fault: `503 store_unavailable` with Retry-After, and nothing was written
 * (a transaction cut before its COMMIT was answered is rolled back, or if the COMMIT itself
 * was cut, it was never acknowledged). The cause is kept for the log, never shown.
 */
export class StoreUnavailableError extends AppError {
  constructor(cause: unknown, message = 'the fact store cannot be reached; try again later') {
    super(503, 'store_unavailable', message, { 'Retry-After': String(STORE_RETRY_AFTER_SECONDS) });
    this.cause = cause;
  }
}

/** Socket-level failures reported by Node for the connection to the server. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

/**
 * SQLSTATEs that say "the server or the session went away", not "the statement was wrong":
 * class 08 (connection exception), 57P01 admin shutdown (pg_terminate_backend, a fast
 * shutdown), 57P02 crash shutdown, 57P03 cannot connect now (starting, recovering), 57P05 idle
 * session timeout, 25P03 idle-in-transaction timeout, 53300 too many connections.
 */
const SESSION_LOST_STATES = new Set(['57P01', '57P02', '57P03', '57P05', '25P03', '53300']);

/** What `pg` (and PGlite) say, without a code, when the connection is gone or the pool or database is closed or exhausted. */
const PG_CLIENT_MESSAGES =
  /Connection terminated|not queryable|timeout exceeded when trying to connect|Query read timeout|Cannot use a pool after calling end|Client was closed|PGlite is closed/i;

/** The one place that decides whether a database error means "unavailable". */
export function isConnectionFailure(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  const e = err as { code?: unknown; message?: unknown } | null | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (NETWORK_CODES.has(code) || SESSION_LOST_STATES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
  return typeof e?.message === 'string' && PG_CLIENT_MESSAGES.test(e.message);
}

/** A connection failure becomes StoreUnavailableError; any other error (a constraint, a bug) is left as it is. */
export function classifyStoreError(err: unknown): unknown {
  return err instanceof StoreUnavailableError || !isConnectionFailure(err) ? err : new StoreUnavailableError(err);
}
