import { ConfigError } from '../errors/config-error';
import { environmentProblem } from '../schemas/environment';

// The option value parsers every command shares: each mistake is one line naming the option.

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535)
    throw new ConfigError(`--listen ${JSON.stringify(value)} is not HOST:PORT (for example 127.0.0.1:8150 or [::1]:8150)`);
  return { host: m[1] ?? m[2], port };
}

export function parseDatabaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('--database-url is not a URL (expected postgres://user@host:port/database)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`--database-url must start with postgres:// or postgresql://, not ${url.protocol}//`);
  }
  if (!url.hostname && !url.searchParams.get('host')) throw new ConfigError('--database-url names no host');
  return value;
}

export function positiveInt(option: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`${option} ${JSON.stringify(value)} is not a positive whole number`);
  return n;
}

export function seconds(option: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${option} ${JSON.stringify(value)} is not a positive number of seconds`);
  return Math.round(n * 1000);
}

/** An environment name given as an option. */
export function environmentOption(option: string, value: string): string {
  const problem = environmentProblem(option, value);
  if (problem) throw new ConfigError(problem);
  return value;
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90s`, `30m`, `12h`, `7d` or plain seconds; `0` turns the feature off. */
export function durationSeconds(option: string, value: string | undefined, fallbackSeconds: number): number {
  if (value === undefined) return fallbackSeconds;
  const m = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
  if (!m) throw new ConfigError(`${option} ${JSON.stringify(value)} is not a duration (for example 90s, 30m, 12h, 7d; 0 turns it off)`);
  return Number(m[1]) * DURATION_UNITS[m[2] || 's'];
}
