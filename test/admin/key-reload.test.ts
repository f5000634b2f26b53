import crypto from 'node:crypto';
import fs from 'node:fs';
import { expect } from 'chai';
import { issueAdminToken } from '../../src/admin/token';
import { startTestBroker, type TestBroker } from '../support/broker';
import { eventually } from '../support/wait';

const newKeyPem = () => crypto.generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

/** Replaces a file the way an admin's tooling does: a new file renamed over the old one. */
function replaceFile(file: string, content: string): void {
  fs.writeFileSync(`${file}.new`, content, { mode: 0o600 });
  fs.renameSync(`${file}.new`, file);
}

describe('admin token signing key: replaced without a restart', function () {
  this.timeout(60_000);
  let t: TestBroker;
  let keyFile: string;
  const whoami = (token: string) => t.adminClient().get('/admin/v1/whoami', { headers: { Authorization: `Bearer ${token}` } });
  const tokenFrom = (pem: string) => issueAdminToken(pem, { subject: 'ops', scopes: ['audit:read'] });

  before(async () => {
    t = await startTestBroker({ admin: { certnames: [] } });
    keyFile = t.config.admin!.signingKeyFile;
  });
  after(() => t?.close());

  it('refuses tokens of the old key and takes those of the new one once the file is replaced', async () => {
    const old = await tokenFrom(fs.readFileSync(keyFile, 'utf8'));
    expect((await whoami(old)).status).to.equal(200);
    const pem = newKeyPem();
    replaceFile(keyFile, pem);
    await eventually('the old token is refused', async () => (await whoami(old)).status === 401, 5000);
    expect((await whoami(old)).json.error.code).to.equal('token_invalid');
    expect((await whoami(await tokenFrom(pem))).status).to.equal(200);
  });

  it('reloads it on SIGHUP (Broker.reload), and keeps the key in force when the new file is bad', async () => {
    const pem = newKeyPem();
    fs.writeFileSync(keyFile, pem); // same inode, maybe the same mtime second: SIGHUP is what tells
    await t.broker.reload();
    const current = await tokenFrom(pem);
    expect((await whoami(current)).status).to.equal(200);
    replaceFile(keyFile, 'not a key');
    await t.broker.reload();
    expect((await whoami(current)).status).to.equal(200);
    expect(t.logs.text).to.match(/admin token signing key refused; keeping the key in force/);
    expect(t.logs.text).to.not.include('not a key');
  });
});
