// GET /admin/v1/backup on a broker holding an embedded store: only with scope backup:read, the
// whole snapshot in one answer, and a client that stops reading never keeps the broker paused
// (the snapshot is spooled first, then sent at the client's pace).
import https from 'node:https';
import path from 'node:path';
import { expect } from 'chai';
import { ensureTokenSigningKey, issueAdminToken } from '../../src/admin/token';
import { SnapshotShape } from '../../src/backup/snapshot-format';
import { migrate } from '../../src/db/migrate';
import { openStore } from '../../src/db/open-store';
import { startTestBroker, type TestBroker, tempDir } from '../support/broker';
import type { TestCert } from '../support/pki';
import { eventually, sleep } from '../support/wait';

const ADMIN = 'ops.admin.test';
/** Rows enough that the answer (about 15 MB) cannot sit in socket buffers: a client that stops reading stalls the sender. */
const FACTS = 40_000;

describe('GET /admin/v1/backup', function () {
  this.timeout(180_000);
  let t: TestBroker;
  let admin: TestCert;

  before(async () => {
    const dataDir = path.join(tempDir('backup-route'), 'data');
    const store = await openStore({ kind: 'embedded', dataDir });
    await migrate(store);
    await store.transaction(async (tx) => {
      await tx.query("INSERT INTO environments (name, view_version) VALUES ('production', 1)");
      await tx.query(
        `INSERT INTO facts (environment, category, name, multi, sensitive, version)
         SELECT 'production', 'c' || (i / 1000), 'f' || (i % 1000), false, false, 1 FROM generate_series(0, $1::int - 1) AS i`,
        [FACTS],
      );
      await tx.query(
        `INSERT INTO fact_values (fact_id, exporter, value, version)
         SELECT id, 'writer.test', jsonb_build_object('url', 'https://node-' || id || '.example.com:5000/v3', 'pad', repeat('x', 200)), 1 FROM facts`,
      );
    });
    await store.close();
    t = await startTestBroker({ store: { kind: 'embedded', dataDir }, admin: { certnames: [ADMIN] } });
    admin = await t.pki.issueClientCert({ certname: ADMIN });
  });
  after(() => t?.close());

  /** The answer's head; the body is left unread (paused) for the caller. */
  const open = (headers: Record<string, string>, cert?: TestCert) =>
    new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = https.get(
        `${t.broker.adminUrl}/admin/v1/backup`,
        { ca: t.pki.caBundlePem, cert: cert?.certPem, key: cert?.keyPem, headers, agent: false },
        (res) => {
          res.pause();
          resolve(res);
        },
      );
      req.on('error', reject);
    });

  it('needs the scope backup:read', async () => {
    const key = await ensureTokenSigningKey(t.config.admin!.signingKeyFile);
    const token = await issueAdminToken(key.privateKeyPem, { subject: 'auditor', scopes: ['audit:read'], ttlSeconds: 60 });
    const res = await open({ Authorization: `Bearer ${token}` });
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    expect(res.statusCode).to.equal(403);
    expect(JSON.parse(Buffer.concat(chunks).toString()).error.code).to.equal('insufficient_scope');
  });

  it('a client that stops reading does not keep the broker paused; resumed, it gets the whole snapshot', async () => {
    const res = await open({}, admin);
    expect(res.statusCode).to.equal(200);
    expect(res.headers['content-type']).to.match(/^application\/x-ndjson/);
    // The client reads nothing. The broker must answer its nodes again as soon as the snapshot is spooled.
    const reader = t.client(t.pki.clients.alice);
    await eventually(
      'the broker answers while the backup client stalls',
      async () => {
        // A broker still paused would never answer: each try gives up after 5 s.
        const r = await Promise.race([reader.get('/v1/ready'), sleep(5000).then(() => undefined)]);
        return r?.status === 200;
      },
      60_000,
      200,
    );
    expect(res.readableFlowing).to.equal(false); // still stalled: nothing was read yet

    const shape = new SnapshotShape('the answer');
    let rest = '';
    for await (const chunk of res) {
      const lines = (rest + (chunk as Buffer).toString('utf8')).split('\n');
      rest = lines.pop()!;
      for (const line of lines) if (line) shape.accept(line);
    }
    if (rest) shape.accept(rest);
    const { summary } = shape.finish();
    expect(summary.rows.facts).to.equal(FACTS);
    expect(summary.rows.fact_values).to.equal(FACTS);
    const events = await t.broker.auditService.events({ action: 'admin.backup', limit: 10 });
    expect(events.map((e) => e.actor)).to.include(ADMIN);
  });
});
