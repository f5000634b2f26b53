/**
 * The Kickstack example in the worst order (real `puppet apply`), watched on the broker's
 * page (/ui/ on the admin listener) in Debian's Chromium: the gates the nodes report at
 * apply time show who waits on what mid-deployment, `exportfact waits` names the root
 * causes, and once the remaining runs have happened the page says everything is satisfied,
 * without a reload. Screenshots go to docs/images/kickstack-*.png (the README shows them).
 * Puppet 7 only: what is under test is the picture the gates make, not Puppet.
 */

import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { eventually } from '../support/wait';
import {
  type BrokerProcess,
  EXAMPLES_DIR,
  explain,
  freePort,
  type PuppetNode,
  PuppetWorld,
  type RunResult,
  runGroups,
  succeeded,
} from './support';

const SITE = { file: path.join(EXAMPLES_DIR, 'site.pp') };
const COMPUTE = 'compute.kickstack.test';
const NOVA = 'nova.kickstack.test';
const KEYSTONE = 'keystone.kickstack.test';
const MQ1 = 'mq1.kickstack.test';
const MQ2 = 'mq2.kickstack.test';
const DB = 'db.kickstack.test';
const ROLES: Record<string, string> = {
  [COMPUTE]: 'compute',
  [NOVA]: 'nova_api',
  [KEYSTONE]: 'keystone',
  [MQ1]: 'mq',
  [MQ2]: 'mq',
  [DB]: 'database',
};
// Worst order: every node runs before the nodes it depends on (kickstack.test.ts).
const WORST_STEPS = [[COMPUTE], [NOVA], [KEYSTONE], [MQ1, MQ2], [DB]];
const DEPTH = 4;

describe("puppet module: the Kickstack deployment on the broker's page, in a real browser (Puppet 7)", function () {
  this.timeout(600000);
  let world: PuppetWorld | undefined;
  let broker: BrokerProcess;
  let browser: Browser;
  let page: Page;
  let token: string;
  const nodes: Record<string, PuppetNode> = {};
  const navigations: string[] = [];
  const steps = (list: string[][]) => list.map((step) => step.map((n) => nodes[n]));
  const runSteps = async (list: string[][]): Promise<RunResult[]> => {
    const results = await runGroups(steps(list), SITE);
    for (const r of results) expect(succeeded(r), explain(r)).to.equal(true);
    return results;
  };
  const edge = (to: string, fact: string) => page.locator(`#edges tr[data-to="${to}"][data-fact="${fact}"]`).first();
  const edgeState = (to: string, fact: string) => edge(to, fact).getAttribute('data-state');
  const summary = async () => (await page.locator('#summary').textContent()) ?? '';

  before(async () => {
    // Each node's certificate carries its role (pp_role), as a Puppet CA would sign it.
    const certnames = Object.entries(ROLES).map(([n, role]) => `${n}:pp_role=${role}`);
    world = await PuppetWorld.start('kickstack-page', certnames, { broker: { adminPort: await freePort() } });
    broker = world.broker;
    token = await broker.adminToken(['graph:read']);
    for (const [name, role] of Object.entries(ROLES)) nodes[name] = world.node(name, { 'kickstack::roles': [role] });
    browser = await launchChromium();
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } }); // the dev CA is not the browser's
    page = await context.newPage();
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations.push(frame.url());
    });
  });

  after(async () => {
    await browser?.close();
    await world?.close();
  });

  it('mid-deployment, shows what each node waits for: nobody exports it yet', async () => {
    // The first half of the worst order's first round: the dependents run first.
    const first = await runSteps(WORST_STEPS.slice(0, 3));
    expect(first.find((r) => r.node === KEYSTONE)!.output).to.match(
      /Exportfact_gate\[kickstack::role::keystone\]\/ensure: reported waiting for db\.keystone_url/,
    );
    await page.goto(`${broker.adminUrl}/ui/#token=${token}&poll_ms=500`);
    await page.locator('#edges tbody tr').first().waitFor();
    navigations.length = 0; // from here on the page must update itself
    expect(page.url()).to.not.include(token);
    expect(await summary()).to.match(/^3 gates waiting/);
    expect(await edgeState(KEYSTONE, 'db.keystone_url')).to.equal('waiting');
    expect(await edge(KEYSTONE, 'db.keystone_url').getAttribute('data-from')).to.equal('');
    expect(await edgeState(NOVA, 'keystone.url')).to.equal('waiting');
    expect(await edgeState(COMPUTE, 'nova.api_url')).to.equal('waiting');
    expect(await page.locator(`#waits tr[data-node="${KEYSTONE}"]`).textContent()).to.include('nobody exports it');
  });

  it("once the database and queues ran, keystone's needs come from the database role; compute still waits", async () => {
    await runSteps(WORST_STEPS.slice(3));
    await eventually(
      "keystone's database is there",
      async () => (await edgeState(KEYSTONE, 'db.keystone_url')) === 'satisfied',
      15000,
      200,
    );
    expect(await edge(KEYSTONE, 'db.keystone_url').getAttribute('data-from')).to.equal(DB);
    // Keystone's gate stays closed until its next run: the page says who could publish what it waits for.
    const keystoneWaits = (await page.locator(`#waits tr[data-node="${KEYSTONE}"]`).textContent()) ?? '';
    expect(keystoneWaits).to.include('keystone').and.to.include('db.keystone_url').and.to.include(DB);
    expect(await edgeState(COMPUTE, 'nova.api_url')).to.equal('waiting');
    expect(await edgeState(NOVA, 'keystone.url')).to.equal('waiting');
    const graph = JSON.parse((await broker.adminCli(['graph', '--format', 'json'], { token })).stdout);
    expect(graph.nodes.find((n: { certname: string }) => n.certname === DB).role).to.equal('database');
    await page.screenshot({ path: screenshotPath('kickstack-waiting.png'), fullPage: true });

    const waits = await broker.adminCli(['waits'], { token });
    expect(waits.code, waits.stderr).to.equal(0);
    const rows = waits.stdout.trim().split('\n');
    expect(rows[0]).to.match(/^NODE\s+ROLE\s+GATE\s+WAITS FOR\s+WHO COULD PUBLISH IT\s+SINCE\s+CAUSE$/);
    expect(rows.find((l) => l.startsWith(KEYSTONE))).to.match(
      /keystone\s+kickstack::role::keystone\s+db\.keystone_url, mq\.rpc_backend\s+db\.kickstack\.test; mq1\.kickstack\.test mq2\.kickstack\.test\s+\S+\s+opens at its next run$/,
    );
    expect(rows.find((l) => l.startsWith(COMPUTE))).to.include('nobody exports it');
    // Keystone's needs are met: it is no cause, so it comes after the gates that really wait.
    expect(rows.at(-1)).to.match(new RegExp(`^${KEYSTONE.replace(/\./g, '\\.')}\\s`));
    console.log(`      exportfact waits, mid-deployment:\n${waits.stdout.replace(/^/gm, '        ')}`);
    const dot = await broker.adminCli(['graph', '--format', 'dot'], { token });
    expect(dot.stdout).to.match(/^digraph "exportfact production" \{/);
    expect(dot.stdout).to.include(`"fact db.keystone_url" -> "${KEYSTONE}" [color=darkgreen, label="satisfied"];`);
  });

  it('when the remaining runs have happened, shows everything satisfied without a reload', async () => {
    for (let round = 2; round <= DEPTH; round++) await runSteps(WORST_STEPS);
    expect(fs.existsSync(path.join(nodes[COMPUTE].serviceRoot, 'nova-compute.conf'))).to.equal(true);
    await eventually('nothing waits', async () => (await summary()).startsWith('everything satisfied'), 15000, 200);
    const states = await page.locator('#edges tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-state')));
    expect(states.length).to.be.greaterThan(5);
    expect(new Set(states)).to.deep.equal(new Set(['satisfied']));
    const timeline = (await page.locator('#timeline li').allTextContents()).join('\n');
    for (const node of [KEYSTONE, NOVA, COMPUTE]) expect(timeline).to.include(`${node}: kickstack::role::`);
    expect(navigations).to.deep.equal([]); // no reload since the first load
    expect(await page.content()).to.not.include('mysql://');
    await page.screenshot({ path: screenshotPath('kickstack-done.png'), fullPage: true });
  });
});

/** Screenshots go to docs/images/ (the README shows them); elsewhere with EXPORTFACT_SCREENSHOTS (CI). */
function screenshotPath(name: string): string {
  const dir = process.env.EXPORTFACT_SCREENSHOTS ?? path.join(__dirname, '..', '..', '..', 'docs', 'images');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
