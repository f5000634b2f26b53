import { ConfigError } from '../errors/config-error';
import type { Logger } from '../log/logger';
import { RevocationList } from './revocation';
import type { TlsMaterial } from './tls-material';

export interface RevocationConfig {
  tls: { crl?: string };
  crlUrl?: string;
  crlWatchMs: number;
  crlPollMs: number;
}

/**
 * The revocation lists of a broker: the --crl file (a bad one stops the start: there is no
 * older set to fall back on), watched for changes, and --crl-url polled. Without either,
 * revocation is off, and the broker says so.
 */
export async function openRevocation(tls: TlsMaterial, config: RevocationConfig, log: Logger): Promise<RevocationList> {
  const revocation = new RevocationList(tls.trust, log, config.tls.crl !== undefined || config.crlUrl !== undefined);
  for (const ca of tls.trust.unusable()) log.warn({ ca: ca.subject, reason: ca.reason }, 'a CA of the bundle can vouch for no client');
  if (!revocation.required) log.warn('no --crl or --crl-url given: revocation is not checked (fine for a test setup only)');
  if (tls.crlPem !== undefined && config.tls.crl) {
    await revocation.load(tls.crlPem, config.tls.crl).catch((err: Error) => {
      throw new ConfigError(`--crl ${config.tls.crl}: ${err.message}`);
    });
    revocation.watchFile(config.tls.crl, config.crlWatchMs);
  }
  if (config.crlUrl) revocation.pollUrl(config.crlUrl, config.crlPollMs, { ca: tls.caPem, cert: tls.certPem, key: tls.keyPem });
  return revocation;
}
