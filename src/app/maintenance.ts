import { describeError } from '../errors/app-error';
import type { Logger } from '../log/logger';
import type { Closable } from './closer';

export interface MaintenanceTask {
  /** What failed, for the log line ("key rotation step"). */
  name: string;
  run(): Promise<unknown>;
  /** At most this often (default: every tick). */
  everyMs?: number;
}

/**
 * Background work on one timer (heartbeat and key rotation steps, the end of grace periods,
 * node expiry): each task's failure is logged and retried later, never thrown; a task still
 * running is not started again.
 */
export function startMaintenance(tickMs: number, tasks: MaintenanceTask[], log: Logger): Closable {
  const lastRun = new Map<MaintenanceTask, number>();
  const running = new Set<MaintenanceTask>();
  const timer = setInterval(() => {
    const now = Date.now();
    for (const task of tasks) {
      if (running.has(task) || now - (lastRun.get(task) ?? 0) < (task.everyMs ?? 0)) continue;
      lastRun.set(task, now);
      running.add(task);
      task
        .run()
        .catch((err: unknown) => log.error({ err: describeError(err) }, `${task.name} failed; will retry`))
        .finally(() => running.delete(task));
    }
  }, tickMs);
  timer.unref();
  return { close: () => clearInterval(timer) };
}
