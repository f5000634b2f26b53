// Certificates a Puppet CA would never sign but another tool can: odd names and encodings
// must be refused at authentication (401 certificate_unusable), and must neither reach the
// database nor take an identity the broker keeps for itself.
import 'reflect-metadata';
import { Extension } from '@peculiar/x509';
import { expect } from 'chai';
import { createLogger } from '../../src/log/logger';
import { NodeService } from '../../src/nodes/node-service';
import { NodeStore } from '../../src/nodes/node-store';
import { puppetExtensionOid } from '../../src/tls/certificate';
import { startTestBroker, type TestBroker } from '../support/broker';
import { pgStoreConfigs } from '../support/pg';
import { derTlv, type TestCertOptions } from '../support/pki';

const utf16be = (text: string) => Buffer.from(text, 'utf16le').swap16();

describe('identities no Puppet CA would sign are refused (real TLS)', () => {
  for (const storeCase of pgStoreConfigs('identity_attacks')) {
    describe(`on the ${storeCase.label} store`, () => {
      let t: TestBroker;
      before(async () => {
        t = await startTestBroker({ store: await storeCase.config() });
        // The broker generates a secret: its internal exporter "@broker" owns it.
        const bob = t.client(t.pki.clients.bob);
        expect((await bob.request('POST', '/v1/secrets/db/root_password/generate', { body: {} })).status).to.equal(201);
      });
      after(async () => {
        await t?.close();
        await storeCase.cleanup();
      });

      const cases: [string, TestCertOptions][] = [
        ['a NUL byte in the CN', { certname: 'evil\u0000.test', extensions: { pp_environment: 'production' } }],
        ['a control character in the CN', { certname: 'evil\u0007.test' }],
        ['a CN that is not ASCII', { certname: 'évil.test' }],
        ['a CN with "/"', { certname: 'a/b.test' }],
        ['an upper-case CN', { certname: 'Alice.test' }],
        ["the CN @broker (the broker's own identity)", { certname: '@broker' }],
        ['another reserved-looking CN, @admin', { certname: '@admin' }],
        ['a NUL byte in pp_environment', { certname: 'nulenv.test', extensions: { pp_environment: 'production\u0000' } }],
        ['a NUL byte in pp_role', { certname: 'nulrole.test', extensions: { pp_role: 'db\u0000' } }],
        ['an empty pp_environment', { certname: 'emptyenv.test', extensions: { pp_environment: '' } }],
        ['a pp_environment that is no environment name', { certname: 'badenv.test', extensions: { pp_environment: 'prod uction' } }],
        [
          'pp_environment as a BMPString',
          {
            certname: 'bmp.test',
            rawExtensions: [new Extension(puppetExtensionOid('pp_environment'), false, derTlv(0x1e, utf16be('production')))],
          },
        ],
      ];
      for (const [label, options] of cases) {
        it(`refuses ${label}: 401 certificate_unusable on every route, nothing recorded`, async () => {
          const cert = await t.pki.issueClientCert(options);
          const client = t.client(cert);
          for (const [method, path] of [
            ['GET', '/v1/facts'],
            ['PUT', '/v1/facts/evil/fact'],
            ['GET', '/v1/secrets/db/root_password'],
            ['DELETE', '/v1/facts/db/root_password'],
          ] as const) {
            const r = await client.request(method, path, method === 'PUT' ? { body: { value: 1 } } : {});
            expect([r.status, r.json?.error?.code], `${method} ${path}`).to.deep.equal([401, 'certificate_unusable']);
          }
        });
      }

      it('still records every other node, and the generated secret still belongs to the broker', async () => {
        await t.client(t.pki.clients.alice).get('/v1/facts');
        const nodes = await t.client(t.pki.clients.alice).get('/v1/nodes');
        expect(nodes.status).to.equal(200);
        expect(nodes.json.nodes.map((n: { certname: string }) => n.certname)).to.include.members(['alice.test', 'bob.test']);
        const exports = await t.broker.store.query<{ exporter: string }>('SELECT DISTINCT exporter FROM fact_values');
        expect(exports.rows.map((r) => r.exporter)).to.deep.equal(['@broker']);
        const secret = await t.client(t.pki.clients.bob).get('/v1/secrets/db/root_password');
        expect(secret.status).to.equal(200);
      });

      it('writes the other contacts of a batch when one row is refused by the database', async () => {
        const service = new NodeService(new NodeStore(t.broker.store), createLogger('silent'), 60_000);
        service.seen({ certname: 'before.test', environment: 'production', extensions: {} });
        service.seen({ certname: 'nul\u0000.test', environment: 'production', extensions: {} });
        service.seen({ certname: 'after.test', environment: 'production', extensions: {} });
        await service.close();
        const { rows } = await t.broker.store.query<{ certname: string }>(
          "SELECT certname FROM nodes WHERE certname IN ('before.test', 'after.test') ORDER BY 1",
        );
        expect(rows.map((r) => r.certname)).to.deep.equal(['after.test', 'before.test']);
      });
    });
  }
});
