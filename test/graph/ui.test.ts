// The deployment page in a real browser (Debian's Chromium driven by playwright-core): it shows
// who waits on what, updates itself when a fact appears (no reload), says when the broker is
// unreachable and recovers; the token stays in the fragment, never in a request or a log.
import fs from 'node:fs';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { issueAdminToken } from '../../src/admin/token';
import { startTestBroker, type TestBroker } from '../support/broker';
import { launchChromium } from '../support/browser';
import { eventually } from '../support/wait';

const gate = (open: boolean, requires: string[]) => ({
  open,
  requires: requires.map((r) => ({ category: r.split('.')[0], name: r.split('.')[1] })),
  missing: open ? [] : requires.map((r) => ({ category: r.split('.')[0], name: r.split('.')[1] })),
});

describe('the deployment page (a real browser)', function () {
  this.timeout(120_000);
  let t: TestBroker;
  let browser: Browser;
  let page: Page;
  let token: string;
  const edgeState = (to: string, fact: string) =>
    page.locator(`#edges tr[data-to="${to}"][data-fact="${fact}"]`).first().getAttribute('data-state');

  before(async () => {
    t = await startTestBroker({ admin: { certnames: [] } });
    token = await issueAdminToken(fs.readFileSync(t.config.admin!.signingKeyFile, 'utf8'), { subject: 'ui-test', scopes: ['graph:read'] });
    await t.client(t.pki.clients.bob).put('/v1/gates/role%3A%3Akeystone', gate(false, ['db.keystone_url']));
    browser = await launchChromium();
    const context = await browser.newContext({ ignoreHTTPSErrors: true }); // the dev CA is not the browser's
    page = await context.newPage();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows what keystone waits for, and that nobody exports it', async () => {
    await page.goto(`${t.broker.adminUrl}/ui/#token=${token}&poll_ms=300`);
    await page.locator('#waits tbody tr').first().waitFor();
    expect(await page.locator('#summary').textContent()).to.match(/^1 gate waiting/);
    expect(await page.locator('#waits tbody tr').first().textContent()).to.include('nobody exports it');
    expect(await edgeState('bob.test', 'db.keystone_url')).to.equal('waiting');
    expect(await page.locator('#graph canvas').count()).to.be.greaterThan(0);
    // The token left the address bar at once.
    expect(page.url()).to.not.include(token);
    await page.screenshot({ path: screenshotPath('graph-waiting.png') });
  });

  it('updates itself when the fact appears and the gate opens, without a reload', async () => {
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));
    await t.client(t.pki.clients.alice).put('/v1/facts/db/keystone_url', { value: 'mysql://db/keystone' });
    await eventually('the need turns satisfied', async () => (await edgeState('bob.test', 'db.keystone_url')) === 'satisfied', 10_000, 200);
    await t.client(t.pki.clients.bob).put('/v1/gates/role%3A%3Akeystone', gate(true, ['db.keystone_url']));
    await eventually(
      'nothing waits',
      async () => (await page.locator('#summary').textContent())?.startsWith('everything satisfied') ?? false,
      10_000,
      200,
    );
    expect(await page.locator('#timeline li').first().textContent()).to.match(/bob\.test: role::keystone opened/);
    expect(navigations).to.deep.equal([]);
    expect(await page.content()).to.not.include('mysql://db/keystone');
    await page.screenshot({ path: screenshotPath('graph-satisfied.png') });
  });

  it('never sends or logs the token in a URL', () => {
    expect(t.logs.text).to.not.include(token);
  });

  it('says "broker unreachable" while the broker is away, and carries on when it is back', async () => {
    const { store, audit } = t.config;
    const adminPort = Number(new URL(t.broker.adminUrl!).port);
    await t.close();
    await eventually(
      'the page says the broker is unreachable',
      async () => ((await page.locator('#connection').textContent()) ?? '').startsWith('broker unreachable'),
      10_000,
      200,
    );
    // The same broker again: same store, same keys (its token key), same admin port.
    t = await startTestBroker({ store, admin: { certnames: [] }, adminPort, reuseDir: audit.keyFile.replace(/\/[^/]+$/, '') });
    await eventually(
      'the page is back',
      async () =>
        (await page.locator('#connection').isHidden()) &&
        ((await page.locator('#summary').textContent()) ?? '').startsWith('everything satisfied'),
      15_000,
      200,
    );
  });

  it('without a token with graph:read, says it is not allowed', async () => {
    const other = await browser.newPage({ ignoreHTTPSErrors: true });
    await other.goto(`${t.broker.adminUrl}/ui/#poll_ms=300`);
    await eventually(
      'the page says why',
      async () => ((await other.locator('#connection').textContent()) ?? '').includes('not allowed'),
      10_000,
      200,
    );
    await other.close();
  });
});

/** Screenshots go to docs/images/ (the README shows them); a temporary folder under CI. */
function screenshotPath(name: string): string {
  const dir = process.env.EXPORTFACT_SCREENSHOTS ?? `${__dirname}/../../../docs/images`;
  fs.mkdirSync(dir, { recursive: true });
  return `${dir}/${name}`;
}
