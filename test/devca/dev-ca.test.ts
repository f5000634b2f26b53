/// <reference types="mocha" />

import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { expect } from 'chai';
import { type DevCaPaths, devNodeSslDir, ensureDevCa, issueDevNode, revokeDevNode } from '../../src/devca/dev-ca';
import { parsePuppetCertificate } from '../../src/tls/certificate';
import { parseCrlBundle } from '../../src/tls/crl-set';
import { TrustStore } from '../../src/tls/trust-store';
import { removeTempDir, tempDir } from '../support/temp';

const DB = { certname: 'db.example.com', extensions: { pp_role: 'database', pp_environment: 'production' } };
const WEB = { certname: 'web.example.com', extensions: { pp_role: 'web', '1.3.6.1.4.1.34380.1.2.1': 'private arc' } };

function nodeFiles(dir: string, certname: string) {
  const ssl = devNodeSslDir(dir, certname);
  return {
    ssl,
    cert: path.join(ssl, 'certs', `${certname}.pem`),
    key: path.join(ssl, 'private_keys', `${certname}.pem`),
    ca: path.join(ssl, 'certs', 'ca.pem'),
    crl: path.join(ssl, 'crl.pem'),
  };
}

const read = (file: string) => fs.readFileSync(file, 'utf8');
const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

/** One HTTPS request through a server built from the dev CA; resolves with the CN the server saw. */
async function handshake(paths: DevCaPaths, client: { cert: string; key: string }, serverCrl?: string): Promise<string> {
  const server = https.createServer(
    {
      cert: read(paths.serverCert),
      key: read(paths.serverKey),
      ca: read(paths.caCert),
      crl: serverCrl,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => res.end((req.socket as TLSSocket).getPeerCertificate().subject.CN),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<string>((resolve, reject) => {
      const req = https.get(
        { host: '127.0.0.1', port, path: '/', ca: read(paths.caCert), cert: read(client.cert), key: read(client.key), agent: false },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('devca/dev-ca', function () {
  this.timeout(60_000);
  let dir: string;
  let paths: DevCaPaths;
  /** The dev CA's fingerprint: CRLs are filed under the CA certificate that signed them. */
  const caFp = () => new X509Certificate(read(paths.caCert)).fingerprint256;
  let firstCaFingerprint: string;

  before(async () => {
    dir = tempDir('devca');
    const result = await ensureDevCa(dir, [DB]);
    paths = result.paths;
    expect(result.created).to.equal(true);
    expect(result.nodes).to.deep.equal(['db.example.com']);
    firstCaFingerprint = new X509Certificate(read(paths.caCert)).fingerprint256;
  });

  after(() => removeTempDir(dir));

  it('writes the CA, its CRL, the server certificate and a Puppet-style node ssldir, keys 0600', () => {
    const db = nodeFiles(dir, 'db.example.com');
    for (const file of [paths.caCert, paths.caKey, paths.crl, paths.serverCert, paths.serverKey, db.cert, db.key, db.ca, db.crl]) {
      expect(fs.existsSync(file), file).to.equal(true);
    }
    expect(modeOf(paths.caKey)).to.equal(0o600);
    expect(modeOf(paths.serverKey)).to.equal(0o600);
    expect(modeOf(db.key)).to.equal(0o600);
    expect(read(db.ca)).to.equal(read(paths.caCert));
    expect(read(db.crl)).to.equal(read(paths.crl));
    expect(read(db.key)).to.match(/^-----BEGIN RSA PRIVATE KEY-----/);
  });

  it('makes a CA certificate fit for signing certificates and CRLs', () => {
    const ca = new X509Certificate(read(paths.caCert));
    expect(ca.ca).to.equal(true);
    expect(ca.checkIssued(ca)).to.equal(true);
    expect(ca.publicKey.asymmetricKeyDetails?.modulusLength).to.equal(2048);
    expect(ca.toLegacyObject().ext_key_usage).to.equal(undefined);
    expect(ca.serialNumber).to.match(/^0*1$/);
  });

  it('issues a server certificate for localhost, 127.0.0.1 and ::1', () => {
    const server = new X509Certificate(read(paths.serverCert));
    expect(server.subject).to.equal('CN=localhost');
    expect(server.subjectAltName).to.equal('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(server.checkHost('localhost')).to.equal('localhost');
    expect(server.checkIP('127.0.0.1')).to.equal('127.0.0.1');
    expect(server.ca).to.equal(false);
  });

  it('issues a node certificate that verifies against ca.pem and matches its key', () => {
    const db = nodeFiles(dir, 'db.example.com');
    const ca = new X509Certificate(read(paths.caCert));
    const cert = new X509Certificate(read(db.cert));
    expect(cert.checkIssued(ca)).to.equal(true);
    expect(cert.verify(ca.publicKey)).to.equal(true);
    expect(cert.checkPrivateKey(createPrivateKey(read(db.key)))).to.equal(true);
    expect(createPublicKey(read(path.join(db.ssl, 'public_keys', 'db.example.com.pem'))).equals(cert.publicKey)).to.equal(true);
    expect(cert.keyUsage).to.include.members(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  });

  it('puts the Puppet extensions into the node certificate', () => {
    const identity = parsePuppetCertificate(new X509Certificate(read(nodeFiles(dir, 'db.example.com').cert)).raw);
    expect(identity.certname).to.equal('db.example.com');
    expect(identity.extensions).to.deep.equal({ pp_role: 'database', pp_environment: 'production' });
    // Node prints a one-attribute DN exactly as canonicalName does.
    expect(identity.issuer).to.equal(new X509Certificate(read(paths.caCert)).subject);
    expect(identity.issuer).to.match(/^CN=Puppet CA: exportfact development CA on /);
  });

  it('is idempotent: a second run keeps the CA, its key and issued nodes, and issues only new nodes', async () => {
    const caKeyBefore = read(paths.caKey);
    const dbCertBefore = read(nodeFiles(dir, 'db.example.com').cert);
    const serverBefore = read(paths.serverCert);
    const again = await ensureDevCa(dir, [DB, WEB]);
    expect(again.created).to.equal(false);
    expect(again.nodes).to.deep.equal(['web.example.com']);
    expect(new X509Certificate(read(paths.caCert)).fingerprint256).to.equal(firstCaFingerprint);
    expect(read(paths.caKey)).to.equal(caKeyBefore);
    expect(read(paths.serverCert)).to.equal(serverBefore);
    expect(read(nodeFiles(dir, 'db.example.com').cert)).to.equal(dbCertBefore);
    const web = parsePuppetCertificate(new X509Certificate(read(nodeFiles(dir, 'web.example.com').cert)).raw);
    expect(web.extensions).to.deep.equal({ pp_role: 'web', '1.3.6.1.4.1.34380.1.2.1': 'private arc' });
    const third = await ensureDevCa(dir, [DB, WEB]);
    expect(third.nodes).to.deep.equal([]);
  });

  it('starts with a valid, empty CRL good for years', async () => {
    const set = await parseCrlBundle(read(paths.crl), new TrustStore(read(paths.caCert)));
    expect(set.crls).to.have.length(1);
    expect(set.crls[0].revokedSerials.size).to.equal(0);
    expect(set.crls[0].nextUpdate!.getTime()).to.be.greaterThan(Date.now() + 4 * 365 * 24 * 3600 * 1000);
  });

  it('completes a real mutual-TLS handshake with a node certificate', async () => {
    const db = nodeFiles(dir, 'db.example.com');
    expect(await handshake(paths, db)).to.equal('db.example.com');
    // OpenSSL itself accepts the forge-made CA's CRL (wrong issuer bytes or signature would fail here).
    expect(await handshake(paths, db, read(paths.crl))).to.equal('db.example.com');
  });

  it('issueDevNode adds a node to an existing CA and keeps an already issued one', async () => {
    const ssl = await issueDevNode(dir, { certname: 'extra.example.com', extensions: { pp_environment: 'staging' } });
    expect(ssl).to.equal(devNodeSslDir(dir, 'extra.example.com'));
    const first = read(nodeFiles(dir, 'extra.example.com').cert);
    expect(parsePuppetCertificate(new X509Certificate(first).raw).extensions).to.deep.equal({ pp_environment: 'staging' });
    await issueDevNode(dir, { certname: 'extra.example.com' });
    expect(read(nodeFiles(dir, 'extra.example.com').cert)).to.equal(first);
  });

  it('revokeDevNode lists the serial in a re-signed crl.pem that validates, and refreshes node ssldirs', async () => {
    const web = nodeFiles(dir, 'web.example.com');
    const identity = parsePuppetCertificate(new X509Certificate(read(web.cert)).raw);
    const before = await parseCrlBundle(read(paths.crl), new TrustStore(read(paths.caCert)));
    await revokeDevNode(dir, 'web.example.com');
    const after = await parseCrlBundle(read(paths.crl), new TrustStore(read(paths.caCert)));
    expect(after.isRevoked(caFp(), identity.serial)).to.equal(true);
    expect(Number(after.crls[0].crlNumber)).to.equal(Number(before.crls[0].crlNumber) + 1);
    const db = parsePuppetCertificate(new X509Certificate(read(nodeFiles(dir, 'db.example.com').cert)).raw);
    expect(after.isRevoked(caFp(), db.serial)).to.equal(false);
    expect(read(web.crl)).to.equal(read(paths.crl));
    expect(read(nodeFiles(dir, 'db.example.com').crl)).to.equal(read(paths.crl));
    // OpenSSL refuses the revoked node once it is given the new CRL, and still admits the others.
    const refused = await handshake(paths, web, read(paths.crl)).then(
      () => 'accepted',
      (err: Error) => err.message,
    );
    expect(refused).to.match(/certificate revoked|socket hang up|ECONNRESET|alert/i);
    expect(await handshake(paths, nodeFiles(dir, 'db.example.com'), read(paths.crl))).to.equal('db.example.com');
    // Revoking twice changes nothing.
    const crlBefore = read(paths.crl);
    await revokeDevNode(dir, 'web.example.com');
    expect(read(paths.crl)).to.equal(crlBefore);
  });

  it('re-issues a revoked node with a new serial', async () => {
    const oldSerial = parsePuppetCertificate(new X509Certificate(read(nodeFiles(dir, 'web.example.com').cert)).raw).serial;
    await issueDevNode(dir, WEB);
    const renewed = parsePuppetCertificate(new X509Certificate(read(nodeFiles(dir, 'web.example.com').cert)).raw);
    expect(renewed.serial).to.not.equal(oldSerial);
    const set = await parseCrlBundle(read(paths.crl), new TrustStore(read(paths.caCert)));
    expect(set.isRevoked(caFp(), renewed.serial)).to.equal(false);
  });

  it('refuses bad input with clear errors', async () => {
    const empty = tempDir('devca-empty');
    try {
      const noCa = await issueDevNode(empty, DB).then(
        () => null,
        (err: Error) => err,
      );
      expect(noCa?.message).to.match(/no complete development CA/);
    } finally {
      removeTempDir(empty);
    }
    const missing = path.join(os.tmpdir(), `exportfact-devca-missing-${process.pid}`);
    const noDir = await revokeDevNode(missing, 'db.example.com').then(
      () => null,
      (err: Error) => err,
    );
    expect(noDir?.message).to.match(/folder does not exist/);
    expect(fs.existsSync(missing)).to.equal(false);
    const badName = await ensureDevCa(dir, [{ certname: '../escape' }]).then(
      () => null,
      (err: Error) => err,
    );
    expect(badName?.message).to.match(/"\.\.\/escape" is not a Puppet certname/);
    const unknown = await revokeDevNode(dir, 'never.example.com').then(
      () => null,
      (err: Error) => err,
    );
    expect(unknown?.message).to.match(/never issued a certificate to never\.example\.com/);
    const badExt = await issueDevNode(dir, { certname: 'x.example.com', extensions: { pp_bogus: '1' } }).then(
      () => null,
      (err: Error) => err,
    );
    expect(badExt?.message).to.match(/unknown Puppet certificate extension name "pp_bogus"/);
    const outside = await issueDevNode(dir, { certname: 'y.example.com', extensions: { '1.2.3.4': 'v' } }).then(
      () => null,
      (err: Error) => err,
    );
    expect(outside?.message).to.match(/outside Puppet's OID arc/);
  });

  it('never overwrites a half-made CA', async () => {
    const half = tempDir('devca-half');
    try {
      fs.writeFileSync(path.join(half, 'ca_key.pem'), 'placeholder');
      const err = await ensureDevCa(half, []).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).to.match(/no complete development CA/);
      expect(read(path.join(half, 'ca_key.pem'))).to.equal('placeholder');
    } finally {
      removeTempDir(half);
    }
  });
});
