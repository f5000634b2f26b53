import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { tempDir } from '../support/broker';
import { type ServeProcess, startServe } from '../support/cli';
import { Client } from '../support/client';
import { getTestPki, type TestPki } from '../support/pki';
import { serveTlsArgs } from '../support/tls-files';
import { sleep } from '../support/wait';

/**
 * The embedded store holds a lock on its data folder (one broker per folder). If that lock is
 * lost while serving (its file removed, or taken over by another process after this one stalled),
 * the lock library throws from a timer by default, which ended the process.
 */
describe('embedded store: the data folder lock lost while serving (broker process, real mTLS)', function () {
  this.timeout(120_000);
  let pki: TestPki;
  let args: string[];
  let dataDir: string;
  let serve: ServeProcess | undefined;
  let exitCode: number | null | undefined;

  before(async () => {
    pki = await getTestPki();
    const dir = tempDir('locklost');
    dataDir = path.join(dir, 'data');
    args = [...serveTlsArgs(pki, dir, { crl: true }), '--listen', '127.0.0.1:0', '--data-dir', dataDir];
    serve = await startServe(args, { cwd: dir, timeoutMs: 60_000 });
    serve.child.once('exit', (code, signal) => (exitCode = code ?? (signal as unknown as number)));
  });
  after(async () => {
    if (serve && exitCode === undefined) await serve.stop('SIGKILL');
  });

  it('stays up, stops using the folder (503 store_unavailable, not ready), and a restart serves what was acknowledged', async () => {
    const alice = new Client(serve!.url, pki.caBundlePem, pki.clients.alice);
    expect((await alice.put('/v1/facts/lock/before', { value: 'kept' })).status).to.equal(201);

    fs.rmSync(path.join(dataDir, 'broker.lock'), { recursive: true });
    // The lock is refreshed every 2 s; the loss shows at the next refresh.
    let reply = await alice.put('/v1/facts/lock/after', { value: 'late' });
    let lateAcknowledged = false;
    for (let i = 0; reply.status !== 503 && i < 50 && exitCode === undefined; i++) {
      expect(reply.status, 'a write before the loss is noticed').to.be.oneOf([200, 201]);
      lateAcknowledged = true;
      await sleep(200);
      reply = await alice.put('/v1/facts/lock/after', { value: 'late' });
    }
    await sleep(500);
    expect(exitCode, `the broker exited; its output ends:\n${serve?.output().slice(-1500)}`).to.equal(undefined);
    expect(reply.status).to.equal(503);
    expect(reply.json.error.code).to.equal('store_unavailable');
    expect(Number(reply.headers['retry-after'])).to.be.greaterThan(0);
    expect(reply.json.error.message, 'no server path shown to nodes').not.to.contain(dataDir);
    expect((await alice.get('/v1/facts')).status).to.equal(503);
    expect((await alice.get('/v1/ready')).status).to.equal(503);
    expect(serve!.output()).to.match(/lock on the embedded data directory was lost/);
    expect(serve!.output()).not.to.match(/Unhandled|uncaught/i);

    expect(await serve!.stop('SIGTERM')).to.equal(0);
    serve = await startServe(args, { cwd: path.dirname(dataDir), timeoutMs: 60_000 });
    exitCode = undefined;
    serve.child.once('exit', (code, signal) => (exitCode = code ?? (signal as unknown as number)));
    const view = await new Client(serve.url, pki.caBundlePem, pki.clients.bob).get('/v1/facts/lock');
    // Acknowledged writes are there; the refused ones are not.
    expect(view.json.facts.lock).to.deep.equal(lateAcknowledged ? { before: 'kept', after: 'late' } : { before: 'kept' });
  });
});
