// Output for people: every mistake an operator makes at the command line is one line naming
// the option and the fix, with exit code 2 (runtime failures 1, success 0); waits say why.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { startTestBroker, tempDir } from '../support/broker';
import { runCli, startServe } from '../support/cli';
import { createTestDatabase, DATABASE_URL, skipPg } from '../support/pg';
import { getTestPki, type TestPki } from '../support/pki';
import { serveTlsArgs } from '../support/tls-files';

/** One line on stderr, no stack trace, and the exit code asked for. */
function expectOneLine(r: { code: number | null; stderr: string }, code: number, message: RegExp): void {
  expect(r.code, r.stderr).to.equal(code);
  expect(r.stderr).to.match(/^exportfact: [^\n]*\n$/);
  expect(r.stderr).to.not.match(/\n\s+at /);
  expect(r.stderr).to.match(message);
}

describe('command line output for people (one line, exit 2)', function () {
  this.timeout(120_000);
  let pki: TestPki;
  let dir: string;
  let tls: string[];
  const other = (name: string) => {
    const url = new URL(DATABASE_URL);
    url.pathname = `/${name}`;
    return url.toString();
  };
  before(async () => {
    pki = await getTestPki();
    dir = tempDir('output');
    tls = serveTlsArgs(pki, dir);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('the database at start', () => {
    before(function () {
      if (skipPg()) this.skip();
    });

    it('an unknown role, on serve and on migrate', async () => {
      const url = new URL(DATABASE_URL);
      url.username = 'nosuchuser';
      expectOneLine(
        await runCli(['serve', ...tls, '--listen', '127.0.0.1:0', '--database-url', url.toString()]),
        2,
        /--database-url .*PostgreSQL refused nosuchuser: role "nosuchuser" does not exist/,
      );
      expectOneLine(await runCli(['migrate', '--database-url', url.toString()]), 2, /--database-url .*PostgreSQL refused nosuchuser/);
    });

    it('a database that does not exist', async () => {
      expectOneLine(
        await runCli(['migrate', '--database-url', other('no_such_database_here')]),
        2,
        /database "no_such_database_here" does not exist; create it/,
      );
    });

    it('a host that does not resolve, and one that does not answer', async () => {
      expectOneLine(
        await runCli(['migrate', '--database-url', 'postgres://postgres@no-such-host.invalid:5432/x']),
        2,
        /cannot reach PostgreSQL: getaddrinfo ENOTFOUND no-such-host\.invalid/,
      );
      // Nothing listens on this port of loopback.
      const closed = await freePort();
      expectOneLine(
        await runCli(['migrate', '--database-url', `postgres://postgres@127.0.0.1:${closed}/x`]),
        2,
        /cannot reach PostgreSQL: connect ECONNREFUSED 127\.0\.0\.1/,
      );
    });
  });

  describe('listen addresses, checked before the store is touched', () => {
    let db: { url: string; drop(): Promise<void> } | undefined;
    const migrated = async () => {
      const c = new pg.Client({ connectionString: db!.url });
      await c.connect();
      const { rows } = await c.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS there");
      await c.end();
      return rows[0].there as boolean;
    };
    before(async function () {
      if (skipPg()) return this.skip();
      db = await createTestDatabase('listen_check');
    });
    after(() => db?.drop());

    it('--listen on an address this machine does not have', async () => {
      expectOneLine(
        await runCli(['serve', ...tls, '--listen', '192.0.2.77:8150', '--database-url', db!.url]),
        2,
        /^exportfact: --listen 192\.0\.2\.77:8150: this machine has no address 192\.0\.2\.77/,
      );
      expect(await migrated()).to.equal(false);
    });

    it('--listen and --admin-listen on a port in use, each named', async () => {
      const holder = net.createServer();
      await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
      const taken = (holder.address() as net.AddressInfo).port;
      try {
        expectOneLine(
          await runCli(['serve', ...tls, '--listen', `127.0.0.1:${taken}`, '--database-url', db!.url]),
          2,
          /^exportfact: --listen 127\.0\.0\.1:\d+: the port is in use/,
        );
        expectOneLine(
          await runCli(['serve', ...tls, '--listen', '127.0.0.1:0', '--database-url', db!.url], {
            env: { EXPORTFACT_ADMIN_LISTEN: `127.0.0.1:${taken}` },
          }),
          2,
          /^exportfact: --admin-listen 127\.0\.0\.1:\d+: the port is in use/,
        );
        expect(await migrated()).to.equal(false);
      } finally {
        holder.close();
      }
    });
  });

  it('ca issue with a misspelt extension, and ca revoke of a node never issued', async () => {
    const ca = path.join(dir, 'devca');
    expect((await runCli(['ca', 'init', '--dir', ca])).code).to.equal(0);
    expectOneLine(
      await runCli(['ca', 'issue', '--dir', ca, '--node', 'x.example.com:pp_rol=web']),
      2,
      /--node "x\.example\.com:pp_rol=web": unknown Puppet certificate extension name "pp_rol"/,
    );
    expectOneLine(
      await runCli(['ca', 'revoke', '--dir', ca, 'nosuch.example.com']),
      2,
      /never issued a certificate to nosuch\.example\.com/,
    );
  });

  it('audit options checked before anything is sent: --since, --limit', async () => {
    expectOneLine(
      await runCli(['audit', 'events', '--since', 'yesterday']),
      2,
      /option '--since <time>' argument 'yesterday' is invalid\. must be a date .*ISO 8601/,
    );
    expectOneLine(
      await runCli(['audit', 'events', '--limit', 'abc']),
      2,
      /option '--limit <n>' argument 'abc' is invalid\. must be a whole number from 1 to 10000/,
    );
  });

  it("commander's own usage errors exit 2; --help and --version exit 0", async () => {
    expectOneLine(await runCli(['serve', '--no-such-option']), 2, /unknown option '--no-such-option'/);
    expectOneLine(await runCli(['frobnicate']), 2, /unknown command 'frobnicate'/);
    expect((await runCli(['--help'])).code).to.equal(0);
    expect((await runCli(['--version'])).code).to.equal(0);
  });

  it('admin token never makes up a signing key the broker does not have, unless told to', async () => {
    const elsewhere = tempDir('token-elsewhere');
    const key = path.join(elsewhere, 'admin-token.key');
    const env = { EXPORTFACT_ADMIN_SIGNING_KEY: key };
    try {
      const refused = await runCli(['admin', 'token', '--scope', 'audit:read', '--subject', 'ops'], { cwd: elsewhere, env });
      expectOneLine(refused, 2, /admin token signing key .*admin-token\.key does not exist; .*--create-key/);
      expect(refused.stdout).to.equal('');
      expect(fs.existsSync(key)).to.equal(false);
      const created = await runCli(['admin', 'token', '--scope', 'audit:read', '--subject', 'ops', '--create-key'], {
        cwd: elsewhere,
        env,
      });
      expect(created.code).to.equal(0);
      expect(created.stderr).to.include(`created admin token signing key ${key}`);
      const again = await runCli(['admin', 'token', '--scope', 'audit:read', '--subject', 'ops'], { cwd: elsewhere, env });
      expect(again.stderr).to.include(`signed with ${key}`);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('names an unknown body field ({"valeu": 1}), not the field it makes missing', async () => {
    const t = await startTestBroker();
    try {
      const r = await t.client(t.pki.clients.alice).put('/v1/facts/db/url', { valeu: 1 });
      expect([r.status, r.json.error.code, r.json.error.message]).to.deep.equal([400, 'invalid_body', 'unknown field "valeu"']);
    } finally {
      await t.close();
    }
  });

  describe('logs', () => {
    it('JSON when not on a terminal, one readable line per event with --log-format pretty, the same fields either way', async () => {
      for (const [format, looks] of [
        [[], /^\{"level":30,.*"msg":"exportfact broker listening"/m],
        [['--log-format', 'pretty'], /^\[\d\d:\d\d:\d\d\] INFO: exportfact broker listening .*"store":"embedded"/m],
      ] as const) {
        const serve = await startServe([
          ...tls,
          '--listen',
          '127.0.0.1:0',
          '--data-dir',
          path.join(dir, `logs-${format.length}`),
          ...format,
        ]);
        try {
          expect(serve.output()).to.match(looks);
        } finally {
          await serve.stop();
        }
      }
    });

    it('refuses an unknown --log-format', async () => {
      expectOneLine(await runCli(['serve', ...tls, '--log-format', 'xml']), 2, /--log-format "xml" is not pretty or json/);
    });
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
