/** Chunks of lines in flight between the export and the import: a bound on memory, not on speed. */
const MAX_CHUNKS = 8;

/**
 * Connects an export that pushes lines (it runs inside its store's transaction) to an import
 * that pulls them (inside the other store's transaction), with backpressure both ways: the
 * producer waits while the consumer is behind, a failure on either side reaches the other
 * (fail: the consumer's iteration throws; abort: the producer's next push throws), so neither
 * transaction is left waiting forever.
 */
export class LinePipe implements AsyncIterable<string> {
  private readonly chunks: string[][] = [];
  private ended = false;
  private failure?: unknown;
  private aborted?: unknown;
  private wakeConsumer?: () => void;
  private wakeProducer?: () => void;

  async push(lines: string[]): Promise<void> {
    if (this.aborted) throw this.aborted;
    this.chunks.push(lines);
    this.wake('consumer');
    while (this.chunks.length > MAX_CHUNKS && !this.aborted) await new Promise<void>((r) => (this.wakeProducer = r));
    if (this.aborted) throw this.aborted;
  }

  /** The producer is done: the consumer's iteration ends after the last chunk. */
  end(): void {
    this.ended = true;
    this.wake('consumer');
  }

  /** The producer failed: the consumer's iteration throws this. */
  fail(err: unknown): void {
    this.failure = err;
    this.wake('consumer');
  }

  /** The consumer failed: the producer's pushes throw this. */
  abort(err: unknown): void {
    this.aborted = err;
    this.wake('producer');
  }

  private wake(side: 'consumer' | 'producer'): void {
    const fn = side === 'consumer' ? this.wakeConsumer : this.wakeProducer;
    if (side === 'consumer') this.wakeConsumer = undefined;
    else this.wakeProducer = undefined;
    fn?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for (;;) {
      if (this.failure) throw this.failure;
      const chunk = this.chunks.shift();
      if (chunk) {
        this.wake('producer');
        yield* chunk;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((r) => (this.wakeConsumer = r));
    }
  }
}
