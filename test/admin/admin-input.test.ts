// The admin API takes query strings and path parameters too: every one goes through the same
// validation as bodies, so nothing an admin client sends reaches a 500.
import { expect } from 'chai';
import fc from 'fast-check';
import { startTestBroker, type TestBroker } from '../support/broker';
import type { Client } from '../support/client';

describe('admin API input: 400 naming the parameter, never a 5xx', function () {
  this.timeout(60_000);
  let t: TestBroker;
  let admin: Client;
  before(async () => {
    t = await startTestBroker({ admin: { certnames: ['ops.admin.test'] } });
    admin = t.adminClient(await t.pki.issueClientCert({ certname: 'ops.admin.test' }));
    await t.client(t.pki.clients.bob).request('POST', '/v1/secrets/db/pw/generate', { body: {} });
  });
  after(() => t?.close());

  for (const [path, message] of [
    ['/admin/v1/secrets?environment=a&environment=b', /^field environment: /],
    ['/admin/v1/secrets?environment=no%20such', /^field environment: must be a Puppet environment name/],
    ['/admin/v1/secrets?envrionment=production', /^unknown field "envrionment"/],
    ['/admin/v1/secrets/db/pw/status?environment=a&environment=b', /^field environment: /],
    ['/admin/v1/audit/events?limit=abc', /^field limit: /],
    ['/admin/v1/audit/events?category=DB', /^field category: must be a Facter-style name/],
    ['/admin/v1/audit/nodes/a%00b/sightings', /^certname "a\\u0000b" is not a Puppet certname/],
    ['/admin/v1/audit/nodes/bob.test/sightings?since=yesterday', /^field since: /],
  ] as const) {
    it(`GET ${path}`, async () => {
      const r = await admin.get(path);
      expect(r.status, r.text).to.equal(400);
      expect(r.json.error.code).to.be.oneOf(['invalid_body', 'invalid_name']);
      expect(r.json.error.message).to.match(message);
    });
  }

  it('answers any query string on every read route with 2xx or 4xx', async () => {
    const routes = [
      '/admin/v1/secrets',
      '/admin/v1/secrets/db/pw',
      '/admin/v1/secrets/db/pw/status',
      '/admin/v1/audit/events',
      '/admin/v1/audit/facts/db/pw/sightings',
      '/admin/v1/keys',
      '/admin/v1/health',
    ];
    const query = fc.array(
      fc.tuple(fc.constantFrom('environment', 'version', 'limit', 'since', 'actor', 'x', 'environment[a]'), fc.string()),
      { maxLength: 4 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), query, async (route, pairs) => {
        const qs = new URLSearchParams(pairs).toString();
        const r = await admin.get(`${route}${qs ? `?${qs}` : ''}`);
        expect(r.status, `${route}?${qs}: ${r.text}`).to.be.below(500);
      }),
      { numRuns: 150 },
    );
  });
});
