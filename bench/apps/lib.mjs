// Shared by jupyter.mjs and wordpress.mjs: launching Debian's Chromium,
// running named steps with a pass/fail verdict, and recording every request
// the browser sends (HTTP and WebSocket messages) as a labelled corpus.
//
// Environment: BASE (the site, e.g. http://127.0.0.1:18811), RECORD (write the
// capture to this JSON Lines file), CHROMIUM (default /usr/bin/chromium),
// SHOTS (a folder for a screenshot of each failed step).

import { chromium } from 'playwright-core';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';

export const BASE = (process.env.BASE || 'http://127.0.0.1:18811').replace(/\/$/, '');
const SHOTS = process.env.SHOTS || '';

// Static assets tell nothing about the application's own inputs and would
// make the capture large: their GETs are not kept.
const STATIC = /\.(js|mjs|css|woff2?|ttf|otf|eot|png|jpe?g|gif|svg|ico|map|webp)(\?|$)/i;

export class Run {
  constructor(source) {
    this.source = source;
    this.step = 'setup';
    this.records = [];
    this.results = [];
    this.seen403 = [];
    this.wsClosed = [];
    this.base = BASE;
  }

  async launch() {
    if (process.env.RECORD) await this.recordingProxy();
    this.browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
    return this.browser;
  }

  // A context whose traffic is recorded and whose 403s fail the step.
  async context(options = {}) {
    const ctx = await this.browser.newContext({ viewport: { width: 1400, height: 900 }, ...options });
    ctx.setDefaultTimeout(20000);
    ctx.on('request', (req) => this.onRequest(req));
    ctx.on('response', (res) => {
      if (res.status() === 403) this.seen403.push({ step: this.step, method: res.request().method(), url: res.url() });
    });
    ctx.on('page', (page) => this.watchSockets(page));
    return ctx;
  }

  watchSockets(page) {
    page.on('websocket', (ws) => {
      const target = pathOf(ws.url());
      let n = 0;
      ws.on('framesent', ({ payload }) => {
        n += 1;
        const rec = { step: this.step, kind: 'ws_message', method: 'WS', uri: target, ws_n: n };
        if (typeof payload === 'string') {
          rec.ws_opcode = 'text';
          rec.body = payload;
        } else {
          rec.ws_opcode = 'binary';
          rec.body_b64 = Buffer.from(payload).toString('base64');
        }
        this.records.push(rec);
      });
      ws.on('close', () => this.wsClosed.push({ step: this.step, url: target }));
    });
  }

  // When recording, the browser talks to a small proxy in this process that
  // keeps each request as it arrived (header order and case, and the bodies of
  // file uploads, which Chromium does not hand to page.on('request')), then
  // passes it on to BASE. WebSocket upgrades are piped through untouched; their
  // messages are taken from page.on('websocket').
  async recordingProxy() {
    const upstream = new URL(BASE);
    const server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        this.keep(req.method, req.url, pairs(req.rawHeaders), body);
        const up = http.request(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
          (r) => {
            res.writeHead(r.statusCode, r.rawHeaders);
            r.pipe(res);
          },
        );
        up.on('error', () => res.destroy());
        up.end(body);
      });
    });
    server.on('upgrade', (req, socket, head) => {
      this.keep(req.method, req.url, pairs(req.rawHeaders), Buffer.alloc(0));
      const up = net.connect(Number(upstream.port), upstream.hostname, () => {
        let raw = `${req.method} ${req.url} HTTP/1.1\r\n`;
        for (const [n, v] of pairs(req.rawHeaders)) raw += `${n}: ${v}\r\n`;
        up.write(raw + '\r\n');
        if (head.length) up.write(head);
        up.pipe(socket);
        socket.pipe(up);
      });
      up.on('error', () => socket.destroy());
      socket.on('error', () => up.destroy());
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    this.proxy = server;
    this.base = `http://127.0.0.1:${server.address().port}`;
    return this.base;
  }

  keep(method, uri, headers, body) {
    if (method === 'GET' && STATIC.test(uri.split('?')[0])) return;
    const rec = { step: this.step, method, uri, headers };
    if (body.length) {
      const text = body.toString('utf8');
      if (Buffer.from(text, 'utf8').equals(body)) rec.body = text;
      else rec.body_b64 = body.toString('base64');
    }
    this.records.push(rec);
  }

  onRequest(req) {
    if (this.proxy) return;
    const method = req.method();
    const url = req.url();
    if (!url.startsWith(this.base)) return;
    if (method === 'GET' && STATIC.test(new URL(url).pathname)) return;
    const rec = { step: this.step, method, uri: pathOf(url) };
    const body = req.postDataBuffer();
    // Headers as sent on the wire (cookies included) are only known a moment later.
    rec.pending = req.allHeaders().then((h) => {
      rec.headers = Object.entries(h).filter(([n]) => !n.startsWith(':'));
    });
    if (body && body.length) {
      const text = body.toString('utf8');
      if (Buffer.from(text, 'utf8').equals(body)) rec.body = text;
      else rec.body_b64 = body.toString('base64');
    }
    this.records.push(rec);
  }

  // Runs one step: it passes when `fn` returns without throwing and no 403
  // (nor a WebSocket closed under it) was seen while it ran.
  async run(name, fn, { page } = {}) {
    this.step = name;
    const before403 = this.seen403.length;
    const beforeClosed = this.wsClosed.length;
    const t0 = Date.now();
    let error = null;
    try {
      await fn();
    } catch (e) {
      error = String(e && e.message ? e.message : e).split('\n')[0];
    }
    const blocked = this.seen403.slice(before403);
    const closed = this.wsClosed.slice(beforeClosed);
    const ok = !error && blocked.length === 0;
    const r = { step: name, ok, t0, ms: Date.now() - t0 };
    if (error) r.error = error;
    if (blocked.length) r.blocked = blocked.map((b) => `${b.method} ${pathOf(b.url)}`);
    if (closed.length) r.ws_closed = closed.map((c) => c.url);
    this.results.push(r);
    console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${error ? ` (${error})` : ''}${blocked.length ? ` [403: ${r.blocked.join(', ')}]` : ''}`);
    if (!ok && page && SHOTS) {
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: `${SHOTS}/${this.source.replace(/\W/g, '_')}-${name.replace(/\W/g, '_')}.png` }).catch(() => {});
    }
    return ok;
  }

  async finish(secretsFromRun = []) {
    await Promise.all(this.records.map((r) => r.pending && r.pending.catch(() => {})));
    await this.browser.close().catch(() => {});
    if (this.proxy) this.proxy.close();
    const passed = this.results.filter((r) => r.ok).length;
    console.log(`steps passed ${passed}/${this.results.length}`);
    console.log(`RESULTS ${JSON.stringify(this.results)}`);
    if (process.env.RECORD) {
      const lines = scrub(this.records, this.source, secretsFromRun).map((r) => JSON.stringify(r));
      writeFileSync(process.env.RECORD, lines.join('\n') + '\n');
      console.log(`recorded ${lines.length} requests to ${process.env.RECORD}`);
    }
    return passed === this.results.length;
  }
}

function pairs(raw) {
  const out = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i], raw[i + 1]]);
  return out;
}

export function pathOf(url) {
  const u = new URL(url);
  return u.pathname + u.search;
}

// ---- scrubbing -------------------------------------------------------------
// Secrets are replaced everywhere they occur (cookie, header, URL, body) by a
// stable fake of the same shape: same length, letters stay letters of the same
// case, digits stay digits, `%XX` escapes and punctuation are kept. Cookie
// names are kept (a logged-in editor is recognised by them).

// Cookies whose values are preferences, not credentials: kept as they are.
const PLAIN_COOKIES = /^(wp-settings-(time-)?\d+|wordpress_test_cookie|wp_lang)$/;
const SECRET_HEADERS = new Set(['authorization', 'x-xsrftoken', 'x-wp-nonce', 'x-csrftoken']);
const SECRET_PARAMS = /(^|[?&;\s"])(_wpnonce|_ajax_nonce|_xsrf|token|nonce|pwd|pass1|pass2|post_password|session_id)=([^&"\s]+)/g;

function fake(value, seed) {
  const h = createHash('sha256').update(`wafer-apps-fake:${seed}`).digest();
  let i = 0;
  const next = () => h[i++ % h.length] + i;
  return value.replace(/%[0-9A-Fa-f]{2}|[a-z]|[A-Z]|[0-9]/g, (c) => {
    if (c.length === 3) return c;
    if (c >= '0' && c <= '9') return String(next() % 10);
    const a = c >= 'a' && c <= 'z' ? 97 : 65;
    return String.fromCharCode(a + (next() % 26));
  });
}

function scrub(records, source, extra) {
  const secrets = new Map();
  const learn = (v) => {
    if (!v || v.length < 6 || secrets.has(v)) return;
    secrets.set(v, fake(v, `${source}:${secrets.size}`));
    // The same secret percent-decoded or encoded, as it appears elsewhere.
    for (const alt of [safeDecode(v), encodeURIComponent(v)]) {
      if (alt && alt !== v && alt.length >= 6 && !secrets.has(alt)) secrets.set(alt, fake(alt, `${source}:${secrets.size}`));
    }
  };
  for (const v of extra) learn(v);
  for (const r of records) {
    for (const [name, value] of r.headers || []) {
      const n = name.toLowerCase();
      if (n === 'cookie') {
        for (const part of value.split(/;\s*/)) {
          const eq = part.indexOf('=');
          if (eq > 0 && !PLAIN_COOKIES.test(part.slice(0, eq))) learn(part.slice(eq + 1));
        }
      } else if (SECRET_HEADERS.has(n)) {
        learn(value.replace(/^(token|bearer)\s+/i, ''));
      }
    }
    for (const text of [r.uri, r.body || '']) {
      for (const m of text.matchAll(SECRET_PARAMS)) learn(m[3]);
      for (const m of text.matchAll(/"(session|token|_xsrf)"\s*:\s*"([^"]+)"/g)) learn(m[2]);
    }
  }
  // Longest first, so a secret that contains another is replaced whole.
  const order = [...secrets.keys()].sort((a, b) => b.length - a.length);
  const clean = (s) => {
    for (const k of order) if (s.includes(k)) s = s.split(k).join(secrets.get(k));
    return s;
  };
  return records.map((r, i) => {
    const out = {
      id: `${source}:${String(i + 1).padStart(4, '0')}`,
      source,
      step: r.step,
      label: 'benign',
      class: null,
    };
    if (r.kind) out.kind = r.kind;
    out.method = r.method;
    out.uri = clean(r.uri);
    if (r.kind === 'ws_message') {
      out.ws_n = r.ws_n;
      out.ws_opcode = r.ws_opcode;
    } else {
      out.version = 'HTTP/1.1';
      out.headers = (r.headers || []).map(([n, v]) => [n, clean(v)]);
    }
    if (r.body !== undefined) out.body = clean(r.body);
    if (r.body_b64 !== undefined) {
      const raw = Buffer.from(r.body_b64, 'base64');
      // Binary WebSocket frames carry JSON parts: scrub them as text, byte-length kept.
      const s = raw.toString('latin1');
      const c = cleanLatin1(s, order, secrets);
      out.body_b64 = Buffer.from(c, 'latin1').toString('base64');
    }
    return out;
  });
}

function cleanLatin1(s, order, secrets) {
  for (const k of order) {
    if (/^[\x20-\x7e]+$/.test(k) && s.includes(k)) s = s.split(k).join(secrets.get(k));
  }
  return s;
}

function safeDecode(v) {
  try {
    return decodeURIComponent(v);
  } catch {
    return null;
  }
}

// ---- small helpers ---------------------------------------------------------

export async function expectText(locator, text, timeout = 20000) {
  await locator.filter({ hasText: text }).first().waitFor({ state: 'visible', timeout });
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
