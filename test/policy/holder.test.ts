/**
 * The policy in force across start, SIGHUP-style reloads and file changes: a broken file at
 * start stops the start; later, it is logged and the old policy stays (real files, real
 * watcher, real pino logger).
 */

import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ConfigError } from '../../src/errors/config-error';
import type { Caller } from '../../src/identity/caller';
import { createLogger } from '../../src/log/logger';
import { type CompiledPolicy, DEFAULT_POLICY, PolicyError, PolicyHolder } from '../../src/policy';
import { LogCapture, tempDir } from '../support/broker';

const KEYSTONE: Caller = { certname: 'keystone.example.com', environment: 'production', extensions: { pp_role: 'keystone' } };
const PASSWORD = { category: 'db', name: 'password', sensitive: true, exporters: ['db.example.com'] };
const GRANT = 'rules:\n  - match: {certname: keystone.example.com}\n    allow: read\n    facts: [db.password]\n';
const GRANT_AND_EXPORTS = `${GRANT}  - match: {certname: db.example.com}\n    allow: export\n    facts: ["db.*"]\n`;
const BROKEN = 'rules:\n  - match: {certname: keystone.example.com}\n    allow: [read, reed]\n    facts: [db.password]\n';

/** Replaces the file the way docs/policy.md asks: write elsewhere, then rename. */
function replace(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

function once<T extends unknown[]>(holder: PolicyHolder, event: string, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${ms} ms`)), ms);
    holder.once(event, (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args as T);
    });
  });
}

describe('PolicyHolder', function () {
  this.timeout(20_000);
  let dir: string;
  let file: string;
  let logs: LogCapture;
  let holder: PolicyHolder;
  const keystoneReads = () => holder.current.forCaller(KEYSTONE).canRead(PASSWORD);

  beforeEach(() => {
    dir = tempDir('policy');
    file = path.join(dir, 'policy.yaml');
    logs = new LogCapture();
    holder = new PolicyHolder(createLogger('info', logs.stream));
  });
  afterEach(() => {
    holder.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('without a file holds the built-in defaults', () => {
    expect(holder.current).to.equal(DEFAULT_POLICY);
    expect(keystoneReads()).to.equal(false);
    expect(holder.current.forCaller(KEYSTONE).canExport(PASSWORD)).to.equal(true);
    expect(holder.reload()).to.equal(false);
    expect(holder.status()).to.deep.include({ file: null, rules: 0, last_error: null });
  });

  it('at start, refuses a missing or broken file with a ConfigError naming file and line', () => {
    expect(() => holder.load(file)).to.throw(ConfigError, `policy file ${file} does not exist`);
    fs.writeFileSync(file, BROKEN);
    expect(() => holder.load(file)).to.throw(PolicyError, `policy ${file}:3:19: unknown action "reed"`);
    expect(holder.current).to.equal(DEFAULT_POLICY);
  });

  it('on reload keeps the old policy when the new file is broken, logs why, and takes the next good one', () => {
    fs.writeFileSync(file, GRANT);
    const first = holder.load(file);
    expect(keystoneReads()).to.equal(true);
    expect(logs.text).to.include('"msg":"policy warning: no rule allows export or generate');

    const refused: string[] = [];
    holder.on('refused', (m: string) => refused.push(m));
    fs.writeFileSync(file, BROKEN);
    expect(holder.reload()).to.equal(false);
    expect(holder.current).to.equal(first);
    expect(keystoneReads()).to.equal(true);
    expect(refused).to.deep.equal([`policy ${file}:3:19: unknown action "reed" (expected read, export, generate)`]);
    expect(holder.status().last_error).to.equal(refused[0]);
    const line = logs.lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'policy file refused; keeping the policy in force');
    expect(line).to.include({ level: 50, policy: file, version: first.version, err: refused[0] });

    fs.rmSync(file);
    expect(holder.reload()).to.equal(false);
    expect(holder.current).to.equal(first);
    expect(refused[1]).to.equal(`policy file ${file} does not exist`);

    const updated: CompiledPolicy[][] = [];
    holder.on('updated', (next: CompiledPolicy, previous: CompiledPolicy) => updated.push([next, previous]));
    fs.writeFileSync(file, GRANT.replace('keystone.example.com', 'other.example.com'));
    expect(holder.reload()).to.equal(true);
    expect(keystoneReads()).to.equal(false);
    expect(updated).to.have.length(1);
    expect(updated[0][1]).to.equal(first);
    expect(updated[0][0].version).to.not.equal(first.version);
    expect(holder.status().last_error).to.equal(null);
  });

  it('swaps in a comment-only edit silently: same version, no event, line numbers follow the file', () => {
    fs.writeFileSync(file, GRANT);
    const first = holder.load(file);
    let events = 0;
    holder.on('updated', () => events++);
    fs.writeFileSync(file, `# two\n# comment lines\n${GRANT}`);
    expect(holder.reload()).to.equal(false);
    expect(events).to.equal(0);
    expect(holder.current.version).to.equal(first.version);
    expect(holder.current.rules[0].line).to.equal(first.rules[0].line + 2);
  });

  it('watching sees a change made between load() and the watch starting', async () => {
    fs.writeFileSync(file, GRANT);
    holder.load(file);
    replace(file, GRANT_AND_EXPORTS);
    const updated = once<[CompiledPolicy]>(holder, 'updated');
    holder.watch(50);
    await updated;
    expect(holder.current.forCaller(KEYSTONE).canExport(PASSWORD)).to.equal(false);
  });

  it('watches the file: a good change takes effect, a broken one is refused and changes nothing', async () => {
    fs.writeFileSync(file, GRANT);
    const first = holder.load(file);
    holder.watch(50);

    let updated = once<[CompiledPolicy]>(holder, 'updated');
    replace(file, GRANT_AND_EXPORTS);
    const [second] = await updated;
    expect(second.version).to.not.equal(first.version);
    expect(holder.current).to.equal(second);
    expect(holder.current.forCaller(KEYSTONE).canExport(PASSWORD)).to.equal(false);

    const refused = once<[string]>(holder, 'refused');
    replace(file, BROKEN);
    expect((await refused)[0]).to.match(/:3:19: unknown action "reed"/);
    expect(holder.current).to.equal(second);
    expect(keystoneReads()).to.equal(true);
    expect(holder.current.forCaller(KEYSTONE).canExport(PASSWORD)).to.equal(false); // still closed: no open door

    updated = once<[CompiledPolicy]>(holder, 'updated');
    replace(file, GRANT);
    expect((await updated)[0].version).to.equal(first.version);
  });
});
