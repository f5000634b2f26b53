// A minimal DER reader for the few fields of a certificate the broker reads per new node.
// Parsing whole certificates with @peculiar/x509 (asn1js underneath) cost more than the TLS
// handshake itself; by then OpenSSL has parsed and verified the certificate, so all that is
// left is finding fields. Strict all the same: any length or tag out of place throws.

export interface DerElement {
  /** The identifier octet (class, constructed bit and tag number below 31). */
  tag: number;
  /** Content octets. */
  content: Uint8Array;
  /** The whole element, identifier and length included. */
  raw: Uint8Array;
}

/** Reads the element at `offset`; `end` is where the enclosing content stops. */
export function readElement(data: Uint8Array, offset: number, end = data.length): { element: DerElement; next: number } {
  if (offset + 2 > end) throw new Error('truncated DER element');
  const tag = data[offset];
  if ((tag & 0x1f) === 0x1f) throw new Error('DER tag numbers above 30 are not expected here');
  let length = data[offset + 1];
  let at = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4) throw new Error('DER length is indefinite or too long');
    length = 0;
    for (let i = 0; i < octets; i++) {
      if (at >= end) throw new Error('truncated DER length');
      length = length * 256 + data[at++];
    }
    if (length < 0x80 || (octets > 1 && data[at - octets] === 0)) throw new Error('DER length is not in its shortest form');
  }
  const next = at + length;
  if (next > end) throw new Error('DER element runs past its container');
  return { element: { tag, content: data.subarray(at, next), raw: data.subarray(offset, next) }, next };
}

/** The elements of a constructed element's content, in order. */
export function children(content: Uint8Array): DerElement[] {
  const out: DerElement[] = [];
  for (let at = 0; at < content.length; ) {
    const { element, next } = readElement(content, at);
    out.push(element);
    at = next;
  }
  return out;
}

/** Dotted form of an OBJECT IDENTIFIER's content. */
export function oidOf(content: Uint8Array): string {
  if (content.length === 0) throw new Error('empty OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < content.length; i++) {
    if (value === 0 && content[i] === 0x80) throw new Error('OBJECT IDENTIFIER arc is not in its shortest form');
    value = value * 128 + (content[i] & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new Error('OBJECT IDENTIFIER arc too large');
    if (content[i] & 0x80) continue;
    if (arcs.length === 0) arcs.push(value < 40 ? 0 : value < 80 ? 1 : 2, value < 80 ? value % 40 : value - 80);
    else arcs.push(value);
    value = 0;
  }
  if (content[content.length - 1] & 0x80) throw new Error('truncated OBJECT IDENTIFIER');
  return arcs.join('.');
}

/** UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ), as DER writes them. */
export function timeOf(element: DerElement): Date {
  const text = Buffer.from(element.content).toString('latin1');
  const m =
    element.tag === 0x17 ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text) : /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text);
  if (!m || (element.tag !== 0x17 && element.tag !== 0x18)) throw new Error(`not a DER time: ${JSON.stringify(text)}`);
  let year = Number(m[1]);
  if (element.tag === 0x17) year += year < 50 ? 2000 : 1900; // RFC 5280, 4.1.2.5.1
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

export interface CertificateFields {
  /** Serial number content octets, as hex. */
  serialHex: string;
  /** DER of the issuer and subject Names. */
  issuer: Uint8Array;
  subject: Uint8Array;
  notAfter: Date;
  /** Extensions in certificate order: OID and the extnValue OCTET STRING's content. */
  extensions: { oid: string; value: Uint8Array }[];
}

const SEQUENCE = 0x30;

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature } (RFC 5280, 4.1). */
export function certificateFields(der: Uint8Array): CertificateFields {
  const { element: cert, next } = readElement(der, 0);
  if (cert.tag !== SEQUENCE || next !== der.length) throw new Error('not one DER SEQUENCE');
  const [tbs] = children(cert.content);
  if (tbs?.tag !== SEQUENCE) throw new Error('no tbsCertificate');
  const fields = children(tbs.content);
  let i = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] EXPLICIT version
  const serial = fields[i++];
  const issuer = fields[i + 1];
  const validity = fields[i + 2];
  const subject = fields[i + 3];
  if (serial?.tag !== 0x02 || issuer?.tag !== SEQUENCE || validity?.tag !== SEQUENCE || subject?.tag !== SEQUENCE) {
    throw new Error('tbsCertificate fields out of order');
  }
  const times = children(validity.content);
  if (times.length !== 2) throw new Error('validity must hold two times');
  const extensions: CertificateFields['extensions'] = [];
  for (const field of fields.slice(i + 5)) {
    if (field.tag !== 0xa3) continue; // [1], [2]: unique identifiers
    const [list] = children(field.content);
    if (list?.tag !== SEQUENCE) throw new Error('extensions must be a SEQUENCE');
    for (const ext of children(list.content)) {
      const parts = children(ext.content);
      const value = parts[parts.length - 1];
      if (ext.tag !== SEQUENCE || parts[0]?.tag !== 0x06 || value?.tag !== 0x04 || parts.length > 3) throw new Error('malformed extension');
      extensions.push({ oid: oidOf(parts[0].content), value: value.content });
    }
  }
  return {
    serialHex: Buffer.from(serial.content).toString('hex'),
    issuer: issuer.raw,
    subject: subject.raw,
    notAfter: timeOf(times[1]),
    extensions,
  };
}
