// Cross-site request forgery against the admin API, in headless Chromium.
// Logs in to the dashboard, then opens pages served from ANOTHER port on
// 127.0.0.1 (same site, other origin: SameSite=Strict does not stop these)
// that try every write with the session cookie: no-cors fetches with
// text/plain bodies, a cors fetch (which needs a preflight), and plain
// auto-submitting HTML forms (enctype=text/plain, urlencoded, multipart).
// Then checks through the API, with the bearer token, that nothing changed
// and that the session is still alive; then makes the same writes from the
// dashboard's own origin and checks that they applied.
//
// Env: WAFER_ADMIN_URL, WAFER_TOKEN, CHROMIUM. Prints one line per attempt;
// exit code 0 only if nothing changed and the dashboard's own writes work.
// With EXPECT_CHANGES=1 it only reports what changed (to show a vulnerable
// build) and exits 0.
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';

const ADMIN = (process.env.WAFER_ADMIN_URL ?? 'http://127.0.0.1:19443').replace(/\/$/, '');
const TOKEN = process.env.WAFER_TOKEN ?? '';
const REPORT_ONLY = process.env.EXPECT_CHANGES === '1';
if (!TOKEN) {
  console.error('WAFER_TOKEN is required');
  process.exit(2);
}
const bearer = { Authorization: `Bearer ${TOKEN}` };
const watchdog = setTimeout(() => {
  console.error('FAIL overall timeout (90 s)');
  process.exit(1);
}, 90_000);

// What an attacker would like to do. Each body is written so that, sent as
// text/plain, it is still the JSON the route wants (a form field's "=" lands
// inside a string).
const PROBE_IP = '203.0.113.66';
const BAN_IP = '198.51.100.66';
const LIFT_IP = '198.51.100.77'; // banned beforehand; an attacker would lift it
const writes = [
  { method: 'POST', path: '/api/policy/ip', json: { list: 'allow', cidr: '0.0.0.0/0' }, field: ['{"list":"allow","cidr":"0.0.0.0/0","x":"', '"}'] },
  { method: 'POST', path: '/api/policy/ip', json: { list: 'block', cidr: PROBE_IP }, field: ['{"list":"block","cidr":"' + PROBE_IP + '","x":"', '"}'] },
  { method: 'POST', path: '/api/policy/exclusions', json: { path: '/csrf-probe', rule: '942100' }, field: ['{"rule":"942100","path":"/csrf-probe', '"}'] },
  { method: 'POST', path: '/api/bans', json: { ip: BAN_IP, minutes: 60, reason: 'csrf' }, field: ['{"ip":"' + BAN_IP + '","minutes":60,"reason":"x', '"}'] },
  { method: 'PUT', path: '/api/policy', json: null, field: null }, // filled in from the current policy
  { method: 'POST', path: '/api/model/rollback', json: {}, field: ['{"x":"', '"}'] },
  { method: 'POST', path: '/api/model/activate', json: { version: 'csrf' }, field: ['{"version":"csrf', '"}'] },
  { method: 'DELETE', path: `/api/bans/${LIFT_IP}`, json: null, field: null },
  { method: 'POST', path: '/logout', json: null, field: ['x', 'y'] },
];

async function api(path, init = {}) {
  const r = await fetch(ADMIN + path, { ...init, headers: { ...bearer, ...(init.headers ?? {}) } });
  const text = await r.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: r.status, body, etag: r.headers.get('etag') };
}

// What an attacker could change: the policy and the bans.
async function snapshot() {
  const policy = (await api('/api/policy')).body;
  const bans = (await api('/api/bans')).body.bans.map((b) => b.ip).sort();
  return JSON.stringify({ policy, bans });
}

function attackerPage(kind, w, admin) {
  const url = admin + w.path;
  if (kind === 'fetch') {
    const body = JSON.stringify(w.json ?? {});
    return `<!doctype html><script>
      const tries = [
        fetch(${JSON.stringify(url)}, { mode: 'no-cors', method: ${JSON.stringify(w.method)}, credentials: 'include', headers: { 'Content-Type': 'text/plain' }, body: ${JSON.stringify(body)} }),
        fetch(${JSON.stringify(url)}, { mode: 'cors', method: ${JSON.stringify(w.method)}, credentials: 'include', headers: { 'Content-Type': 'application/json' }, body: ${JSON.stringify(w.method === 'DELETE' ? null : body)} }),
      ];
      Promise.allSettled(tries).then((r) => { document.title = 'done ' + r.map((x) => x.status).join(','); });
    </script>`;
  }
  const [name, value] = w.field ?? ['x', 'y'];
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  return `<!doctype html><form method=post enctype="${kind}" action="${esc(url)}">
    <input name="${esc(name)}" value="${esc(value)}"></form>
    <script>document.forms[0].submit()</script>`;
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // The attacker: another port on the same host.
  let current = '';
  const evil = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(current);
  });
  await new Promise((r) => evil.listen(0, '127.0.0.1', r));
  const EVIL = `http://127.0.0.1:${evil.address().port}`;
  console.log(`attacker pages at ${EVIL}, admin at ${ADMIN}`);

  // A ban to lift, and the PUT body: the current policy, wide open.
  await api('/api/bans', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ip: LIFT_IP, minutes: 60 }) });
  const policy = (await api('/api/policy')).body;
  const open = { ...policy, mode: 'off', threshold: 10000 };
  const put = writes.find((w) => w.method === 'PUT');
  put.json = open;

  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(`${ADMIN}/dashboard/`);
  await page.waitForURL(/\/login/);
  await page.fill('input[name=token]', TOKEN);
  await Promise.all([page.waitForURL(/\/dashboard\//), page.click('form[action="/login"] button')]);
  const loggedIn = await page.evaluate(async () => (await fetch('/api/info')).status);
  if (loggedIn !== 200) throw new Error(`not logged in after the form: ${loggedIn}`);

  const before = await snapshot();
  const attacker = await ctx.newPage();
  attacker.setDefaultTimeout(10_000);
  let attempts = 0;
  const answers = [];
  for (const w of writes) {
    for (const kind of ['fetch', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
      if (kind !== 'fetch' && !w.field) continue; // a form cannot PUT or DELETE
      current = attackerPage(kind, w, ADMIN);
      attempts += 1;
      const seen = [];
      const listener = (r) => {
        if (r.url().startsWith(ADMIN + w.path)) seen.push(r.status());
      };
      attacker.on('response', listener);
      if (kind === 'fetch') {
        await attacker.goto(`${EVIL}/${attempts}`);
        await attacker.waitForFunction(() => document.title.startsWith('done'));
      } else {
        await Promise.all([
          attacker.waitForURL((u) => u.href.startsWith(ADMIN), { waitUntil: 'load' }),
          attacker.goto(`${EVIL}/${attempts}`),
        ]);
      }
      attacker.off('response', listener);
      const line = `${w.method} ${w.path} via ${kind}: admin answered ${seen.join(',') || '(nothing: blocked by the browser)'}`;
      answers.push(line);
      console.log(`try  ${line}`);
      if (w.path === '/logout' || REPORT_ONLY) continue;
      // The session survives every attempt (no forged logout either).
      const still = await page.evaluate(async () => (await fetch('/api/info')).status);
      if (still !== 200) throw new Error(`the session died after ${line}`);
    }
  }
  const after = await snapshot();
  const sessionAlive = await page.evaluate(async () => (await fetch('/api/info')).status);
  const changed = before !== after;
  console.log(`${attempts} cross-origin attempts; state changed: ${changed}; session alive: ${sessionAlive === 200}`);
  if (changed) {
    console.log(`before: ${before}`);
    console.log(`after:  ${after}`);
  }
  if (REPORT_ONLY) {
    await browser.close();
    evil.close();
    return 0;
  }
  let failed = changed || sessionAlive !== 200;

  // The same writes from the dashboard's own origin work.
  const own = await page.evaluate(async ({ probe, ban, lift }) => {
    const j = (method, url, body, extra = {}) =>
      fetch(url, { method, credentials: 'same-origin', headers: { 'Content-Type': 'application/json', ...extra }, body: body === undefined ? undefined : JSON.stringify(body) }).then((r) => r.status);
    const out = {};
    out.ip = await j('POST', '/api/policy/ip', { list: 'block', cidr: probe });
    out.exclusion = await j('POST', '/api/policy/exclusions', { path: '/csrf-own', rule: '942100' });
    out.ban = await j('POST', '/api/bans', { ip: ban, minutes: 5 });
    out.lift = await j('DELETE', '/api/bans/' + lift);
    const r = await fetch('/api/policy');
    const p = await r.json();
    p.threshold = 7;
    out.put = await j('PUT', '/api/policy', p, { 'If-Match': r.headers.get('etag') });
    return out;
  }, { probe: PROBE_IP, ban: BAN_IP, lift: LIFT_IP });
  console.log(`own origin: ${JSON.stringify(own)}`);
  const final = JSON.parse(await snapshot());
  const applied =
    Object.values(own).every((s) => s >= 200 && s < 300) &&
    final.policy.ip.block.some((c) => c.startsWith(PROBE_IP)) &&
    final.policy.exclusions.some((e) => e.path === '/csrf-own') &&
    final.policy.threshold === 7 &&
    final.bans.includes(BAN_IP) &&
    !final.bans.includes(LIFT_IP);
  console.log(`own-origin writes applied: ${applied}`);
  failed ||= !applied;
  // Logging out from the dashboard still works.
  const out = await page.evaluate(async () => (await fetch('/logout', { method: 'POST', credentials: 'same-origin', redirect: 'manual' })).type);
  const gone = await page.evaluate(async () => (await fetch('/api/info')).status);
  console.log(`own logout: ${out}, then /api/info answers ${gone}`);
  failed ||= gone !== 401;
  await browser.close();
  evil.close();
  return failed ? 1 : 0;
}

main()
  .then((code) => {
    clearTimeout(watchdog);
    console.log(code === 0 ? 'PASS' : 'FAIL');
    process.exit(code);
  })
  .catch((e) => {
    console.error(`FAIL ${e?.stack ?? e}`);
    process.exit(1);
  });
