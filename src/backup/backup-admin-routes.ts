import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import express from 'express';
import { requireScope } from '../admin/admin-auth';
import { adminPrincipalOf } from '../admin/admin-principal';
import { type Auditor, adminActor } from '../audit/auditor';
import type { Store } from '../db/store';
import { methodNotAllowed } from '../http/method-not-allowed';
import type { Logger } from '../log/logger';
import { exportSnapshot } from './export-snapshot';

/** While the snapshot is spooled, an empty line this often keeps the client's idle timeout (30 s) at bay. */
const HEARTBEAT_MS = 5_000;

/**
 * `GET /admin/v1/backup` (scope backup:read): the store's snapshot as JSON lines, for
 * `exportfact backup` when the store is an embedded folder this broker holds locked.
 *
 * The export runs in the broker under the store's own serialisation: on the embedded store the
 * broker pauses (every request waits) while it runs; on PostgreSQL nothing waits. It is written
 * to a spool file first (a private folder under the temporary directory, 0600, removed after),
 * and only then sent: the pause lasts as long as the database takes to read, never as long as
 * the client takes to write, so a slow, suspended or vanished `exportfact backup` cannot keep
 * the broker paused, nor a PostgreSQL transaction open. The spool holds what the backup holds:
 * rows with secrets sealed, never a value in the clear.
 */
export function backupAdminRoutes(deps: { store: Store; audit: Auditor; log: Logger }): express.Router {
  const r = express.Router();
  r.route('/backup')
    .get(requireScope('backup:read'), async (req, res) => {
      const admin = adminPrincipalOf(req).subject;
      // Recorded before the snapshot is taken, so the backup holds the record of its own making.
      await deps.audit.appendNow({ actor: adminActor(admin), action: 'admin.backup', detail: { store: deps.store.kind } });
      res.status(200).set({ 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-store' });
      res.flushHeaders();
      const heartbeat = setInterval(() => res.write('\n'), HEARTBEAT_MS);
      const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'exportfact-backup-'));
      const spool = path.join(spoolDir, 'snapshot.ndjson');
      try {
        const started = Date.now();
        const summary = await spoolSnapshot(deps.store, spool);
        clearInterval(heartbeat);
        const rows = Object.values(summary.rows).reduce((a, b) => a + b, 0);
        deps.log.info({ admin, rows, ms: Date.now() - started, store: deps.store.kind }, 'store snapshot taken for a backup');
        await pipeline(fs.createReadStream(spool), res);
      } catch (err) {
        clearInterval(heartbeat);
        deps.log.error({ admin, err: (err as Error).message }, 'store snapshot for a backup failed');
        // The answer started with 200: the reader learns of the failure from this line (and the missing end line).
        if (!res.destroyed) res.end(`${JSON.stringify({ error: `the export failed: ${(err as Error).message}` })}\n`);
      } finally {
        fs.rmSync(spoolDir, { recursive: true, force: true });
      }
    })
    .all(methodNotAllowed(['GET']));
  return r;
}

/** The snapshot into a private file; no fsync: the file lives for one answer. */
async function spoolSnapshot(store: Store, file: string) {
  const handle = await fs.promises.open(file, 'wx', 0o600);
  try {
    const { summary } = await exportSnapshot(store, async (lines) => {
      await handle.write(`${lines.join('\n')}\n`);
    });
    return summary;
  } finally {
    await handle.close();
  }
}
