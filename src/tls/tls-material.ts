import crypto from 'node:crypto';
import path from 'node:path';
import { ConfigError } from '../errors/config-error';
import { readOptionFile } from '../files/file-errors';
import { TrustStore } from './trust-store';

export interface TlsFiles {
  ca: string;
  crl?: string;
  cert: string;
  key: string;
}

export interface TlsMaterial {
  caPem: string;
  /** The CA bundle, parsed and checked: the only CAs a client path may run through. */
  trust: TrustStore;
  crlPem?: string;
  certPem: string;
  keyPem: string;
  files: TlsFiles;
}

/** The four files of a Puppet ssldir, the same paths Puppet's own settings resolve to. */
export function filesFromSsldir(ssldir: string, certname: string): TlsFiles {
  return {
    ca: path.join(ssldir, 'certs', 'ca.pem'),
    crl: path.join(ssldir, 'crl.pem'),
    cert: path.join(ssldir, 'certs', `${certname}.pem`),
    key: path.join(ssldir, 'private_keys', `${certname}.pem`),
  };
}

/** Reads and checks the broker's TLS files; every failure is one line naming the file. */
export function loadTlsMaterial(files: TlsFiles): TlsMaterial {
  const caPem = readOptionFile('--ca', files.ca);
  const certPem = readOptionFile('--cert', files.cert);
  const keyPem = readOptionFile('--key', files.key);
  const crlPem = files.crl ? readOptionFile('--crl', files.crl) : undefined;

  if (!/-----BEGIN CERTIFICATE-----/.test(caPem)) throw new ConfigError(`--ca ${files.ca} holds no PEM certificate`);
  let trust: TrustStore;
  try {
    trust = new TrustStore(caPem);
  } catch (err) {
    throw new ConfigError(`--ca ${files.ca}: ${(err as Error).message}`);
  }
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(certPem);
  } catch {
    throw new ConfigError(`--cert ${files.cert} is not a PEM certificate`);
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(keyPem);
  } catch {
    // The key's content is never echoed: it is the broker's private key.
    throw new ConfigError(`--key ${files.key} is not a readable PEM private key`);
  }
  if (!cert.checkPrivateKey(key)) {
    throw new ConfigError(`--key ${files.key} does not match the certificate in --cert ${files.cert}`);
  }
  return { caPem, trust, crlPem, certPem, keyPem, files };
}
