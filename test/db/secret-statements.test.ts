import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { tempDir } from '../support/broker';
import { adminTokenArgs, devCaClient, runCli, type ServeProcess, startServe } from '../support/cli';
import type { Client, Reply } from '../support/client';
import { skipPg } from '../support/pg';
import { PgCluster } from '../support/pg-cluster';

const canary = (label: string) => `canary${label}${crypto.randomBytes(12).toString('hex')}`;

/**
 * A database administrator's logs are not a place for secrets: with `log_statement = 'all'`
 * (parameters included) and auto_explain (custom plans show parameter values inline), every
 * statement the broker sends is in the server log. No secret may be among them: sensitive
 * values are compared by their keyed fingerprint and reach the database only sealed.
 */
describe('no secret in any SQL statement or parameter (own cluster, statement logging on)', function () {
  this.timeout(180_000);
  let cluster: PgCluster;
  let serve: ServeProcess;
  let cwd: string;
  let node: (certname: string) => Client;
  let admin: string[];
  const cli = (args: string[]) => runCli(args, { cwd, timeoutMs: 90_000 });

  before(async function () {
    if (skipPg()) return this.skip(); // EXPORTFACT_SKIP_PG: no PostgreSQL at all, not even its binaries
    cluster = await PgCluster.create({
      label: 'stmtlog',
      settings: {
        log_statement: 'all',
        log_min_duration_statement: 0,
        log_parameter_max_length: -1,
        log_min_error_statement: 'error',
        log_parameter_max_length_on_error: -1,
        shared_preload_libraries: 'auto_explain',
        'auto_explain.log_min_duration': 0,
        'auto_explain.log_nested_statements': true,
      },
    });
    const url = await cluster.createDatabase('exportfact');
    cwd = tempDir('stmtlog');
    serve = await startServe(['--dev-ca', '--listen', '127.0.0.1:0', '--database-url', url], { cwd, timeoutMs: 60_000 });
    node = (certname: string) => devCaClient(serve, certname);
    admin = await adminTokenArgs(serve, 'ops-test');
  });
  after(async () => {
    await serve?.stop();
    await cluster?.destroy();
  });

  it('publishes, republishes, changes, reads, withdraws, prunes, generates, rotates and re-keys secrets without one reaching the server log', async () => {
    const db = node('db.example.com');
    const keystone = node('keystone.example.com');
    const secrets: string[] = [];
    const expectStatus = async (reply: Promise<Reply>, status: number): Promise<Reply> => {
      const r = await reply;
      expect(r.status, r.text).to.equal(status);
      return r;
    };

    // A node's own secret: created, published again unchanged, changed, read, withdrawn.
    const [first, second] = [canary('published'), canary('changed')];
    secrets.push(first, second);
    await expectStatus(db.put('/v1/facts/app/password', { value: first, sensitive: true }), 201);
    expect((await expectStatus(db.put('/v1/facts/app/password', { value: first, sensitive: true }), 200)).json.changed).to.equal(false);
    await expectStatus(db.put('/v1/facts/app/password', { value: second, sensitive: true }), 200);
    expect((await db.get('/v1/secrets/app/password')).json.value).to.equal(second);
    await expectStatus(db.delete('/v1/facts/app/password'), 200);

    // Structured values and per-node secrets, compared against several exporters.
    const [structured, perNodeA, perNodeB] = [canary('structured'), canary('pernodea'), canary('pernodeb')];
    secrets.push(structured, perNodeA, perNodeB);
    await expectStatus(db.put('/v1/facts/app/credentials', { value: { user: 'app', password: structured }, sensitive: true }), 201);
    await expectStatus(db.put('/v1/facts/app/credentials', { value: { password: structured, user: 'app' }, sensitive: true }), 200);
    await expectStatus(db.put('/v1/facts/cluster/token', { value: perNodeA, sensitive: true, multi: true }), 201);
    await expectStatus(keystone.put('/v1/facts/cluster/token', { value: perNodeB, sensitive: true, multi: true }), 201);
    await expectStatus(keystone.put('/v1/facts/cluster/token', { value: perNodeB, sensitive: true, multi: true }), 200);
    // The other kind with a secret-looking value: refused, and the value still not sent.
    const misdeclared = canary('misdeclared');
    secrets.push(misdeclared);
    await expectStatus(db.put('/v1/facts/app/credentials', { value: misdeclared, sensitive: false }), 409);
    // Withdrawn by pruning.
    await expectStatus(db.request('POST', '/v1/exports/prune', { body: { keep: [{ category: 'cluster', name: 'token' }] } }), 200);

    // A broker-generated secret, then an admin's rotations with values of their own.
    const generated = await expectStatus(keystone.request('POST', '/v1/secrets/nova/db_password/generate', { body: { length: 32 } }), 201);
    secrets.push(generated.json.value);
    await expectStatus(db.request('POST', '/v1/secrets/nova/db_password/generate', { body: { length: 32 } }), 200);
    const [rotated, pending] = [canary('rotated'), canary('pending')];
    secrets.push(rotated, pending);
    const valueFile = path.join(cwd, 'value.txt');
    fs.writeFileSync(valueFile, `${rotated}\n`, { mode: 0o600 });
    const rotate = await cli(['secrets', 'rotate', 'nova', 'db_password', '--value-file', valueFile, ...admin]);
    expect(rotate.code).to.equal(0, rotate.stderr);
    expect((await keystone.get('/v1/secrets/nova/db_password')).json.value).to.equal(rotated);
    fs.writeFileSync(valueFile, `${pending}\n`, { mode: 0o600 });
    const rotatePending = await cli([
      'secrets',
      'rotate',
      'nova',
      'db_password',
      '--pending',
      '--value-file',
      valueFile,
      '--json',
      ...admin,
    ]);
    expect(rotatePending.code).to.equal(0, rotatePending.stderr);
    const promote = await cli(['secrets', 'promote', 'nova', 'db_password', String(JSON.parse(rotatePending.stdout).version), ...admin]);
    expect(promote.code).to.equal(0, promote.stderr);
    const shown = await cli(['secrets', 'show', 'nova', 'db_password', '--yes', ...admin]);
    expect(shown.stdout.trim()).to.equal(pending);
    fs.writeFileSync(valueFile, `${rotated}\n`, { mode: 0o600 });
    const leaked = await cli(['audit', 'leaked', '--value-file', valueFile, ...admin]);
    expect(leaked.code).to.equal(0, leaked.stderr);
    expect(leaked.stdout).to.contain('nova');
    fs.rmSync(valueFile);

    // Every sealed value re-sealed with a new key.
    const rekey = await cli(['keys', 'rotate', ...admin]);
    expect(rekey.code).to.equal(0, rekey.stderr);
    expect((await db.get('/v1/secrets/cluster/token')).json.values['db.example.com']).to.equal(perNodeA);

    // The same steps with a value that is not secret: it must be in the log, or the log proves nothing.
    const plain = canary('plain');
    await expectStatus(db.put('/v1/facts/app/url', { value: plain }), 201);
    await expectStatus(db.put('/v1/facts/app/url', { value: plain }), 200);

    const log = cluster.log();
    expect(log, 'the server logs statements with their parameters').to.contain(plain);
    expect(log).to.match(/parameters: \$1 = /);
    expect(log).to.match(/Query Text: /); // auto_explain
    expect(
      secrets.filter((s) => log.includes(s)),
      'secrets in the PostgreSQL log',
    ).to.deep.equal([]);
    expect(
      secrets.filter((s) => serve.output().includes(s)),
      "secrets in the broker's log",
    ).to.deep.equal([]);
  });
});
