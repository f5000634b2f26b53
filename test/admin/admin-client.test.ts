import { expect } from 'chai';
import { adminClientFromOptions, formatTable } from '../../src/cli/admin-client';
import { parseTtl } from '../../src/cli/admin-command';

describe('admin CLI helpers', () => {
  it('parseTtl reads 90s, 15m, 2h and bare seconds, and refuses 0, over 24h and other units', () => {
    expect([parseTtl('90s'), parseTtl('15m'), parseTtl('2h'), parseTtl('24h'), parseTtl('600')]).to.deep.equal([
      90, 900, 7200, 86_400, 600,
    ]);
    for (const bad of ['0s', '25h', '1441m', '1d', '-5m', '1.5h', '']) expect(() => parseTtl(bad), bad).to.throw(/--ttl/);
  });

  it('formatTable aligns columns, right-aligns numbers on request, and strips terminal escapes from cells', () => {
    const rows = [
      { node: 'db1.example.com', version: 12, seen: new Date('2026-01-02T03:04:05Z') },
      { node: 'evil\u001b[31mred', version: 3, seen: null },
    ];
    const text = formatTable(rows, [{ header: 'node' }, { header: 'version', align: 'right' }, { header: 'seen' }]);
    expect(text).to.equal(
      'NODE             VERSION  SEEN\n' + 'db1.example.com       12  2026-01-02T03:04:05.000Z\n' + 'evil [31mred           3  -\n',
    );
    expect(text).to.not.contain('\u001b');
  });

  it('refuses a non-https admin URL and a certificate without its key', () => {
    expect(() => adminClientFromOptions({ adminUrl: 'http://127.0.0.1:8151' })).to.throw(/must be an https:\/\/ URL/);
    expect(() => adminClientFromOptions({ adminCert: '/x.pem' })).to.throw(/--admin-cert and --admin-key go together/);
    expect(() => adminClientFromOptions({ token: 'not a token!' })).to.throw(/does not hold a token/);
  });
});
