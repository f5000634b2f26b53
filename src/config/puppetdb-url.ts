import { ConfigError } from '../errors/config-error';

/** A PuppetDB URL must be https:// (its plain port answers without authentication). */
export function parsePuppetdbUrl(value: string, option = '--puppetdb-url'): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${option} ${JSON.stringify(value)} is not a URL (expected https://puppetdb.example.com:8081)`);
  }
  if (url.protocol !== 'https:') {
    throw new ConfigError(
      `${option} must be an https:// URL (PuppetDB's TLS port, 8081 by default), not ${url.protocol}// : its plain port answers anyone without a certificate`,
    );
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError(`${option} ${JSON.stringify(value)} must be just scheme, host, port and an optional path`);
  }
  return url;
}
