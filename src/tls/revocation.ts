import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import https from 'node:https';
import type { Logger } from '../log/logger';
import { parseCrlBundle, type CrlSet } from './crl-set';
import type { ChainLink } from './peer-authenticator';

export interface CrlStatus {
  issuer: string;
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
 */
export class RevocationList extends EventEmitter {
  private current: CrlSet | null = null;
  private readonly intervals: NodeJS.Timeout[] = [];
  private readonly watchedFiles: string[] = [];
  private lastSource = '';
  private lastError: string | null = null;

  constructor(
    private readonly caBundlePem: string,
    private readonly log: Logger,
  ) {
    super();
  }

  get enabled(): boolean {
    return this.current !== null;
  }

  /** Validates and swaps in a new set; a bad one is refused and the old set stays. */
  async load(pem: string | Buffer, source: string): Promise<void> {
    try {
      const next = await parseCrlBundle(pem, this.caBundlePem);
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
        .catch((err) => this.log.error({ source: file, err: (err as Error).message }, 'CRL file unreadable; keeping the CRLs already in force'));
    });
    this.watchedFiles.push(file);
  }

  /** Polls the Puppet CA's CRL endpoint: an agent's copy of crl.pem is never refreshed by Puppet. */
  pollUrl(url: string, intervalMs: number, tls: { ca: string; cert?: string; key?: string }): void {
    const fetchOnce = () =>
      new Promise<void>((resolve) => {
        const req = https.get(url, { ca: tls.ca, cert: tls.cert, key: tls.key, timeout: Math.min(intervalMs, 10_000), headers: { Accept: 'text/plain' } }, (res) => {
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
        });
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
  isRevoked(chain: ChainLink[]): boolean {
    const set = this.current;
    return !!set && chain.some((c) => set.isRevoked(c.issuer, c.serial));
  }

  status(now = new Date()): { crls: CrlStatus[]; error: string | null } {
    const set = this.current;
    const stale = new Set(set?.staleCrls(now) ?? []);
    return {
      error: this.lastError,
      crls: (set?.crls ?? []).map((c) => ({
        issuer: c.issuer,
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
    return set.crls.map((c) => `${c.issuer}|${c.crlNumber}|${c.thisUpdate.getTime()}|${c.revokedSerials.size}`).join(';');
  }
}
