/** Mocha root hooks: fail fast, and loudly, when the PostgreSQL the store suites need is absent. */
import { pgAvailable } from './support/pg';

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
};
