import https from 'node:https';
import type { TestCert } from './pki';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies field by field
  json: any;
}

export interface RequestOptions {
  body?: unknown;
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  agent?: https.Agent;
}

/** A real mTLS client: the identity is whatever certificate it presents, nothing else. */
export class Client {
  constructor(
    readonly baseUrl: string,
    readonly ca: string,
    readonly cert?: TestCert,
  ) {}

  keepAliveAgent(): https.Agent {
    return new https.Agent({ keepAlive: true, maxSockets: 1, ca: this.ca, cert: this.cert?.certPem, key: this.cert?.keyPem });
  }

  request(method: string, path: string, opts: RequestOptions = {}): Promise<Reply> {
    const url = new URL(path, this.baseUrl);
    const body = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    const headers: Record<string, string> = { ...(opts.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...opts.headers };
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          headers,
          ca: this.ca,
          cert: this.cert?.certPem,
          key: this.cert?.keyPem,
          agent: opts.agent ?? false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  get = (path: string, opts?: RequestOptions) => this.request('GET', path, opts);
  put = (path: string, body: unknown, opts?: RequestOptions) => this.request('PUT', path, { ...opts, body });
  delete = (path: string, opts?: RequestOptions) => this.request('DELETE', path, opts);
}
