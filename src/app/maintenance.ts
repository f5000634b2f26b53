import { describeError } from '../errors/app-error';
import type { Logger } from '../log/logger';
import type { Closable } from './closer';

export interface MaintenanceTask {
  /** What failed, for the log line ("key rotation step"). */
  name: string;
  run(): Promise<unknown>;
}

/**
 * Background work on one timer (heartbeat and key rotation steps, the end of grace periods):
 * each task's failure is logged and retried at the next tick, never thrown.
 */
export function startMaintenance(everyMs: number, tasks: MaintenanceTask[], log: Logger): Closable {
  const timer = setInterval(() => {
    for (const task of tasks) task.run().catch((err: unknown) => log.error({ err: describeError(err) }, `${task.name} failed; will retry`));
  }, everyMs);
  timer.unref();
  return { close: () => clearInterval(timer) };
}
