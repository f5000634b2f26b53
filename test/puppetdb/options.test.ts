// --puppetdb-url and --puppetdb-interval as `exportfact serve` parses them (flag, environment and
// configuration file all end here): https only, a mistake is one line naming the option.
import { expect } from 'chai';
import { parseServeOptions } from '../../src/config/serve-config';
import { ConfigError } from '../../src/errors/config-error';

const files = { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' };

describe('serve options: node liveness from PuppetDB', () => {
  it('off by default; --puppetdb-url alone polls every 60 s; --puppetdb-interval sets it', () => {
    expect(parseServeOptions({ ...files }).puppetdb).to.equal(undefined);
    expect(parseServeOptions({ ...files, puppetdbUrl: 'https://puppetdb.example.com:8081' }).puppetdb).to.deep.equal({
      url: 'https://puppetdb.example.com:8081',
      intervalMs: 60_000,
    });
    expect(parseServeOptions({ ...files, puppetdbUrl: 'https://puppetdb:8081/', puppetdbInterval: '2.5' }).puppetdb).to.deep.equal({
      url: 'https://puppetdb:8081/',
      intervalMs: 2500,
    });
  });

  it('refuses, naming the option: a plain-HTTP URL, no URL at all, URL parts that do not belong, a bad interval, an interval alone', () => {
    const cases: [Record<string, string>, string][] = [
      [
        { puppetdbUrl: 'http://puppetdb:8080' },
        "--puppetdb-url must be an https:// URL (PuppetDB's TLS port, 8081 by default), not http:// : its plain port answers anyone without a certificate",
      ],
      [{ puppetdbUrl: 'puppetdb:8081' }, '--puppetdb-url must be an https:// URL'],
      [{ puppetdbUrl: 'not a url' }, '--puppetdb-url "not a url" is not a URL (expected https://puppetdb.example.com:8081)'],
      [{ puppetdbUrl: 'https://user:pw@puppetdb:8081' }, 'must be just scheme, host, port and an optional path'],
      [{ puppetdbUrl: 'https://puppetdb:8081/?x=1' }, 'must be just scheme, host, port and an optional path'],
      [{ puppetdbUrl: 'https://puppetdb:8081', puppetdbInterval: '0' }, '--puppetdb-interval "0" is not a positive number of seconds'],
      [
        { puppetdbUrl: 'https://puppetdb:8081', puppetdbInterval: 'often' },
        '--puppetdb-interval "often" is not a positive number of seconds',
      ],
      [{ puppetdbInterval: '30' }, '--puppetdb-interval needs --puppetdb-url'],
    ];
    for (const [options, message] of cases) {
      expect(() => parseServeOptions({ ...files, ...options }), JSON.stringify(options))
        .to.throw(ConfigError)
        .with.property('message')
        .that.includes(message);
    }
  });
});
