import fs from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium: playwright-core drives it, nothing is downloaded. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * A headless Chromium, as this machine allows it: no sandbox (tests run as root), and no
 * background networking (the machine's closed network refuses it, many times over).
 */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: the browser tests need Debian's chromium (apt-get install chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
