// Many distinct client certificates, cheaply (issue 14, item 3: a 100,000-node fleet). One
// P-256 CA; one template leaf made with @peculiar/x509; every further certificate is the
// template's to-be-signed bytes with its certname digits and serial overwritten (same lengths,
// so no DER length changes) and signed again with node:crypto: ~20 µs each instead of a key
// pair and an asn1js tree. All certificates share one key pair: the broker's work per
// handshake (verifying the client's signature with its public key) is the same.
import 'reflect-metadata';
import { createPrivateKey, randomBytes, sign, webcrypto } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { puppetExtensionOid } from '../src/tls/certificate';
import { utf8StringDer } from '../test/support/pki';

const crypto = webcrypto as unknown as Crypto;
const DAY_MS = 24 * 60 * 60 * 1000;
const EC = { name: 'ECDSA', namedCurve: 'P-256' };
const EC_SIGNING = { name: 'ECDSA', hash: 'SHA-256' };
const DIGITS = 7;

export interface FleetPki {
  caFile: string;
  caPem: string;
  crlFile: string;
  server: { cert: string; key: string };
  /** The one client key every fleet certificate holds. */
  keyPem: string;
  /** Base64 DER certificates, one a line; line i is certname fleetName(i). */
  certsFile: string;
  count: number;
}

export const fleetName = (i: number) => `n${String(i).padStart(DIGITS, '0')}.fleet.bench`;

const pem = async (key: CryptoKey) => x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, content: Buffer) => Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);

/** The content start and end of the element at `at` (short or long length form). */
function contentOf(der: Buffer, at: number): { start: number; end: number } {
  let len = der[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i];
    start += n;
  }
  return { start, end: start + len };
}

/** Makes (or finds, from an earlier run with the same count, in `dir`) the fleet's PKI. */
export async function fleetPki(parent: string, count: number, environment: string): Promise<FleetPki> {
  // One folder per count and environment: a set is only ever reused whole (CA, keys and certificates).
  const dir = path.join(parent, `${count}-${environment}`);
  fs.mkdirSync(dir, { recursive: true });
  const files = {
    caFile: path.join(dir, 'ca.pem'),
    crlFile: path.join(dir, 'crl.pem'),
    server: { cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server-key.pem') },
    key: path.join(dir, 'client-key.pem'),
    certsFile: path.join(dir, 'certs.b64'),
  };
  if (fs.existsSync(files.certsFile) && fs.existsSync(files.key)) {
    return {
      ...files,
      caPem: fs.readFileSync(files.caFile, 'utf8'),
      keyPem: fs.readFileSync(files.key, 'utf8'),
      count,
    };
  }
  const caKeys = (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: '01',
      name: 'CN=Puppet CA: fleet.bench',
      keys: caKeys,
      signingAlgorithm: EC_SIGNING,
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + 3650 * DAY_MS),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const leaf = async (certname: string, publicKey: CryptoKey, serialNumber: string, extensions: x509.Extension[]) =>
    x509.X509CertificateGenerator.create(
      {
        serialNumber,
        subject: `CN=${certname}`,
        issuer: ca.subjectName,
        notBefore: new Date(Date.now() - DAY_MS),
        notAfter: new Date(Date.now() + 365 * DAY_MS),
        publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: EC_SIGNING,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
          await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
          ...extensions,
        ],
      },
      crypto,
    );
  const serverKeys = (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const server = await leaf('localhost', serverKeys.publicKey, '02', [
    new x509.SubjectAlternativeNameExtension([
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
    ]),
  ]);
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: ca.subjectName,
      thisUpdate: new Date(Date.now() - 60_000),
      nextUpdate: new Date(Date.now() + 30 * DAY_MS),
      entries: [],
      signingAlgorithm: EC_SIGNING,
      signingKey: caKeys.privateKey,
      extensions: [new x509.Extension('2.5.29.20', false, new Uint8Array([0x02, 0x01, 0x01]))],
    },
    crypto,
  );
  const clientKeys = (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  // Serial: 16 bytes, first byte 0x10-0x7f (positive, fixed length); bytes 12-15 carry the index.
  const template = Buffer.from(
    (
      await leaf(fleetName(0), clientKeys.publicKey, `10${'00'.repeat(15)}`, [
        new x509.Extension(puppetExtensionOid('pp_environment'), false, utf8StringDer(environment)),
      ])
    ).rawData,
  );
  const tbsAt = contentOf(template, 0).start;
  const tbs = contentOf(template, tbsAt);
  const tbsBytes = template.subarray(tbsAt, tbs.end);
  const sigAlg = (() => {
    const at = tbs.end;
    return template.subarray(at, contentOf(template, at).end);
  })();
  const nameAt = tbsBytes.indexOf(Buffer.from(fleetName(0)));
  const serialAt = tbsBytes.indexOf(Buffer.from([0x02, 0x10, 0x10, ...Array(15).fill(0)]));
  if (nameAt < 0 || serialAt < 0) throw new Error('fleet template: certname or serial not found');
  const caKey = createPrivateKey(await pem(caKeys.privateKey));
  const out = fs.openSync(files.certsFile, 'w');
  const salt = randomBytes(8); // serials differ between runs, as a CA's would
  let lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const t = Buffer.from(tbsBytes);
    t.write(String(i).padStart(DIGITS, '0'), nameAt + 1, 'latin1');
    salt.copy(t, serialAt + 2 + 4);
    t.writeUInt32BE(i, serialAt + 2 + 12);
    const signature = sign('sha256', t, { key: caKey, dsaEncoding: 'der' });
    const cert = tlv(0x30, Buffer.concat([t, sigAlg, tlv(0x03, Buffer.concat([Buffer.from([0]), signature]))]));
    lines.push(cert.toString('base64'));
    if (lines.length === 5000) {
      fs.writeSync(out, `${lines.join('\n')}\n`);
      lines = [];
    }
  }
  if (lines.length) fs.writeSync(out, `${lines.join('\n')}\n`);
  fs.closeSync(out);
  const caPem = ca.toString('pem');
  fs.writeFileSync(files.caFile, caPem);
  fs.writeFileSync(files.crlFile, x509.PemConverter.encode(crl.rawData, 'X509 CRL'));
  fs.writeFileSync(files.server.cert, server.toString('pem'));
  fs.writeFileSync(files.server.key, await pem(serverKeys.privateKey), { mode: 0o600 });
  const keyPem = await pem(clientKeys.privateKey);
  fs.writeFileSync(files.key, keyPem, { mode: 0o600 });
  return { ...files, caPem, keyPem, count };
}

/** Certificate i of the file as PEM. */
export const certPem = (b64: string) =>
  `-----BEGIN CERTIFICATE-----\n${b64.replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END CERTIFICATE-----\n`;
