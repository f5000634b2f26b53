// A development CA shaped like Puppet's: one CA, its CRL, a broker certificate for
// localhost and a Puppet-style ssldir per node, so the broker and the Puppet module can
// be tried without a Puppet server. Not for production: there, use the Puppet CA.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { ConfigError } from '../errors/config-error';
import { certnameProblem } from '../schemas/certname';
import { type CaState, currentCertOf, type IssuedCert, initialCaState, readCaState, takeSerial, writeCaState } from './ca-state';
import { signDevCrl } from './dev-crl';
import { createFile, exists, PRIVATE_FILE_MODE, PUBLIC_FILE_MODE, replaceFile } from './files';
import { type CaMaterial, createCaCertificate, type IssuedKeyPair, issueLeafCertificate, loadCa } from './forge-issuer';

export interface DevCaPaths {
  dir: string;
  caCert: string;
  caKey: string;
  crl: string;
  serverCert: string;
  serverKey: string;
}

export interface DevNodeOptions {
  certname: string;
  /** Puppet extensions by short name (pp_role, pp_environment, ...) or dotted OID under 1.3.6.1.4.1.34380. */
  extensions?: Record<string, string>;
}

interface LoadedCa {
  paths: DevCaPaths;
  stateFile: string;
  state: CaState;
  ca: CaMaterial;
  caCertPem: string;
}

const SERVER_CERTNAME = 'localhost';
// Puppet's certname rule, and it keeps a certname from escaping dir/nodes/.

export function devCaPaths(dir: string): DevCaPaths {
  const root = path.resolve(dir);
  return {
    dir: root,
    caCert: path.join(root, 'ca.pem'),
    caKey: path.join(root, 'ca_key.pem'),
    crl: path.join(root, 'crl.pem'),
    serverCert: path.join(root, 'server.pem'),
    serverKey: path.join(root, 'server_key.pem'),
  };
}

/** A node's ssldir, laid out as Puppet's (certs/, private_keys/, public_keys/, crl.pem). */
export function devNodeSslDir(dir: string, certname: string): string {
  return path.join(path.resolve(dir), 'nodes', certname);
}

function stateFileOf(paths: DevCaPaths): string {
  return path.join(paths.dir, 'serials.json');
}

/**
 * Serialises every change to one CA folder, across processes too (`exportfact serve
 * --dev-ca` and `exportfact ca revoke` may run at once): two writers would hand out one
 * serial twice or lose a revocation.
 */
async function withCaLock<T>(dir: string, work: () => Promise<T>, create = false): Promise<T> {
  if (create) await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  else if (!(await exists(dir)))
    throw new ConfigError(`no complete development CA in ${dir} (the folder does not exist); run \`exportfact ca init\` first`);
  const release = await lockfile.lock(dir, {
    lockfilePath: path.join(dir, '.devca.lock'),
    realpath: false,
    retries: { retries: 50, minTimeout: 20, maxTimeout: 500 },
  });
  try {
    return await work();
  } finally {
    await release();
  }
}

export async function ensureDevCa(dir: string, nodes: DevNodeOptions[]): Promise<{ paths: DevCaPaths; created: boolean; nodes: string[] }> {
  for (const node of nodes) assertCertname(node.certname);
  const paths = devCaPaths(dir);
  return withCaLock(
    paths.dir,
    async () => {
      const created = !(await exists(paths.caCert)) && !(await exists(paths.caKey));
      const loaded = created ? await createCa(paths) : await openCa(paths);
      if (!currentCertOf(loaded.state, SERVER_CERTNAME, 'server') || !(await exists(paths.serverCert))) {
        await issueServer(loaded);
      }
      const issued: string[] = [];
      for (const node of nodes) {
        if (await issueNodeUnlessPresent(loaded, node)) issued.push(node.certname);
      }
      return { paths, created, nodes: issued };
    },
    true,
  );
}

/** Issues a node certificate into its ssldir; a node that already holds a valid one keeps it. */
export async function issueDevNode(dir: string, node: DevNodeOptions): Promise<string> {
  assertCertname(node.certname);
  const paths = devCaPaths(dir);
  return withCaLock(paths.dir, async () => {
    await issueNodeUnlessPresent(await openCa(paths), node);
    return devNodeSslDir(paths.dir, node.certname);
  });
}

/** Revokes every valid certificate of the node; revoking an already revoked node changes nothing. */
export async function revokeDevNode(dir: string, certname: string): Promise<void> {
  assertCertname(certname);
  const paths = devCaPaths(dir);
  await withCaLock(paths.dir, async () => {
    const loaded = await openCa(paths);
    const ofNode = loaded.state.issued.filter((c) => c.certname === certname && c.kind === 'node');
    if (ofNode.length === 0)
      throw new ConfigError(`the development CA in ${paths.dir} never issued a certificate to ${certname}; nothing to revoke`);
    const current = ofNode.filter((c) => c.revokedAt === null);
    if (current.length === 0) return;
    const now = new Date().toISOString();
    for (const cert of current) cert.revokedAt = now;
    loaded.state.crlNumber += 1;
    await writeCaState(loaded.stateFile, loaded.state);
    await publishCrl(loaded);
  });
}

function assertCertname(certname: string): void {
  const problem = certnameProblem('certname', certname);
  if (problem) throw new ConfigError(problem);
}

async function createCa(paths: DevCaPaths): Promise<LoadedCa> {
  const state = initialCaState();
  const now = new Date();
  const serial = takeSerial(state);
  const caPair = await createCaCertificate(`Puppet CA: exportfact development CA on ${os.hostname()}`, serial, now);
  // Key first and create-only: a half-made CA is refused on the next run, never overwritten.
  await createFile(paths.caKey, caPair.keyPem, PRIVATE_FILE_MODE);
  await createFile(paths.caCert, caPair.certPem, PUBLIC_FILE_MODE);
  state.issued.push({ certname: 'ca', kind: 'ca', serial, issuedAt: now.toISOString(), revokedAt: null });
  const loaded: LoadedCa = {
    paths,
    stateFile: stateFileOf(paths),
    state,
    ca: loadCa(caPair.certPem, caPair.keyPem),
    caCertPem: caPair.certPem,
  };
  await writeCaState(loaded.stateFile, state);
  await publishCrl(loaded);
  return loaded;
}

async function openCa(paths: DevCaPaths): Promise<LoadedCa> {
  if (!(await exists(paths.caCert)) || !(await exists(paths.caKey))) {
    throw new ConfigError(`no complete development CA in ${paths.dir} (need ca.pem and ca_key.pem); run \`exportfact ca init\` first`);
  }
  const caCertPem = await fs.readFile(paths.caCert, 'utf8');
  const caKeyPem = await fs.readFile(paths.caKey, 'utf8');
  let ca: CaMaterial;
  try {
    ca = loadCa(caCertPem, caKeyPem);
  } catch (err) {
    // forge's message names the PEM part it choked on, never the key material.
    throw new Error(`development CA in ${paths.dir} is unreadable: ${(err as Error).message}`);
  }
  const stateFile = stateFileOf(paths);
  return { paths, stateFile, state: await readCaState(stateFile), ca, caCertPem };
}

async function recordIssue(
  loaded: LoadedCa,
  certname: string,
  kind: IssuedCert['kind'],
  issue: (serial: string) => Promise<IssuedKeyPair>,
): Promise<IssuedKeyPair> {
  const serial = takeSerial(loaded.state);
  const pair = await issue(serial);
  loaded.state.issued.push({ certname, kind, serial, issuedAt: new Date().toISOString(), revokedAt: null });
  // State before files: a crash in between wastes a serial instead of reusing one.
  await writeCaState(loaded.stateFile, loaded.state);
  return pair;
}

async function issueServer(loaded: LoadedCa): Promise<void> {
  const pair = await recordIssue(loaded, SERVER_CERTNAME, 'server', (serial) =>
    issueLeafCertificate(loaded.ca, {
      certname: SERVER_CERTNAME,
      serial,
      now: new Date(),
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1', '::1'],
    }),
  );
  await replaceFile(loaded.paths.serverKey, pair.keyPem, PRIVATE_FILE_MODE);
  await replaceFile(loaded.paths.serverCert, pair.certPem, PUBLIC_FILE_MODE);
}

/** Returns whether a certificate was issued. */
async function issueNodeUnlessPresent(loaded: LoadedCa, node: DevNodeOptions): Promise<boolean> {
  const sslDir = devNodeSslDir(loaded.paths.dir, node.certname);
  const certFile = path.join(sslDir, 'certs', `${node.certname}.pem`);
  if (currentCertOf(loaded.state, node.certname, 'node') && (await exists(certFile))) return false;
  const pair = await recordIssue(loaded, node.certname, 'node', (serial) =>
    issueLeafCertificate(loaded.ca, { certname: node.certname, serial, now: new Date(), extensions: node.extensions }),
  );
  await fs.mkdir(path.join(sslDir, 'private_keys'), { recursive: true, mode: 0o700 });
  await replaceFile(path.join(sslDir, 'private_keys', `${node.certname}.pem`), pair.keyPem, PRIVATE_FILE_MODE);
  await replaceFile(path.join(sslDir, 'public_keys', `${node.certname}.pem`), pair.publicKeyPem, PUBLIC_FILE_MODE);
  await replaceFile(certFile, pair.certPem, PUBLIC_FILE_MODE);
  await replaceFile(path.join(sslDir, 'certs', 'ca.pem'), loaded.caCertPem, PUBLIC_FILE_MODE);
  await replaceFile(path.join(sslDir, 'crl.pem'), await fs.readFile(loaded.paths.crl, 'utf8'), PUBLIC_FILE_MODE);
  return true;
}

/** Signs the CRL from the state and copies it into every node ssldir, as an agent's crl.pem. */
async function publishCrl(loaded: LoadedCa): Promise<void> {
  const revoked = loaded.state.issued
    .filter((c) => c.revokedAt !== null)
    .map((c) => ({ serial: c.serial, revokedAt: new Date(c.revokedAt!) }));
  const crlPem = await signDevCrl(loaded.ca, loaded.caCertPem, loaded.state.crlNumber, revoked, new Date());
  await replaceFile(loaded.paths.crl, crlPem, PUBLIC_FILE_MODE);
  const nodesDir = path.join(loaded.paths.dir, 'nodes');
  const nodeDirs = (await exists(nodesDir)) ? await fs.readdir(nodesDir, { withFileTypes: true }) : [];
  for (const entry of nodeDirs) {
    if (entry.isDirectory()) await replaceFile(path.join(nodesDir, entry.name, 'crl.pem'), crlPem, PUBLIC_FILE_MODE);
  }
}
