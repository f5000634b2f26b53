import tls from 'node:tls';
import { expect } from 'chai';
import { startTestBroker, type TestBroker } from '../support/broker';

describe('a client that trickles its request body', function () {
  this.timeout(30_000);
  let t: TestBroker;
  before(async () => {
    t = await startTestBroker({ requestTimeoutMs: 1500 });
  });
  after(() => t?.close());

  it('is cut off once the request timeout has passed (408), not after minutes', async () => {
    const { port } = new URL(t.broker.url);
    const alice = t.pki.clients.alice;
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect(
        { host: '127.0.0.1', port: Number(port), ca: t.pki.caBundlePem, cert: alice.certPem, key: alice.keyPem },
        () => {
          socket.write(
            'PUT /v1/facts/slow/body HTTP/1.1\r\nHost: broker\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"value": "',
          );
          const drip = setInterval(() => socket.write('x'), 200);
          let received = '';
          socket.on('data', (d) => (received += d));
          socket.on('close', () => {
            clearInterval(drip);
            resolve(received);
          });
          socket.on('error', () => undefined);
        },
      );
      socket.on('error', reject);
    });
    const took = Date.now() - started;
    expect(took).to.be.within(1400, 6000);
    expect(answer).to.match(/^HTTP\/1\.1 408/);
    // Nothing was published from the partial body.
    expect((await t.client(alice).get('/v1/facts')).json.facts.slow).to.equal(undefined);
  });
});
