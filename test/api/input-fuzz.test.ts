// What a client can send never gets a 5xx: values, keys and names that PostgreSQL cannot
// store get a 400 naming the field and change nothing; what is accepted reads back the same.
// Property-based (fast-check) over values, keys and names, on both stores.
import 'reflect-metadata';
import type https from 'node:https';
import { expect } from 'chai';
import fc from 'fast-check';
import { READ_ALL_SECRETS, startTestBroker, type TestBroker } from '../support/broker';
import type { Client } from '../support/client';
import { pgStoreConfigs } from '../support/pg';

/** Any UTF-16 code unit, lone surrogates and NUL included: what JSON text can carry with \u escapes. */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n));
const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: anyCodeUnit, maxLength: 8 }),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', '\u0000', '\ud800', '\udc00x', 'a\u0000b', '\ud83d\ude00'),
);
const hostileValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    hostileString,
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Percent-encodes the UTF-8 bytes of a string; a lone surrogate travels as the bytes of U+FFFD. */
const pathSegment = (text: string) => [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
/** A path segment of arbitrary bytes, including ones that are not UTF-8 at all (%C3%28, %00). */
const rawSegment = fc.uint8Array({ maxLength: 12 }).map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''));
const segment = fc.oneof(hostileString.map(pathSegment), rawSegment);

/** The JSON a client sends: what the broker must store, if it stores it, and give back. */
const asSent = (value: unknown) => JSON.parse(JSON.stringify(value));

describe('hostile input: 4xx or stored as sent, never a 5xx (property-based)', () => {
  for (const storeCase of pgStoreConfigs('input_fuzz')) {
    describe(`on the ${storeCase.label} store`, () => {
      let t: TestBroker;
      let alice: Client;
      let agent: https.Agent;
      let counter = 0;
      before(async () => {
        t = await startTestBroker({ store: await storeCase.config(), policy: READ_ALL_SECRETS });
        alice = t.client(t.pki.clients.alice);
        agent = alice.keepAliveAgent();
      });
      after(async () => {
        agent?.destroy();
        await t?.close();
        await storeCase.cleanup();
      });

      for (const sensitive of [false, true]) {
        it(`publishes ${sensitive ? 'sensitive' : 'plain'} values: 400 naming "value" and nothing changed, or the same value read back`, async () => {
          await fc.assert(
            fc.asyncProperty(hostileValue, async (value) => {
              const name = `v${counter++}`;
              const before = await alice.get('/v1/facts', { agent });
              const put = await alice.put(`/v1/facts/fuzz/${name}`, { value, sensitive }, { agent });
              expect(put.status, put.text).to.be.oneOf([200, 201, 400]);
              if (put.status === 400) {
                expect(put.json.error.code).to.equal('invalid_body');
                expect(put.json.error.message).to.match(/^field value/);
                expect((await alice.get('/v1/facts', { agent })).headers.etag).to.equal(before.headers.etag);
                return;
              }
              const back = sensitive
                ? (await alice.get(`/v1/secrets/fuzz/${name}`, { agent })).json.value
                : (await alice.get('/v1/facts/fuzz', { agent })).json.facts.fuzz[name];
              expect(back).to.deep.equal(asSent(value));
            }),
            { numRuns: 120 },
          );
        });
      }

      it('answers names of any shape with 400 invalid_name, 404 or 2xx, never a 5xx', async () => {
        await fc.assert(
          fc.asyncProperty(segment, segment, async (category, name) => {
            const path = `/v1/facts/${category}/${name}`;
            for (const r of [
              await alice.put(path, { value: 1 }, { agent }),
              await alice.get(`/v1/secrets/${category}/${name}`, { agent }),
              await alice.get(`/v1/facts/${category}`, { agent }),
            ]) {
              expect(r.status, `${path}: ${r.text}`).to.be.below(500);
            }
          }),
          { numRuns: 100 },
        );
      });

      it('refuses the cases found by probing with 400 naming the problem', async () => {
        for (const [raw, message] of [
          ['{"value": "a\\u0000b"}', /field value: holds the character U\+0000/],
          ['{"value": {"k\\u0000": 1}}', /field value: has a key that holds the character U\+0000/],
          ['{"value": "\\ud800"}', /field value: holds an unpaired UTF-16 surrogate/],
          ['{"value": ["ok", {"deep": "\\udc00"}]}', /field value: holds an unpaired UTF-16 surrogate.* at \[1\]\."deep"/],
          ['{"value": "a\\u0000b", "sensitive": true}', /field value: holds the character U\+0000/],
        ] as const) {
          const r = await alice.request('PUT', '/v1/facts/probe/fact', {
            rawBody: raw,
            headers: { 'Content-Type': 'application/json' },
            agent,
          });
          expect([r.status, r.json.error.code], raw).to.deep.equal([400, 'invalid_body']);
          expect(r.json.error.message, raw).to.match(message);
        }
      });

      it('generates with alphabets named like Object properties as the literal characters they are', async () => {
        for (const alphabet of ['constructor', '__proto__', 'toString']) {
          const r = await alice.request('POST', `/v1/secrets/gen/${alphabet.replace(/_/g, '').toLowerCase()}/generate`, {
            body: { alphabet, length: 16 },
            agent,
          });
          expect(r.status, r.text).to.equal(201);
          expect(r.json.value).to.have.length(16);
          expect(
            [...r.json.value].every((c: string) => alphabet.includes(c)),
            r.json.value,
          ).to.equal(true);
        }
      });

      it('answers 409 generate_parameters_differ rather than hand out a secret made for other parameters', async () => {
        const bob = t.client(t.pki.clients.bob);
        const first = await alice.request('POST', '/v1/secrets/gen/strong/generate', {
          body: { length: 48, alphabet: 'printable' },
          agent,
        });
        expect(first.status).to.equal(201);
        const weaker = await bob.request('POST', '/v1/secrets/gen/strong/generate', { body: { length: 12, alphabet: 'hex' } });
        expect([weaker.status, weaker.json.error.code]).to.deep.equal([409, 'generate_parameters_differ']);
        expect(weaker.json.error.message).to.match(
          /generated with length 48 and alphabet "printable"; this request asks for length 12 and alphabet "hex"/,
        );
        expect(weaker.text).to.not.include(first.json.value);
        const same = await bob.request('POST', '/v1/secrets/gen/strong/generate', { body: { length: 48, alphabet: 'printable' } });
        expect([same.status, same.json.value]).to.deep.equal([200, first.json.value]);
      });

      it('lets a node named __proto__ read its own per-node and single values', async () => {
        const proto = t.client(await t.pki.issueClientCert({ certname: '__proto__', extensions: { pp_environment: 'production' } }));
        expect((await proto.put('/v1/facts/odd/hosts', { value: 'proto-host', multi: true })).status).to.equal(201);
        expect((await proto.put('/v1/facts/odd/key', { value: 'proto-secret', sensitive: true, multi: true })).status).to.equal(201);
        const view = (await proto.get('/v1/facts/odd')).json;
        expect(Object.hasOwn(view.per_node.odd.hosts, '__proto__')).to.equal(true);
        expect(view.per_node.odd.hosts.__proto__).to.equal('proto-host');
        const secret = (await proto.get('/v1/secrets/odd/key')).json;
        expect(Object.hasOwn(secret.values, '__proto__')).to.equal(true);
        expect(secret.values.__proto__).to.equal('proto-secret');
      });
    });
  }
});
