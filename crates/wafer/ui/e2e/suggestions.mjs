// The Suggestions view in headless Chromium: a proposal with its evidence and
// preview is shown; one click on Accept removes it, and the Policy view lists
// the narrow exclusion it added. The Rust test seeds the traffic first.
// Env: WAFER_ADMIN_URL, WAFER_TOKEN, WAFER_SCREENSHOT_DIR, CHROMIUM.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const ADMIN = (process.env.WAFER_ADMIN_URL ?? '').replace(/\/$/, '');
const TOKEN = process.env.WAFER_TOKEN ?? '';
const SHOTS = process.env.WAFER_SCREENSHOT_DIR ?? 'e2e-screenshots';
mkdirSync(SHOTS, { recursive: true });
const watchdog = setTimeout(() => {
  console.log('FAIL the run took longer than 90 s');
  process.exit(1);
}, 90_000);

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const problems = [];
let browser;
async function main() {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });

  await page.goto(`${ADMIN}/dashboard/?token=${encodeURIComponent(TOKEN)}`);
  await page.waitForURL(/\/dashboard\//);
  await page.click('[data-testid=nav-suggestions]');
  const card = page.locator('[data-testid=suggestion]');
  await card.first().waitFor();
  assert((await card.count()) === 1, `expected one suggestion, saw ${await card.count()}`);
  const text = await card.innerText();
  for (const want of ['/notes/*/save', 'content', 'Would have let through 6 of 8', '2 requests with this and another finding']) {
    assert(text.includes(want), `the card does not say ${JSON.stringify(want)}:\n${text}`);
  }
  assert((await page.getByTestId('suggestion-clients').innerText()) === '6', 'clients is not 6');
  // Matched texts are shown as text, never parsed as HTML.
  assert((await card.locator('iframe').count()) === 0, 'a matched example became an element');
  await page.screenshot({ path: join(SHOTS, 'suggestions.png'), fullPage: true });

  // One click.
  await page.click('[data-testid=suggestion-accept]');
  await page.waitForSelector('[data-testid=toast][data-kind=ok]');
  await page.waitForSelector('[data-testid=suggestion]', { state: 'detached' });
  await page.waitForSelector('[data-testid=suggestions-empty]');
  // Reloaded from the server, it stays gone.
  await page.click('[data-testid=suggestions-refresh]');
  await page.waitForSelector('[data-testid=suggestions-empty]');
  assert((await card.count()) === 0, 'the accepted suggestion came back');

  await page.click('[data-testid=nav-policy]');
  const row = page.locator('[data-testid=exclusion-row]');
  await row.first().waitFor();
  assert((await row.count()) === 1, `expected one exclusion row, saw ${await row.count()}`);
  const path = await row.locator('[data-testid=exclusion-path]').inputValue();
  const args = await row.locator('[data-testid=exclusion-args]').inputValue();
  const rules = await row.locator('[data-testid=exclusion-rules]').inputValue();
  assert(path === '/notes/*/save' && args === 'content' && rules.length > 0, `exclusion row: ${path} | ${rules} | ${args}`);
  await page.screenshot({ path: join(SHOTS, 'suggestions-policy.png'), fullPage: true });
  // Saving the policy unchanged keeps the arguments (the editor round-trips them).
  await page.click('[data-testid=policy-save]');
  await page.waitForSelector('[data-testid=policy-status]:has-text("Saved")');
  const doc = await (await fetch(`${ADMIN}/api/policy`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
  assert(JSON.stringify(doc.exclusions[0].args) === '["content"]', `after save: ${JSON.stringify(doc.exclusions)}`);

  const csp = await page.evaluate(() => window.__csp);
  problems.push(...csp.map((v) => `CSP violation: ${v}`));
  assert(problems.length === 0, problems.join(' | '));
  console.log(`ok suggestion shown, accepted in one click, listed in the policy: ${path} | ${rules} | ${args}`);
}

main()
  .then(() => 0, (e) => {
    console.log(`FAIL ${e?.stack ?? e}`);
    return 1;
  })
  .then(async (code) => {
    clearTimeout(watchdog);
    await browser?.close().catch(() => {});
    process.exit(code);
  });
