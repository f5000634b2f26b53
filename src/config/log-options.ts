import { ConfigError } from '../errors/config-error';

export interface LogOptions {
  /** pretty: one readable line per event (for a person at a terminal); json: one JSON object per line. */
  format: 'pretty' | 'json';
  level: 'error' | 'warn' | 'info' | 'debug';
}

const LEVELS = ['error', 'warn', 'info', 'debug'] as const;

/** --log-format defaults to pretty on a terminal and JSON otherwise (a service manager, a pipe). */
export function parseLogOptions(o: { logFormat?: string; logLevel?: string }, terminal = process.stdout.isTTY === true): LogOptions {
  const format = o.logFormat ?? (terminal ? 'pretty' : 'json');
  if (format !== 'pretty' && format !== 'json') throw new ConfigError(`--log-format ${JSON.stringify(format)} is not pretty or json`);
  const level = o.logLevel ?? 'info';
  if (!(LEVELS as readonly string[]).includes(level))
    throw new ConfigError(`--log-level ${JSON.stringify(level)} is not one of ${LEVELS.join(', ')}`);
  return { format, level: level as LogOptions['level'] };
}
