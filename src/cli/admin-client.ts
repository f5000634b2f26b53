// What `exportfact` admin commands use to call the admin API, and how they print results.
import fs from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import readline from 'node:readline/promises';
import { type Command, Option } from 'commander';
import { AppError } from '../errors/app-error';
import { ConfigError } from '../errors/config-error';
import { readOptionFile } from '../files/file-errors';

export const DEFAULT_ADMIN_URL = 'https://127.0.0.1:8151';
/** Where `npm start` / `serve --dev-ca` put the development CA. */
const DEV_CA_FILE = 'certs/ca.pem';
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Options as commander hands them over (env variables already merged in). */
export interface AdminClientOptions {
  adminUrl?: string;
  adminCa?: string;
  token?: string;
  tokenFile?: string;
  adminCert?: string;
  adminKey?: string;
  json?: boolean;
}

const opt = (flags: string, description: string, env: string) => new Option(flags, description).env(env);

/** Adds the connection options (and --json) to an admin command. */
export function addAdminClientOptions(cmd: Command): Command {
  return (
    cmd
      .addOption(opt('--admin-url <url>', `admin API of the broker (default ${DEFAULT_ADMIN_URL})`, 'EXPORTFACT_ADMIN_URL'))
      .addOption(
        opt(
          '--admin-ca <file>',
          `CA bundle the admin API's certificate chains to (default ${DEV_CA_FILE} if it exists)`,
          'EXPORTFACT_ADMIN_CA',
        ),
      )
      // A token on the command line is visible to other users in `ps`; the variable or a file is not.
      .addOption(
        opt('--token <jwt>', 'admin token from `exportfact admin token` (prefer the environment variable)', 'EXPORTFACT_ADMIN_TOKEN'),
      )
      .addOption(opt('--token-file <file>', 'read the admin token from this file', 'EXPORTFACT_ADMIN_TOKEN_FILE'))
      .addOption(
        opt('--admin-cert <file>', 'admin client certificate (certname or pp_auth_role configured on the broker)', 'EXPORTFACT_ADMIN_CERT'),
      )
      .addOption(opt('--admin-key <file>', 'private key of --admin-cert', 'EXPORTFACT_ADMIN_KEY'))
      .option('--json', 'print JSON instead of a table')
  );
}

export class AdminApiError extends AppError {}

export interface AdminClient {
  readonly url: string;
  /** Whether a token or an admin certificate was given (without either, every call is refused). */
  readonly authenticated: boolean;
  /** `timeoutMs`: how long the broker may take to answer (default 30 s; an import from PuppetDB takes longer). */
  request<T = unknown>(method: string, path: string, body?: unknown, opts?: { timeoutMs?: number }): Promise<T>;
  /** GET of a long answer (a backup's snapshot), handed over as a stream once its status is 2xx. */
  stream(path: string): Promise<http.IncomingMessage>;
}

/** Server text shown on a terminal: no escape sequences, one line. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
}

/** Builds the client from the options; every mistake is one line naming the option. */
export function adminClientFromOptions(o: AdminClientOptions): AdminClient {
  const raw = o.adminUrl ?? DEFAULT_ADMIN_URL;
  let base: URL;
  try {
    base = new URL(raw);
  } catch {
    throw new ConfigError(`--admin-url ${JSON.stringify(raw)} is not a URL (expected ${DEFAULT_ADMIN_URL})`);
  }
  // Tokens and admin keys must never cross the network in clear.
  if (base.protocol !== 'https:') throw new ConfigError(`--admin-url must be an https:// URL, not ${base.protocol}//`);

  const caFile = o.adminCa ?? (fs.existsSync(DEV_CA_FILE) ? DEV_CA_FILE : undefined);
  const ca = caFile ? readOptionFile('--admin-ca', caFile) : undefined;
  if ((o.adminCert === undefined) !== (o.adminKey === undefined)) throw new ConfigError('--admin-cert and --admin-key go together');
  const cert = o.adminCert ? readOptionFile('--admin-cert', o.adminCert) : undefined;
  const key = o.adminKey ? readOptionFile('--admin-key', o.adminKey) : undefined;
  if (o.token && o.tokenFile) throw new ConfigError('give either --token or --token-file, not both');
  const token = (o.tokenFile ? readOptionFile('--token-file', o.tokenFile) : o.token)?.trim() || undefined;
  if (token !== undefined && !/^[A-Za-z0-9._~+/=-]+$/.test(token)) {
    throw new ConfigError(
      `${o.tokenFile ? '--token-file' : '--token'} does not hold a token (expected the output of \`exportfact admin token\`)`,
    );
  }

  return {
    url: base.href,
    authenticated: Boolean(token || cert),
    request: <T>(method: string, path: string, body?: unknown, opts?: { timeoutMs?: number }) =>
      send<T>(base, { ca, cert, key, token }, method, path, body, opts?.timeoutMs),
    stream: (path: string) => openStream(base, { ca, cert, key, token }, path),
  };
}

interface Credentials {
  ca?: string;
  cert?: string;
  key?: string;
  token?: string;
}

/** Sends a request; resolves with the response as soon as its head arrives, whatever the status. */
function open(
  base: URL,
  creds: Credentials,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 30_000,
): Promise<http.IncomingMessage> {
  const url = new URL(path.replace(/^\/+/, ''), base.href.endsWith('/') ? base.href : `${base.href}/`);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (payload !== undefined) headers['Content-Type'] = 'application/json';
  if (creds.token) headers.Authorization = `Bearer ${creds.token}`;

  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { method, headers, ca: creds.ca, cert: creds.cert, key: creds.key, agent: false, timeout: timeoutMs },
      resolve,
    );
    req.on('timeout', () => req.destroy(new ConfigError(`the admin API at ${base.origin} did not answer within ${timeoutMs / 1000} s`)));
    req.on('error', (err) => reject(connectionError(err, base)));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Reads a whole (bounded) answer: the JSON of a 2xx, or the API's error as an AdminApiError. */
function readAnswer<T>(base: URL, res: http.IncomingMessage): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_RESPONSE_BYTES)
        res.destroy(new ConfigError(`the admin API at ${base.origin} sent more than ${MAX_RESPONSE_BYTES} bytes`));
      else chunks.push(c);
    });
    res.on('error', (err) => reject(connectionError(err, base)));
    res.on('end', () => {
      const status = res.statusCode ?? 0;
      const text = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      if (status >= 200 && status < 300) return resolve(json as T);
      const err = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      const code = typeof err?.code === 'string' ? printable(err.code) : 'http_error';
      const message = typeof err?.message === 'string' ? printable(err.message) : `HTTP ${status} from ${base.origin}`;
      reject(new AdminApiError(status, code, `${status} ${code}: ${message}`));
    });
  });
}

async function send<T>(base: URL, creds: Credentials, method: string, path: string, body?: unknown, timeoutMs?: number): Promise<T> {
  return readAnswer<T>(base, await open(base, creds, method, path, body, timeoutMs));
}

async function openStream(base: URL, creds: Credentials, path: string): Promise<http.IncomingMessage> {
  const res = await open(base, creds, 'GET', path);
  const status = res.statusCode ?? 0;
  if (status < 200 || status >= 300) await readAnswer(base, res);
  return res;
}

/** Network and TLS failures, said in the operator's terms. */
function connectionError(err: NodeJS.ErrnoException, base: URL): Error {
  if (err instanceof ConfigError) return err;
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED')
    return new ConfigError(
      `cannot reach the admin API at ${base.origin} (connection refused): is the broker running, and is --admin-url right?`,
    );
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new ConfigError(`cannot resolve the host of --admin-url ${base.origin}`);
  if (/CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS_CERT_ALTNAME/.test(code)) {
    return new ConfigError(
      `the admin API's certificate at ${base.origin} is not trusted (${code}): give --admin-ca with the CA bundle that issued it`,
    );
  }
  return new ConfigError(`admin API at ${base.origin}: ${err.message}`);
}

export interface Column<R> {
  header: string;
  /** Defaults to the property named like the header. */
  value?: (row: R) => unknown;
  align?: 'left' | 'right';
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (value instanceof Date) return value.toISOString();
  return printable(typeof value === 'object' ? JSON.stringify(value) : String(value));
}

/**
 * Plain aligned columns: readable, and still easy to cut/awk. (cli-table3 was considered:
 * box drawing and colours are not worth a dependency tree in a tool that handles secrets.)
 */
export function formatTable<R>(rows: R[], columns: Column<R>[]): string {
  const body = rows.map((row) => columns.map((c) => cell(c.value ? c.value(row) : (row as Record<string, unknown>)[c.header])));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((text, i) => (columns[i].align === 'right' ? text.padStart(widths[i]) : i === cells.length - 1 ? text : text.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return `${[line(columns.map((c) => c.header.toUpperCase())), ...body.map(line)].join('\n')}\n`;
}

export function printTable<R>(rows: R[], columns: Column<R>[], out: NodeJS.WritableStream = process.stdout): void {
  out.write(rows.length ? formatTable(rows, columns) : '(none)\n');
}

/** `--json` prints the API's answer as is (for scripts); otherwise the command's own rendering. */
export function printResult(o: { json?: boolean }, value: unknown, render: () => void, out: NodeJS.WritableStream = process.stdout): void {
  if (o.json) out.write(`${JSON.stringify(value, null, 2)}\n`);
  else render();
}

/** Asks on the terminal before doing something that cannot be undone or shows a secret; --yes skips it. */
export async function confirm(question: string, what: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new ConfigError(`refusing to ${what} without confirmation: run on a terminal, or add --yes`);
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
