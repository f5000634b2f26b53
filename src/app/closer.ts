/** Something started that must be stopped: a listener, a timer, a watcher, a connection. */
export interface Closable {
  close(): unknown;
}

/**
 * The parts of a broker in the order they were started; close() stops them in reverse, each
 * once, even when one of them fails to stop (the first failure is rethrown at the end).
 */
export class Closer {
  private readonly parts: Closable[] = [];

  add<T extends Closable>(part: T): T {
    this.parts.push(part);
    return part;
  }

  async close(): Promise<void> {
    let failure: unknown;
    for (const part of this.parts.splice(0).reverse()) {
      try {
        await part.close();
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure) throw failure;
  }
}
