// What the development CA remembers between runs: the next serial, the CRL number and
// every certificate it issued, so a revocation can name the serial and a re-run does
// not issue a second certificate to the same node.
import { promises as fs } from 'node:fs';
import { PUBLIC_FILE_MODE, replaceFile } from './files';

export interface IssuedCert {
  certname: string;
  kind: 'ca' | 'server' | 'node';
  /** canonicalSerial form (lowercase hex, no leading zeros). */
  serial: string;
  issuedAt: string;
  revokedAt: string | null;
}

export interface CaState {
  version: 1;
  nextSerial: number;
  crlNumber: number;
  issued: IssuedCert[];
}

export function initialCaState(): CaState {
  // Serial 1 is the CA itself, as with Puppet's CA.
  return { version: 1, nextSerial: 1, crlNumber: 1, issued: [] };
}

export async function readCaState(file: string): Promise<CaState> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new Error(
      `development CA state ${file} is missing or unreadable (${(err as NodeJS.ErrnoException).code}); was this CA made by exportfact?`,
    );
  }
  const state = JSON.parse(text) as CaState;
  if (state.version !== 1 || !Number.isSafeInteger(state.nextSerial) || !Array.isArray(state.issued)) {
    throw new Error(`development CA state ${file} is not in a format this version understands`);
  }
  return state;
}

export function writeCaState(file: string, state: CaState): Promise<void> {
  return replaceFile(file, `${JSON.stringify(state, null, 2)}\n`, PUBLIC_FILE_MODE);
}

/** Takes the next serial and returns it as canonical hex. */
export function takeSerial(state: CaState): string {
  const serial = state.nextSerial;
  state.nextSerial += 1;
  return serial.toString(16);
}

export function currentCertOf(state: CaState, certname: string, kind: IssuedCert['kind']): IssuedCert | undefined {
  return state.issued.find((c) => c.certname === certname && c.kind === kind && c.revokedAt === null);
}
