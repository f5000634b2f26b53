import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import type { Logger } from '../log/logger';
import { type CompiledPolicy, DEFAULT_POLICY } from './compiled-policy';
import { checkPolicy } from './policy-check';
import { readPolicyFile } from './policy-file';

export type PolicyLog = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface PolicyStatus {
  file: string | null;
  version: string;
  rules: number;
  loaded_at: string | null;
  /** The last refused reload, until a good file is read again. */
  last_error: string | null;
}

/**
 * The policy in force. Without a file, the built-in defaults. A broken file at start is a
 * ConfigError (the start stops); a broken file later is logged and the old policy stays:
 * a typo must neither open the door nor take the broker down.
 *
 * Events: 'updated' (policy, previous) when the version changes; 'refused' (message) when a
 * reload was refused. (Not 'error': an EventEmitter throws an 'error' nobody listens to.)
 */
export class PolicyHolder extends EventEmitter {
  private policy: CompiledPolicy = DEFAULT_POLICY;
  private policyFile: string | null = null;
  private loadedAt: Date | null = null;
  private lastError: string | null = null;
  private watching = false;
  private firstCheck?: NodeJS.Timeout;
  /** The file's identity (inode, size, mtime) when it was last read, good or not. */
  private stamp = 'absent';

  constructor(private readonly log?: PolicyLog) {
    super();
  }

  get current(): CompiledPolicy {
    return this.policy;
  }

  get file(): string | null {
    return this.policyFile;
  }

  /** At start: reads and compiles FILE, or throws ConfigError with the line number. */
  load(file: string): CompiledPolicy {
    const stamp = stampOfFile(file);
    const policy = readPolicyFile(file);
    this.stamp = stamp;
    this.policyFile = file;
    this.install(policy);
    return policy;
  }

  /**
   * Re-reads the file (SIGHUP, or the watcher). Never throws: a refused file is logged and
   * the policy in force stays. Returns true when a new version took effect.
   */
  reload(): boolean {
    if (this.policyFile === null) return false;
    let next: CompiledPolicy;
    // Taken before reading: a change during the read then shows as a change at the next poll.
    this.stamp = stampOfFile(this.policyFile);
    try {
      next = readPolicyFile(this.policyFile);
    } catch (err) {
      const message = (err as Error).message;
      const repeated = message === this.lastError;
      this.lastError = message;
      this.log?.error(
        { policy: this.policyFile, err: message, version: this.policy.version },
        'policy file refused; keeping the policy in force',
      );
      if (!repeated) this.emit('refused', message);
      return false;
    }
    return this.install(next);
  }

  /**
   * Polls the file (which survives editors that replace it by rename). Replace the file
   * atomically (write elsewhere, then rename): a file read half-written may still parse.
   */
  watch(intervalMs = 2000): void {
    if (this.policyFile === null) throw new Error('PolicyHolder.watch needs a file: call load(file) first');
    if (this.watching) return;
    this.watching = true;
    const file = this.policyFile;
    // Compared with the file as last read, not with the previous poll.
    const check = (stamp: string) => {
      if (stamp !== this.stamp) this.reload();
    };
    fs.watchFile(file, { interval: intervalMs, persistent: false }, (curr) => check(stampOf(curr)));
    // The watcher reports changes after its own first look only: one made between load()
    // and that look would otherwise go unnoticed until the next edit.
    this.firstCheck = setTimeout(() => check(stampOfFile(file)), intervalMs);
    this.firstCheck.unref();
  }

  close(): void {
    if (this.watching && this.policyFile !== null) fs.unwatchFile(this.policyFile);
    clearTimeout(this.firstCheck);
    this.watching = false;
  }

  status(): PolicyStatus {
    return {
      file: this.policyFile,
      version: this.policy.version,
      rules: this.policy.rules.length,
      loaded_at: this.loadedAt?.toISOString() ?? null,
      last_error: this.lastError,
    };
  }

  private install(next: CompiledPolicy): boolean {
    const previous = this.policy;
    const recovered = this.lastError !== null;
    // Swapped even when the version is equal: line numbers in explanations follow the file.
    this.policy = next;
    this.loadedAt = new Date();
    this.lastError = null;
    const changed = next.version !== previous.version;
    if (!changed && previous !== DEFAULT_POLICY) {
      if (recovered) this.log?.info({ policy: next.source, version: next.version }, 'policy file valid again; its rules did not change');
      return false;
    }
    for (const w of checkPolicy(next)) this.log?.warn({ policy: next.source, line: w.line }, `policy warning: ${w.message}`);
    this.log?.info({ policy: next.source, version: next.version, rules: next.rules.length, previous: previous.version }, 'policy loaded');
    if (changed) this.emit('updated', next, previous);
    return changed;
  }
}

function stampOf(st: fs.Stats): string {
  // fs.watchFile reports a missing file as all zeros.
  return st.ino === 0 && st.mtimeMs === 0 ? 'absent' : `${st.ino}:${st.size}:${st.mtimeMs}`;
}

function stampOfFile(file: string): string {
  try {
    return stampOf(fs.statSync(file));
  } catch {
    return 'absent';
  }
}
