/** The test PKI's server side as files, for brokers run as processes (`exportfact serve`). */
import type { TestPki } from './pki';
import { writePrivate } from './temp';

export interface ServerTlsFiles {
  ca: string;
  crl: string;
  cert: string;
  key: string;
}

/** Writes the CA bundle, the CRL bundle, the server certificate and its key into dir (0600). */
export function writeServerTls(pki: TestPki, dir: string): ServerTlsFiles {
  return {
    ca: writePrivate(dir, 'ca.pem', pki.caBundlePem),
    crl: writePrivate(dir, 'crl.pem', pki.crlBundlePem),
    cert: writePrivate(dir, 'server.pem', pki.server.certPem),
    key: writePrivate(dir, 'server_key.pem', pki.server.keyPem),
  };
}

/** `--ca … [--crl …] --cert … --key …` over files written into dir; the CRL only when asked. */
export function serveTlsArgs(pki: TestPki, dir: string, opts: { crl?: boolean } = {}): string[] {
  const f = writeServerTls(pki, dir);
  return ['--ca', f.ca, ...(opts.crl ? ['--crl', f.crl] : []), '--cert', f.cert, '--key', f.key];
}
