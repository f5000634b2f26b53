/**
 * A broker that does not answer costs an agent run one connect_timeout, not one per fact
 * lookup, resource or secret: a real `puppet apply` of a manifest with several exportfact
 * resources and functions against a listener that accepts connections and never replies
 * (and against a port that refuses them). The listener counts what it accepted: one
 * connection per run. How long the run takes is measured by the bench (`--only agent`).
 */

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { DevCa, explain, freePort, makeModulepath, PuppetNode, puppetRuntimes, removeTempDir, tempDir } from './support';

const NODE = 'silent.unanswered.test';

/** Accepts TCP connections and never sends a byte (no TLS handshake, no HTTP answer). */
class SilentListener {
  accepted = 0;
  private readonly sockets: net.Socket[] = [];
  private readonly server = net.createServer((s) => {
    this.accepted++;
    this.sockets.push(s);
    s.on('error', () => {});
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `https://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// A node that publishes a fact, writes three secrets into files, reads a fact and has a gate.
const manifest = (dir: string) => ({
  code: `
  include exportfact
  exportfact::export { 'url': category => 'app', value => 'https://app.unanswered.test' }
  ['a', 'b', 'c'].each |$n| {
    exportfact_secret_file { "${dir}/secret_\${n}": secret => "app.password_\${n}" }
  }
  file { '${dir}/db.conf': content => String(exportfact::value('db.url', 'none')) }
  if exportfact::gate('role::reader', ['db.url']) {
    file { '${dir}/reader.conf': content => 'open' }
  }`,
});

for (const puppet of puppetRuntimes()) {
  describe(`puppet module: a broker that does not answer (${puppet.label})`, function () {
    this.timeout(600000);
    let root: string;
    let node: PuppetNode;
    let out: string;
    let listener: SilentListener;

    before(async function () {
      this.timeout(1800000); // the Puppet 8 chroot is built once per machine
      await puppet.prepare();
      root = tempDir('unanswered');
      const ca = await DevCa.init(path.join(root, 'ca'), [NODE]);
      node = new PuppetNode(NODE, root, ca, makeModulepath(root), puppet);
      node.setup('https://127.0.0.1:1');
      out = path.join(root, 'out');
      fs.mkdirSync(out);
    });

    beforeEach(() => {
      listener = new SilentListener();
    });

    afterEach(async () => {
      await listener.close();
    });

    after(() => removeTempDir(root));

    /** The lines of the run that say something went wrong, without Facter's noise. */
    const complaints = (lines: string[], kind: 'Error' | 'Warning') => lines.filter((l) => l.startsWith(`${kind}:`));

    it('a listener that never replies is connected to once; each exportfact resource fails on its own, saying why', async () => {
      node.setBroker(await listener.listen(), { connect_timeout: 2, read_timeout: 2 });
      const r = await node.apply(manifest(out));
      expect(listener.accepted, explain(r)).to.equal(1);
      // Failures (exit 4) and changes (6): the plain files are written, the exportfact resources fail.
      expect(r.code, explain(r)).to.equal(6);
      expect(fs.readFileSync(path.join(out, 'db.conf'), 'utf8')).to.equal('none');
      expect(fs.existsSync(path.join(out, 'reader.conf'))).to.equal(false);
      const errors = complaints(r.lines, 'Error');
      expect(errors.filter((l) => l.includes('Exportfact_fact[app.url]')).join('\n'), explain(r)).to.match(
        /cannot publish app\.url: exportfact broker unreachable \(https:\/\/127\.0\.0\.1:\d+: not asked again, no answer earlier in this run \(no connection within 2s\)\)/,
      );
      for (const n of ['a', 'b', 'c']) {
        expect(errors.filter((l) => l.includes(`Exportfact_secret_file[${out}/secret_${n}]`)).join('\n'), explain(r)).to.include(
          `cannot fetch secret app.password_${n}: exportfact broker unreachable`,
        );
      }
      const warnings = complaints(r.lines, 'Warning');
      // The fact's own fetch is the one that waited; the rest were not asked again.
      expect(warnings.filter((l) => l.includes('broker unreachable and no cached view')).join('\n'), explain(r)).to.include(
        'no connection within 2s',
      );
      expect(warnings.filter((l) => l.includes('gates not reported this run'))).to.have.length(1);
      expect(r.output).to.include('role::reader waits for db.url (absent)');
    });

    it('a port that refuses connections is tried once: later requests say it was not asked again', async () => {
      node.setBroker(`https://127.0.0.1:${await freePort()}`, { connect_timeout: 2, read_timeout: 2 });
      const r = await node.apply(manifest(out));
      expect(r.code, explain(r)).to.be.oneOf([4, 6]);
      const errors = complaints(r.lines, 'Error').filter((l) => l.includes('Exportfact_'));
      expect(errors, explain(r)).to.have.length(4);
      for (const e of errors) expect(e).to.match(/not asked again, no answer earlier in this run \(.*Connection refused/);
    });

    it('with two URLs that do not answer, each is connected to once (failover, then nothing left to try)', async () => {
      const second = new SilentListener();
      try {
        node.setBroker([await listener.listen(), await second.listen()], { connect_timeout: 1, read_timeout: 1 });
        const r = await node.apply(manifest(out));
        expect([listener.accepted, second.accepted], explain(r)).to.deep.equal([1, 1]);
      } finally {
        await second.close();
      }
    });
  });
}
