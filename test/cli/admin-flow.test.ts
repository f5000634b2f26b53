import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { tempDir } from '../support/broker';
import { adminTokenArgs, devCaClient, runCli, type ServeProcess, startServe } from '../support/cli';
import type { Client } from '../support/client';

/** The README's admin walkthrough, as a user types it: dev CA, token, generate, rotate, status. */
describe('admin walkthrough with the exportfact command', function () {
  this.timeout(120_000);
  let cwd: string;
  let serve: ServeProcess;
  let node: (certname: string) => Client;
  let admin: string[];
  const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd, env });

  before(async () => {
    cwd = tempDir('walkthrough');
    serve = await startServe(['--dev-ca', '--listen', '127.0.0.1:0', '--secret-grace', '3600'], { cwd });
    node = (certname: string) => devCaClient(serve, certname);
    admin = await adminTokenArgs(serve, 'ops-alice');
  });
  after(() => serve?.stop());

  it('rotates a generated database password and shows which nodes have fetched the new one', async () => {
    const keystone = node('keystone.example.com');
    const compute = node('compute1.example.com');
    const first = await keystone.request('POST', '/v1/secrets/nova/db_password/generate', { body: { length: 20 } });
    expect(first.status).to.equal(201);
    expect((await compute.request('POST', '/v1/secrets/nova/db_password/generate', { body: { length: 20 } })).json.value).to.equal(
      first.json.value,
    );

    const list = await cli(['secrets', 'list', ...admin]);
    expect(list.stdout).to.match(/production\s+nova\s+db_password\s+true\s+\d+/);
    expect(list.stdout).to.not.contain(first.json.value);

    const rotate = await cli(['secrets', 'rotate', 'nova', 'db_password', ...admin]);
    expect(rotate.code).to.equal(0, rotate.stderr);
    expect(rotate.stdout).to.match(/nova\.db_password: version \d+ is current/);

    const fresh = await keystone.get('/v1/secrets/nova/db_password');
    expect(fresh.json.value).to.not.equal(first.json.value);
    const status = await cli(['secrets', 'status', 'nova', 'db_password', ...admin]);
    expect(status.stdout).to.match(/current .*keystone\.example\.com\(1\)/);
    expect(status.stdout).to.match(/not yet on the current version: compute1\.example\.com/);

    const shown = await cli(['secrets', 'show', 'nova', 'db_password', '--yes', ...admin]);
    expect(shown.stdout.trim()).to.equal(fresh.json.value);
    const refused = await cli(['secrets', 'show', 'nova', 'db_password', ...admin]);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.match(/without confirmation/);
  });

  it('rotates to a value an admin gives, pending until promoted', async () => {
    fs.writeFileSync(path.join(cwd, 'given.txt'), 'given-by-ops\n');
    const rotate = await cli(['secrets', 'rotate', 'nova', 'db_password', '--value-file', 'given.txt', '--pending', ...admin]);
    expect(rotate.code).to.equal(0, rotate.stderr);
    const version = Number(/version (\d+) is pending/.exec(rotate.stdout)![1]);
    expect((await node('keystone.example.com').get('/v1/secrets/nova/db_password')).json.value).to.not.equal('given-by-ops');
    expect((await cli(['secrets', 'promote', 'nova', 'db_password', String(version), ...admin])).code).to.equal(0);
    expect((await node('keystone.example.com').get('/v1/secrets/nova/db_password')).json).to.include({ version, value: 'given-by-ops' });
  });

  it('rotates the encryption key online, and the value survives it', async () => {
    const before = (await node('keystone.example.com').get('/v1/secrets/nova/db_password')).json;
    const rotate = await cli(['keys', 'rotate', ...admin]);
    expect(rotate.code).to.equal(0, rotate.stderr);
    expect(rotate.stdout).to.match(/write key: (k\S+)/);
    const status = await cli(['keys', 'status', '--json', ...admin]);
    const parsed = JSON.parse(status.stdout);
    const writeKey = parsed.write_key_id;
    expect(parsed.keys.find((k: { key_id: string }) => k.key_id === writeKey).rows).to.be.greaterThan(0);
    expect(parsed.keys.filter((k: { key_id: string; rows: number }) => k.key_id !== writeKey && k.rows > 0)).to.deep.equal([]);
    expect((await node('keystone.example.com').get('/v1/secrets/nova/db_password')).json.value).to.equal(before.value);
  });

  it('after a leak: names the secret version a leaked value is, who received it, and checks the trail', async () => {
    const keystone = node('keystone.example.com');
    const leaked = (await keystone.get('/v1/secrets/nova/db_password')).json;
    fs.writeFileSync(path.join(cwd, 'leaked.txt'), `${leaked.value}\n`);
    const found = await cli(['audit', 'leaked', '--value-file', 'leaked.txt', ...admin]);
    expect(found.code).to.equal(0, found.stderr);
    expect(found.stdout).to.match(new RegExp(`production/nova\\.db_password version ${leaked.version} \\(current`));
    expect(found.stdout).to.contain('keystone.example.com');
    expect(found.stdout).to.not.contain(leaked.value);

    const who = await cli(['audit', 'who-saw', 'nova', 'db_password', ...admin]);
    expect(who.stdout).to.match(/keystone\.example\.com/);
    const events = await cli(['audit', 'events', '--action', 'secret.', ...admin]);
    expect(events.stdout).to.match(/admin:ops-alice\s+secret\.rotate\s+production\/nova\.db_password/);
    const verify = await cli(['audit', 'verify', ...admin]);
    expect(verify.code).to.equal(0, verify.stdout);
    expect(verify.stdout).to.match(/audit trail intact/);
  });

  it('refuses an under-scoped token with a one-line error naming the scope', async () => {
    const token = await cli(['admin', 'token', '--scope', 'audit:read', '--subject', 'auditor']);
    const r = await cli(['secrets', 'rotate', 'nova', 'db_password', '--admin-url', serve.adminUrl!, '--token', token.stdout.trim()]);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/403 insufficient_scope: .*secrets:rotate/);
    expect(serve.output()).to.not.contain(token.stdout.trim());
  });
});
