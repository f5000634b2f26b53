import { once } from 'node:events';
import express from 'express';
import { requireScope } from '../admin/admin-auth';
import { adminPrincipalOf } from '../admin/admin-principal';
import { type Auditor, adminActor } from '../audit/auditor';
import type { Store } from '../db/store';
import { methodNotAllowed } from '../http/method-not-allowed';
import type { Logger } from '../log/logger';
import { exportSnapshot } from './export-snapshot';

/**
 * `GET /admin/v1/backup` (scope backup:read): the store's snapshot as JSON lines, for
 * `exportfact backup` when the store is an embedded folder this broker holds locked. The
 * export runs in the broker, under the store's own serialisation: on the embedded store the
 * broker pauses (every request waits) for as long as the export takes; on PostgreSQL nothing
 * waits. The stream is written as fast as the client reads it, and a client that goes away
 * ends the export at once (so the pause ends with it).
 */
export function backupAdminRoutes(deps: { store: Store; audit: Auditor; log: Logger }): express.Router {
  const r = express.Router();
  r.route('/backup')
    .get(requireScope('backup:read'), async (req, res) => {
      const admin = adminPrincipalOf(req).subject;
      // Recorded before the snapshot is taken, so the backup holds the record of its own making.
      await deps.audit.appendNow({ actor: adminActor(admin), action: 'admin.backup', detail: { store: deps.store.kind } });
      res.status(200).set({ 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-store' });
      const gone = new Promise<never>((_, reject) =>
        res.once('close', () => {
          if (!res.writableFinished) reject(new Error('the client closed the connection'));
        }),
      );
      gone.catch(() => undefined); // awaited only while the client is behind
      const started = Date.now();
      try {
        const { summary } = await exportSnapshot(deps.store, async (lines) => {
          if (res.destroyed) throw new Error('the client closed the connection');
          if (!res.write(`${lines.join('\n')}\n`)) await Promise.race([once(res, 'drain'), gone]);
        });
        const rows = Object.values(summary.rows).reduce((a, b) => a + b, 0);
        deps.log.info({ admin, rows, ms: Date.now() - started, store: deps.store.kind }, 'store snapshot sent for a backup');
      } catch (err) {
        deps.log.error({ admin, err: (err as Error).message }, 'store snapshot for a backup failed');
        // The answer started with 200: the reader learns of the failure from this line (and the missing end line).
        if (!res.destroyed) res.write(`${JSON.stringify({ error: `the export failed: ${(err as Error).message}` })}\n`);
      }
      res.end();
    })
    .all(methodNotAllowed(['GET']));
  return r;
}
