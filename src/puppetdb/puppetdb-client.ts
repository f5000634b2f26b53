import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { parsePuppetdbUrl } from '../config/puppetdb-url';
import { AppError } from '../errors/app-error';

/** The TLS a PuppetDB client presents: the broker's Puppet certificate, and the CA bundle PuppetDB's must chain to. */
export interface PuppetdbTls {
  caPem: string;
  certPem: string;
  keyPem: string;
  /**
   * Throws when PuppetDB's certificate must not be believed although it chains to caPem: the
   * broker's own revocation check (tls/server-check.ts). Absent: no revocation check (tests of
   * the client alone).
   */
  checkServer?: (peer: X509Certificate, name: string) => void;
}

/**
 * Why PuppetDB gave no usable answer. `code` is part of the admin API's contract (the importer
 * prints it); the message names the URL and what to do, never a value.
 * 502: PuppetDB (the upstream) failed us; the broker is fine.
 */
export class PuppetdbError extends AppError {
  constructor(code: PuppetdbErrorCode, message: string) {
    super(502, code, message);
  }
}

export type PuppetdbErrorCode =
  | 'puppetdb_unreachable'
  | 'puppetdb_not_tls'
  | 'puppetdb_untrusted'
  | 'puppetdb_forbidden'
  | 'puppetdb_query_failed'
  | 'puppetdb_bad_answer';

/** A node as /pdb/query/v4/nodes lists it (the fields the broker uses). */
export interface PuppetdbNode {
  certname: string;
  /** When PuppetDB deactivated it (`puppet node deactivate`), or null. */
  deactivated: string | null;
  /** When PuppetDB expired it (node-ttl), or null. */
  expired: string | null;
  catalog_timestamp: string | null;
  facts_timestamp: string | null;
  report_timestamp: string | null;
}

/** A resource as /pdb/query/v4/resources returns it. */
export interface PuppetdbResource {
  certname: string;
  type: string;
  title: string;
  tags: string[];
  exported: boolean;
  file: string | null;
  line: number | null;
  environment: string | null;
  parameters: Record<string, unknown>;
}

/** Answers larger than this are refused: no broker needs a bigger PuppetDB answer, and it bounds memory. */
const MAX_ANSWER_BYTES = 256 * 1024 * 1024;
/** Rows per page of a resource query (PuppetDB streams; paging keeps each answer small). */
const PAGE = 5000;

/**
 * PuppetDB's query API over TLS, with the broker's Puppet certificate (as every PuppetDB client
 * authenticates: puppetserver, `puppet node`, PuppetDB's own CLI). Only https: PuppetDB's plain
 * port answers anyone on the network and proves nothing about who answers.
 */
export class PuppetdbClient {
  readonly url: URL;

  constructor(
    url: string,
    private readonly tls: PuppetdbTls,
    private readonly timeoutMs = 30_000,
  ) {
    this.url = parsePuppetdbUrl(url);
  }

  /**
   * Every node PuppetDB knows, deactivated and expired ones included (the endpoint leaves them
   * out unless the query asks for inactive nodes too).
   */
  nodes(): Promise<PuppetdbNode[]> {
    return this.query<PuppetdbNode[]>('/pdb/query/v4/nodes', ['or', ['=', ['node', 'active'], true], ['=', ['node', 'active'], false]]);
  }

  /**
   * The old exportfact module's exported resources of active nodes: `Augeas[fact_<name>_lin]`
   * (and `fact_<name>` of releases before the Windows twin) and `File_line[fact_<name>_win]`.
   */
  async oldModuleExports(): Promise<PuppetdbResource[]> {
    const query = ['and', ['=', 'exported', true], ['~', 'title', '^fact_'], ['or', ['=', 'type', 'Augeas'], ['=', 'type', 'File_line']]];
    const all: PuppetdbResource[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.query<PuppetdbResource[]>('/pdb/query/v4/resources', query, {
        order_by: JSON.stringify([{ field: 'certname' }, { field: 'type' }, { field: 'title' }]),
        limit: String(PAGE),
        offset: String(offset),
      });
      all.push(...page);
      if (page.length < PAGE) return all;
    }
  }

  /** The `trusted` fact of these nodes (certificate extensions, pp_environment among them), by certname. */
  async trustedFacts(certnames: string[]): Promise<Map<string, Record<string, unknown>>> {
    const found = new Map<string, Record<string, unknown>>();
    if (!certnames.length) return found;
    const rows = await this.query<{ certname: string; value: unknown }[]>('/pdb/query/v4/facts', [
      'and',
      ['=', 'name', 'trusted'],
      ['in', 'certname', ['array', certnames]],
    ]);
    for (const row of rows) if (row.value && typeof row.value === 'object') found.set(row.certname, row.value as Record<string, unknown>);
    return found;
  }

  /** One GET of the query API; every failure is a PuppetdbError naming the URL. */
  private query<T>(path: string, query: unknown, extra: Record<string, string> = {}): Promise<T> {
    const target = new URL(path, this.url);
    // A PuppetDB behind a path prefix (https://host/puppetdb/) keeps it.
    target.pathname = `${this.url.pathname.replace(/\/$/, '')}${path}`;
    target.searchParams.set('query', JSON.stringify(query));
    for (const [k, v] of Object.entries(extra)) target.searchParams.set(k, v);
    const where = `${this.url.origin}${path}`;
    return new Promise<T>((resolve, reject) => {
      const req = https.get(
        target,
        {
          ca: this.tls.caPem,
          cert: this.tls.certPem,
          key: this.tls.keyPem,
          timeout: this.timeoutMs,
          agent: false,
          headers: { Accept: 'application/json' },
        },
        (res) => {
          const refused = this.refusedServer(res.socket as TLSSocket, where);
          if (refused) {
            req.destroy(refused);
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_ANSWER_BYTES) {
              req.destroy(new PuppetdbError('puppetdb_bad_answer', `PuppetDB at ${where} sent more than ${MAX_ANSWER_BYTES} bytes`));
            } else chunks.push(c);
          });
          res.on('error', (err) => reject(failure(err, this.url)));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            if (status === 401 || status === 403) {
              return reject(
                new PuppetdbError(
                  'puppetdb_forbidden',
                  `PuppetDB at ${where} refused the broker's certificate (HTTP ${status}): add the broker's certname to PuppetDB's certificate-allowlist`,
                ),
              );
            }
            if (status < 200 || status >= 300) {
              return reject(
                new PuppetdbError('puppetdb_query_failed', `PuppetDB at ${where} answered HTTP ${status} to the query: ${excerpt(text)}`),
              );
            }
            try {
              const body = JSON.parse(text) as unknown;
              if (!Array.isArray(body)) throw new Error('not a JSON array');
              resolve(body as T);
            } catch (err) {
              reject(
                new PuppetdbError(
                  'puppetdb_bad_answer',
                  `PuppetDB at ${where} answered something else than a JSON array (${(err as Error).message})`,
                ),
              );
            }
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new PuppetdbError('puppetdb_unreachable', `PuppetDB at ${where} did not answer within ${this.timeoutMs / 1000} s`)),
      );
      req.on('error', (err) => reject(failure(err, this.url)));
    });
  }

  /** Why PuppetDB's certificate is refused although TLS accepted it (revoked, or no CRL to check it), or null. */
  private refusedServer(socket: TLSSocket, where: string): PuppetdbError | null {
    if (!this.tls.checkServer) return null;
    try {
      // getPeerCertificate().raw, not getPeerX509Certificate(): the latter leaks per connection.
      this.tls.checkServer(new X509Certificate(socket.getPeerCertificate().raw), `PuppetDB at ${this.url.origin}`);
      return null;
    } catch (err) {
      return new PuppetdbError('puppetdb_untrusted', `PuppetDB's certificate at ${where} is refused: ${(err as Error).message}`);
    }
  }
}

/** Network and TLS failures, said in the operator's terms. */
function failure(err: NodeJS.ErrnoException, url: URL): PuppetdbError {
  if (err instanceof PuppetdbError) return err;
  const code = err.code ?? '';
  const at = url.origin;
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET'].includes(code)) {
    return new PuppetdbError('puppetdb_unreachable', `cannot reach PuppetDB at ${at} (${code}): is it running, and is the URL right?`);
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO' || /wrong version number|packet length too long/i.test(err.message)) {
    return new PuppetdbError(
      'puppetdb_not_tls',
      `PuppetDB at ${at} does not speak TLS (${code || err.message}): give its TLS port (8081 by default), not the plain one (8080)`,
    );
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS_CERT_ALTNAME/.test(code)) {
    return new PuppetdbError(
      'puppetdb_untrusted',
      `PuppetDB's certificate at ${at} is not trusted (${code}): it must be issued by the Puppet CA of --ca for the host in the URL`,
    );
  }
  return new PuppetdbError('puppetdb_unreachable', `PuppetDB at ${at}: ${err.message}`);
}

/** A short, one-line excerpt of an error body (PuppetDB's messages say what was wrong with a query). */
function excerpt(text: string): string {
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line || '(empty body)';
}
