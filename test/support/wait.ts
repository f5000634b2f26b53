/** Waiting in tests: poll a condition instead of sleeping a fixed time. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `condition` every `everyMs` until it returns true; resolves with the time it took,
 * or rejects after `withinMs` naming what was awaited.
 */
export async function eventually(
  what: string,
  condition: () => Promise<boolean> | boolean,
  withinMs = 10_000,
  everyMs = 100,
): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await condition()) return Date.now() - start;
    if (Date.now() - start > withinMs) throw new Error(`${what}: not within ${withinMs} ms`);
    await sleep(everyMs);
  }
}
