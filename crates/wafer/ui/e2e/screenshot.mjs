// The README's screenshot: the overview of a running Wafer, logged in with
// the ?token= link. Env: WAFER_ADMIN_URL, WAFER_TOKEN, OUT (PNG path),
// THEME (light|dark), RANGE (15m, 1h, 24h, 7d), CHROMIUM.
import { chromium } from 'playwright-core';

const ADMIN = (process.env.WAFER_ADMIN_URL ?? 'http://127.0.0.1:9443').replace(/\/$/, '');
const TOKEN = process.env.WAFER_TOKEN ?? '';
const OUT = process.env.OUT ?? 'dashboard.png';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const ctx = await browser.newContext({
    viewport: { width: 1366, height: 900 },
    colorScheme: process.env.THEME === 'dark' ? 'dark' : 'light',
  });
  const page = await ctx.newPage();
  await page.goto(`${ADMIN}/dashboard/?token=${encodeURIComponent(TOKEN)}#/overview`);
  await page.waitForSelector('[data-testid=stats-status]:not(:empty)');
  if (process.env.RANGE) await page.click(`[data-testid=range-${process.env.RANGE}]`);
  // Let the live counters fill and the charts finish their animation.
  await page.waitForTimeout(3500);
  await page.screenshot({ path: OUT });
  console.log(`wrote ${OUT}`);
} finally {
  await browser.close();
}
