import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import https from 'node:https';
import { AppError } from '../errors/app-error';
import type { Logger } from '../log/logger';
import { type CrlSet, CrlValidationError, isOlderCrl, parseCrlBundle } from './crl-set';
import type { TrustStore } from './trust-store';

/** One certificate of a client's path, and the bundle CA that issued it. */
export interface ChainLink {
  serial: string;
  /** Fingerprint of the issuing CA of the bundle: the key its CRL is filed under. */
  issuerFingerprint: string;
  /** The issuer's name, for messages. */
  issuer: string;
}

export interface CrlStatus {
  issuer: string;
  crl_number: string | null;
  this_update: string;
  next_update: string | null;
  revoked: number;
  stale: boolean;
}

/**
 * The revocation lists in force, checked by the broker itself on every request.
 *
 * Why not Node's `crl` TLS option: given one PEM holding several CRLs it loads only the
 * first, and with any CRL given OpenSSL then demands a current CRL for every CA in the
 * chain; one CRL past its nextUpdate would lock out the whole fleet at the handshake.
 * Checking here keeps the last good set in force (a stale CRL still revokes what it lists,
 * and health reports it stale), and applies a reload to kept-alive connections too.
 *
 * When revocation is configured (a CRL file or URL), it fails closed: a client whose path
 * holds a CA with no CRL in force is refused (401 crl_missing), because "not listed" means
 * nothing without a list; until the first CRL arrives from a URL, clients get 503. A new
 * set that would drop a CA's CRL, or replace it with an older one (a lower CRL number, as
 * a replayed file would), is refused: it could only un-revoke certificates.
 */
export class RevocationList extends EventEmitter {
  private current: CrlSet | null = null;
  private readonly intervals: NodeJS.Timeout[] = [];
  private readonly watchedFiles: string[] = [];
  private lastSource = '';
  private lastError: string | null = null;

  /**
   * @param required whether CRLs are configured: then every request needs a CRL in force for
   *   every CA on its path. Without, revocation is off (a development setup), and health says so.
   */
  constructor(
    private readonly trust: TrustStore,
    private readonly log: Logger,
    readonly required: boolean,
  ) {
    super();
  }

  get enabled(): boolean {
    return this.required;
  }

  /** Validates and swaps in a new set; a bad one is refused and the old set stays. */
  async load(pem: string | Buffer, source: string): Promise<void> {
    try {
      const next = await parseCrlBundle(pem, this.trust);
      if (this.current) this.refuseRegression(this.current, next);
      const before = this.current ? this.fingerprint(this.current) : '';
      this.current = next;
      this.lastError = null;
      if (this.fingerprint(next) !== before || source !== this.lastSource) {
        this.lastSource = source;
        this.log.info({ source, crls: next.crls.length, revoked: next.crls.reduce((n, c) => n + c.revokedSerials.size, 0) }, 'CRL loaded');
        this.emit('updated');
      }
    } catch (err) {
      this.lastError = `${source}: ${(err as Error).message}`;
      if (!this.current) throw err;
      this.log.error({ source, err: (err as Error).message }, 'CRL refused; keeping the CRLs already in force');
    }
  }

  /** Re-reads the file whenever it changes (polling: survives the rename that replaces it). */
  watchFile(file: string, intervalMs: number): void {
    fs.watchFile(file, { interval: intervalMs, persistent: false }, (curr, prev) => {
      if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
      fs.promises
        .readFile(file)
        .then((pem) => this.load(pem, file))
        .catch((err) =>
          this.log.error({ source: file, err: (err as Error).message }, 'CRL file unreadable; keeping the CRLs already in force'),
        );
    });
    this.watchedFiles.push(file);
  }

  /** Polls the Puppet CA's CRL endpoint: an agent's copy of crl.pem is never refreshed by Puppet. */
  pollUrl(url: string, intervalMs: number, tls: { ca: string; cert?: string; key?: string }): void {
    const fetchOnce = () =>
      new Promise<void>((resolve) => {
        const req = https.get(
          url,
          { ca: tls.ca, cert: tls.cert, key: tls.key, timeout: Math.min(intervalMs, 10_000), headers: { Accept: 'text/plain' } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              if (res.statusCode !== 200) {
                this.lastError = `${url}: HTTP ${res.statusCode}`;
                this.log.error({ source: url, status: res.statusCode }, 'CRL fetch failed; keeping the CRLs already in force');
                return resolve();
              }
              this.load(Buffer.concat(chunks), url).then(resolve, resolve);
            });
          },
        );
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', (err) => {
          this.lastError = `${url}: ${err.message}`;
          this.log.error({ source: url, err: err.message }, 'CRL fetch failed; keeping the CRLs already in force');
          resolve();
        });
      });
    const timer = setInterval(fetchOnce, intervalMs);
    timer.unref();
    this.intervals.push(timer);
    void fetchOnce();
  }

  /** True when any certificate of the chain (leaf first) is listed by its issuer's CRL. */
  isRevoked(chain: readonly ChainLink[]): boolean {
    const set = this.current;
    return !!set && chain.some((c) => set.isRevoked(c.issuerFingerprint, c.serial));
  }

  /**
   * Refuses a client whose path is revoked, or cannot be checked: the one call per request.
   * @param certname for the message only
   */
  check(chain: readonly ChainLink[], certname: string): void {
    if (!this.required) return;
    const set = this.current;
    if (!set)
      throw new AppError(503, 'crl_unavailable', 'the broker has no CRL yet (waiting for --crl-url); try again shortly', {
        'Retry-After': '5',
      });
    if (this.isRevoked(chain)) {
      throw new AppError(401, 'certificate_revoked', `the certificate of ${certname} has been revoked`, { Connection: 'close' });
    }
    const unchecked = chain.find((c) => !set.hasCrlFor(c.issuerFingerprint));
    if (unchecked) {
      throw new AppError(
        401,
        'crl_missing',
        `no CRL of CA "${unchecked.issuer}" is in force, so the certificate of ${certname} cannot be checked for revocation`,
      );
    }
  }

  /** Every certificate the CRLs in force revoke: the serials, by the fingerprint of the CA that lists them. */
  revokedCertificates(): { issuer: string; serials: string[] }[] {
    return this.current?.revoked() ?? [];
  }

  /** CAs of the bundle that could issue a client but have no CRL in force: their clients are refused. */
  uncoveredCas(): string[] {
    if (!this.required || !this.current) return [];
    const set = this.current;
    return this.trust.cas.filter((ca) => !set.hasCrlFor(ca.fingerprint)).map((ca) => ca.subject);
  }

  /** A new set may not drop a CA's CRL, nor bring an older one than the CRL in force. */
  private refuseRegression(current: CrlSet, next: CrlSet): void {
    for (const ca of this.trust.cas) {
      const inForce = current.newestFor(ca.fingerprint);
      if (!inForce) continue;
      const candidate = next.newestFor(ca.fingerprint);
      if (!candidate)
        throw new CrlValidationError(
          `holds no CRL of CA "${ca.subject}", whose CRL is in force; refusing it would un-revoke its certificates`,
        );
      if (isOlderCrl(candidate, inForce)) {
        const which =
          candidate.crlNumber !== null && inForce.crlNumber !== null
            ? `CRL number ${candidate.crlNumber} is lower than ${inForce.crlNumber}`
            : `thisUpdate ${candidate.thisUpdate.toISOString()} is older than ${inForce.thisUpdate.toISOString()}`;
        throw new CrlValidationError(`holds an older CRL of CA "${ca.subject}" than the one in force (${which}); keeping the newer one`);
      }
    }
  }

  status(now = new Date()): { crls: CrlStatus[]; error: string | null; uncovered_cas: string[] } {
    const set = this.current;
    const stale = new Set(set?.staleCrls(now) ?? []);
    return {
      error: this.lastError,
      uncovered_cas: this.uncoveredCas(),
      crls: (set?.crls ?? []).map((c) => ({
        issuer: c.issuer,
        crl_number: c.crlNumber === null ? null : c.crlNumber.toString(),
        this_update: c.thisUpdate.toISOString(),
        next_update: c.nextUpdate ? c.nextUpdate.toISOString() : null,
        revoked: c.revokedSerials.size,
        stale: stale.has(c),
      })),
    };
  }

  close(): void {
    for (const file of this.watchedFiles.splice(0)) fs.unwatchFile(file);
    for (const timer of this.intervals.splice(0)) clearInterval(timer);
  }

  private fingerprint(set: CrlSet): string {
    return set.crls.map((c) => `${c.signers.join(',')}|${c.crlNumber}|${c.thisUpdate.getTime()}|${c.revokedSerials.size}`).join(';');
  }
}
