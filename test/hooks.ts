/**
 * Mocha root hooks: fail fast, and loudly, when the PostgreSQL the store suites need is absent;
 * and, since mocha runs without `--exit`, fail loudly (instead of hanging CI) when something a
 * test started is still holding the process open after the last test.
 */
import { pgAvailable } from './support/pg';

/** The suite must end by itself this soon after its last hook; longer means a leaked handle. */
const DRAIN_MS = 20_000;

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(20000);
    const problem = await pgAvailable();
    if (problem && process.env.EXPORTFACT_SKIP_PG !== '1') {
      throw new Error(
        `PostgreSQL is required by the tests (${problem}). Set DATABASE_URL, start PostgreSQL, or set EXPORTFACT_SKIP_PG=1 to run only the embedded-store tests.`,
      );
    }
  },
  afterAll() {
    // unref: this timer alone never keeps the process alive, so it fires only if something else does.
    setTimeout(() => {
      const held = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
      process.stderr.write(
        `\nThe tests ended ${DRAIN_MS / 1000} s ago but the process is still held open by: ${held.join(', ')}.\n` +
          'A test left a server, socket, child process or timer behind; each test must close what it starts.\n',
      );
      process.exit(1);
    }, DRAIN_MS).unref();
  },
};
