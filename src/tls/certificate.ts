// Identity of a peer, read from its Puppet certificate.
//
// The certificate's fields are found with a small DER reader (./der.ts): parsing the whole
// certificate with @peculiar/x509 cost more than the TLS handshake, once per new node, and
// OpenSSL has parsed and verified it by then. Names are still read with @peculiar/x509
// (node-forge cannot read EC certificates), so their string form is the one used everywhere.
import 'reflect-metadata';
import { Name } from '@peculiar/x509';
import * as asn1js from 'asn1js';
import { certnameProblem } from '../schemas/certname';
import { environmentProblem } from '../schemas/environment';
import { type CertificateFields, certificateFields } from './der';

/** Puppet's enterprise arc; only extensions below it describe a node. */
export const PUPPET_ARC = '1.3.6.1.4.1.34380';

export interface PeerIdentity {
  /** Subject CN: Puppet's certname. */
  certname: string;
  /** Puppet extensions by short name (pp_role, ...); Puppet-arc OIDs without a short name by dotted OID. */
  extensions: Record<string, string>;
  /** See canonicalSerial: lowercase hex of the integer, no leading zeros ("0" for zero). */
  serial: string;
  /** See canonicalName: the issuer DN as a string, comparable with CrlInfo.issuer. */
  issuer: string;
  notAfter: Date;
}

// Copied from Puppet's lib/puppet/ssl/oids.rb (PUPPET_OIDS), which puppetserver mirrors.
const PUPPET_SHORT_NAMES: ReadonlyArray<readonly [string, string]> = [
  ['1.3.6.1.4.1.34380.1.1.1', 'pp_uuid'],
  ['1.3.6.1.4.1.34380.1.1.2', 'pp_instance_id'],
  ['1.3.6.1.4.1.34380.1.1.3', 'pp_image_name'],
  ['1.3.6.1.4.1.34380.1.1.4', 'pp_preshared_key'],
  ['1.3.6.1.4.1.34380.1.1.5', 'pp_cost_center'],
  ['1.3.6.1.4.1.34380.1.1.6', 'pp_product'],
  ['1.3.6.1.4.1.34380.1.1.7', 'pp_project'],
  ['1.3.6.1.4.1.34380.1.1.8', 'pp_application'],
  ['1.3.6.1.4.1.34380.1.1.9', 'pp_service'],
  ['1.3.6.1.4.1.34380.1.1.10', 'pp_employee'],
  ['1.3.6.1.4.1.34380.1.1.11', 'pp_created_by'],
  ['1.3.6.1.4.1.34380.1.1.12', 'pp_environment'],
  ['1.3.6.1.4.1.34380.1.1.13', 'pp_role'],
  ['1.3.6.1.4.1.34380.1.1.14', 'pp_software_version'],
  ['1.3.6.1.4.1.34380.1.1.15', 'pp_department'],
  ['1.3.6.1.4.1.34380.1.1.16', 'pp_cluster'],
  ['1.3.6.1.4.1.34380.1.1.17', 'pp_provisioner'],
  ['1.3.6.1.4.1.34380.1.1.18', 'pp_region'],
  ['1.3.6.1.4.1.34380.1.1.19', 'pp_datacenter'],
  ['1.3.6.1.4.1.34380.1.1.20', 'pp_zone'],
  ['1.3.6.1.4.1.34380.1.1.21', 'pp_network'],
  ['1.3.6.1.4.1.34380.1.1.22', 'pp_securitypolicy'],
  ['1.3.6.1.4.1.34380.1.1.23', 'pp_cloudplatform'],
  ['1.3.6.1.4.1.34380.1.1.24', 'pp_apptier'],
  ['1.3.6.1.4.1.34380.1.1.25', 'pp_hostname'],
  ['1.3.6.1.4.1.34380.1.1.26', 'pp_owner'],
  ['1.3.6.1.4.1.34380.1.3.1', 'pp_authorization'],
  ['1.3.6.1.4.1.34380.1.3.2', 'pp_auth_auto_renew'],
  ['1.3.6.1.4.1.34380.1.3.13', 'pp_auth_role'],
  ['1.3.6.1.4.1.34380.1.3.39', 'pp_cli_auth'],
];
const NAME_BY_OID = new Map(PUPPET_SHORT_NAMES.map(([oid, name]) => [oid, name]));
const OID_BY_NAME = new Map(PUPPET_SHORT_NAMES.map(([oid, name]) => [name, oid]));
const DOTTED_OID = /^[0-2](\.(0|[1-9][0-9]*))+$/;

export function puppetExtensionName(oid: string): string {
  return NAME_BY_OID.get(oid) ?? oid;
}

export function puppetExtensionOid(name: string): string {
  const oid = OID_BY_NAME.get(name);
  if (oid !== undefined) return oid;
  if (DOTTED_OID.test(name)) return name;
  throw new Error(`unknown Puppet certificate extension name "${name}" (expected a pp_* short name or a dotted OID)`);
}

export function isPuppetArcOid(oid: string): boolean {
  return oid.startsWith(`${PUPPET_ARC}.`);
}

/**
 * The one serial form used across exportfact: lowercase hex of the integer value with
 * every leading zero removed ("0" for zero). Accepts any hex spelling (upper case,
 * colons, a DER sign byte 00, Node's even-length "0A1B") so callers never need to know
 * where a serial came from.
 */
export function canonicalSerial(hex: string): string {
  const digits = hex.replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(digits)) throw new Error(`serial number is not hexadecimal: "${hex}"`);
  return digits.replace(/^0+/, '') || '0';
}

/**
 * The one DN string form used to match certificates, CA certificates and CRLs:
 * RFC 4514-style "CN=..., O=..." in DER order, as @peculiar/x509 prints it. Values are
 * decoded, so a PrintableString and a UTF8String of the same text compare equal.
 */
export function canonicalName(name: Name | BufferSource): string {
  return (name instanceof Name ? name : new Name(name)).toString();
}

/**
 * Issuer names by their DER: a fleet has a handful of issuers, and parsing the name again for
 * every new node was a tenth of a first contact. Bounded: names come from client certificates
 * (any the CA bundle verified, but still).
 */
const issuerNames = new Map<string, string>();
function issuerName(der: Uint8Array): string {
  const key = Buffer.from(der).toString('base64');
  let name = issuerNames.get(key);
  if (name === undefined) {
    name = canonicalName(new Uint8Array(der));
    if (issuerNames.size >= 64) issuerNames.clear();
    issuerNames.set(key, name);
  }
  return name;
}

/** C0 controls and DEL: no extension value Puppet writes holds one, and a NUL cannot be stored. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

export function parsePuppetCertificate(der: Buffer): PeerIdentity {
  if (!der || der.length === 0) throw new Error('peer certificate is empty');
  let cert: CertificateFields;
  let subject: Name;
  let issuer: string;
  try {
    cert = certificateFields(der);
    // copies: peculiar wants plain ArrayBuffers
    subject = new Name(new Uint8Array(cert.subject));
    issuer = issuerName(cert.issuer);
  } catch (err) {
    throw new Error(`peer certificate is not a valid DER X.509 certificate: ${(err as Error).message}`);
  }
  const extensions = puppetExtensionsOf(cert);
  const environment = extensions.pp_environment;
  const environmentWrong = environment === undefined ? null : environmentProblem('pp_environment', environment);
  if (environmentWrong) throw new Error(environmentWrong);
  return {
    certname: certnameOf(subject),
    extensions,
    serial: canonicalSerial(cert.serialHex),
    issuer,
    notAfter: cert.notAfter,
  };
}

function certnameOf(subject: Name): string {
  const commonNames = subject.getField('CN');
  // Two CNs would make the identity depend on which one a reader picks.
  if (commonNames.length !== 1 || commonNames[0] === '') {
    throw new Error(`peer certificate subject must hold exactly one non-empty CN, found ${commonNames.length} in "${subject.toString()}"`);
  }
  const certname = commonNames[0];
  const problem = certnameProblem('peer certificate CN', certname);
  if (problem) throw new Error(problem);
  return certname;
}

/** A map without a prototype: extension names come from the certificate. */
function puppetExtensionsOf(cert: CertificateFields): Record<string, string> {
  const extensions: Record<string, string> = Object.create(null);
  for (const extension of cert.extensions) {
    if (!isPuppetArcOid(extension.oid)) continue;
    const key = puppetExtensionName(extension.oid);
    // RFC 5280 forbids repeats; accepting one would let the reader's order pick a role.
    if (key in extensions) throw new Error(`peer certificate carries extension ${key} more than once`);
    let value: string;
    try {
      value = decodeExtensionString(extension.value);
    } catch (err) {
      throw new Error(`peer certificate extension ${key}: ${(err as Error).message}`);
    }
    if (CONTROL_CHARACTER.test(value) || value.includes('\ufffd')) {
      throw new Error(`peer certificate extension ${key} holds a control character or bytes that are not text`);
    }
    extensions[key] = value;
  }
  return extensions;
}

// DER string types Puppet (and older Puppet) put into extension values.
const STRING_TAGS = new Set([
  12, // UTF8String: Puppet since 3.x
  19, // PrintableString
  20, // T61String (treated as Latin-1-compatible bytes)
  22, // IA5String
  26, // VisibleString
]);
/** String types with several bytes per character: no Puppet writes them, and reading them as UTF-8 would hide NULs. */
const WIDE_STRING_TAGS = new Map([
  [30, 'BMPString'],
  [28, 'UniversalString'],
]);
const UNIVERSAL = 1;

/** The one DER element `data` holds from its first to its last byte (tag number and content), or null. */
export function singleDerElement(data: Uint8Array): { tag: number; content: Uint8Array } | null {
  const { offset, result } = asn1js.fromBER(data);
  if (offset !== data.byteLength || result.error || result.idBlock.tagClass !== UNIVERSAL || result.idBlock.isConstructed) return null;
  // A primitive element: its value block holds the content bytes.
  return { tag: result.idBlock.tagNumber, content: (result.valueBlock as unknown as { valueHexView: Uint8Array }).valueHexView };
}

/**
 * Puppet wraps each extension value in a DER UTF8String; certificates signed by older
 * tooling hold IA5/PrintableString or the bare bytes. Anything that is not exactly one
 * string element spanning the whole value is read as raw UTF-8.
 */
export function decodeExtensionString(value: Uint8Array): string {
  const element = singleDerElement(value);
  if (element && STRING_TAGS.has(element.tag)) return Buffer.from(element.content).toString(element.tag === 20 ? 'latin1' : 'utf8');
  if (element && WIDE_STRING_TAGS.has(element.tag))
    throw new Error(`encoded as ${WIDE_STRING_TAGS.get(element.tag)}; Puppet writes UTF8String`);
  return Buffer.from(value).toString('utf8');
}
