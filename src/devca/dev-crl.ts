// The development CA's CRL. node-forge cannot write CRLs, so @peculiar/x509 signs it
// with the forge-made CA key imported into WebCrypto.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { type CaMaterial, caKeyPkcs8Der } from './forge-issuer';

const crypto = webcrypto as unknown as Crypto;
const CRL_LIFETIME_MS = 5 * 365 * 24 * 60 * 60 * 1000;
const RSA_SHA256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };

export interface RevokedEntry {
  serial: string;
  revokedAt: Date;
}

function derPositiveInteger(value: number): Uint8Array<ArrayBuffer> {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (parseInt(hex.slice(0, 1), 16) >= 8) hex = `00${hex}`;
  const content = Buffer.from(hex, 'hex');
  return new Uint8Array([0x02, content.length, ...content]);
}

export async function signDevCrl(
  ca: CaMaterial,
  caCertPem: string,
  crlNumber: number,
  revoked: RevokedEntry[],
  now: Date,
): Promise<string> {
  const caCert = new x509.X509Certificate(caCertPem);
  const signingKey = await crypto.subtle.importKey('pkcs8', new Uint8Array(caKeyPkcs8Der(ca)), RSA_SHA256, false, ['sign']);
  const caKeyId = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const crl = await x509.X509CrlGenerator.create(
    {
      // The issuer name re-encoded from the CA certificate's own bytes, so OpenSSL's
      // byte-wise issuer match finds the CA.
      issuer: caCert.subjectName,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + CRL_LIFETIME_MS),
      entries: revoked.map((entry) => ({
        serialNumber: entry.serial.length % 2 ? `0${entry.serial}` : entry.serial,
        revocationDate: entry.revokedAt,
      })),
      extensions: [
        new x509.Extension('2.5.29.20', false, derPositiveInteger(crlNumber)),
        ...(caKeyId ? [new x509.AuthorityKeyIdentifierExtension(caKeyId)] : []),
      ],
      signingAlgorithm: RSA_SHA256,
      signingKey,
    },
    crypto,
  );
  // peculiar's own PEM label is "CRL"; OpenSSL and Puppet use "X509 CRL".
  return x509.PemConverter.encode(crl.rawData, 'X509 CRL');
}
