import fs from 'node:fs';
import type { Store } from '../db/store';
import { appendPrivateLine, checkPrivate } from '../files/private-file';
import type { Logger } from '../log/logger';
import type { AuditEntry } from './audit-entry';
import { AUDIT_CHANNEL } from './audit-log';

const ROLE = 'audit device';
/** Followers also poll: a NOTIFY lost with a dropped connection must not stop the copy. */
const POLL_MS = 1000;
const BATCH = 1000;

/**
 * An audit device, as Vault has: every committed entry of the chain, with its hash, appended
 * as one JSON line to a file the database cannot reach (ship it on with rsyslog's imfile, or
 * keep it on write-once storage). Entries hold no value, so neither does the device. `audit
 * verify` compares the chain with it entry by entry.
 *
 * It follows the chain (after commit, in order, including entries other brokers appended)
 * rather than writing inside each transaction, so it never holds an entry that was rolled
 * back. A crash between commit and copy is caught up at the next start.
 */
export class AuditDevice {
  private position = 0;
  private timer?: NodeJS.Timeout;
  private unlisten?: () => Promise<void>;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    readonly file: string,
    private readonly store: Store,
    private readonly log: Logger,
  ) {
    if (fs.existsSync(file)) checkPrivate(ROLE, file);
  }

  /** Copies what is missing, then follows new entries until stop(). */
  async start(): Promise<void> {
    const copied = readDevice(this.file);
    // A line torn by a crash is closed off, so the next entry starts a line of its own.
    if (fs.existsSync(this.file) && !fs.readFileSync(this.file, 'utf8').endsWith('\n') && fs.statSync(this.file).size > 0)
      appendPrivateLine(ROLE, this.file, '');
    // A new device starts at the chain's current end: what came before is in the database's own history.
    this.position = copied.size
      ? Math.max(...copied.keys())
      : (await this.store.query<{ seq: number }>('SELECT seq FROM audit_chain')).rows[0].seq;
    await this.copy();
    try {
      this.unlisten = await this.store.listen(
        AUDIT_CHANNEL,
        () => this.kick(),
        () => this.kick(),
      );
    } catch {
      // Polling alone is enough; NOTIFY only makes the copy prompt.
    }
    this.timer = setInterval(() => this.kick(), POLL_MS);
    this.timer.unref();
  }

  private kick(): void {
    if (this.stopped || this.running) return;
    this.running = this.copy()
      .catch((err: Error) =>
        this.log.error({ err: err.message, device: this.file }, 'copying audit entries to the device failed; will retry'),
      )
      .finally(() => (this.running = undefined));
  }

  /** Appends every entry after the last one copied, in order. */
  async copy(): Promise<void> {
    for (;;) {
      const { rows } = await this.store.query<AuditEntry & { hash: Buffer }>(
        'SELECT seq, at, actor_kind, actor, action, environment, category, name, version, count, detail, hash FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2',
        [this.position, BATCH],
      );
      for (const r of rows) {
        appendPrivateLine(ROLE, this.file, JSON.stringify({ ...r, at: r.at.toISOString(), hash: r.hash.toString('hex') }));
        this.position = r.seq;
      }
      if (rows.length < BATCH) return;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    await this.copy().catch(() => undefined);
    await this.unlisten?.();
  }
}

/** The device's copy, as `audit verify` compares it: entry seq → hash. */
export function readDevice(file: string): Map<number, Buffer> {
  const copy = new Map<number, Buffer>();
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return copy;
    throw err;
  }
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const { seq, hash } = JSON.parse(line) as { seq: number; hash: string };
      if (Number.isInteger(seq) && /^[0-9a-f]{64}$/.test(hash)) copy.set(seq, Buffer.from(hash, 'hex'));
    } catch {
      // A torn last line after a crash: the entry is copied again on the next start.
    }
  }
  return copy;
}
