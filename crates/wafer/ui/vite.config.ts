import { defineConfig, type Plugin } from 'vite';
import tailwindcss from '@tailwindcss/vite';

// The admin listener the dev server forwards to (`wafer demo --admin-listen`).
const ADMIN = process.env.WAFER_DEV_ADMIN ?? 'http://127.0.0.1:19443';

// In production the Rust server turns `/dashboard/?token=T` into a session
// cookie. The dev server serves /dashboard/ itself, so mimic that here by
// asking the admin listener for a cookie and handing it to the browser.
function devTokenLogin(): Plugin {
  // Returns nothing: a returned function would be run as a post-middleware hook.
  const install = (server: { middlewares: { use: (f: (req: any, res: any, next: () => void) => void) => unknown } }): void => {
      server.middlewares.use(async (req, res, next) => {
        const url = new URL(req.url ?? '/', 'http://dev');
        const token = url.searchParams.get('token');
        if (!url.pathname.startsWith('/dashboard') || token === null) return next();
        const r = await fetch(`${ADMIN}/api/policy?token=${encodeURIComponent(token)}`, { redirect: 'manual' });
        const cookie = r.headers.get('set-cookie');
        url.searchParams.delete('token');
        const clean = url.pathname + (url.search ? url.search : '');
        res.statusCode = cookie ? 303 : 401;
        if (cookie) res.setHeader('Set-Cookie', cookie);
        res.setHeader('Location', cookie ? clean : `/login?next=${encodeURIComponent(url.pathname)}`);
        res.end();
      });
  };
  return { name: 'wafer-dev-token-login', configureServer: install, configurePreviewServer: install };
}

// Opt-in (WAFER_DEV_SHIM=1) stand-ins for POST /api/policy/exclusions and
// /api/policy/ip, built on GET+PUT /api/policy, for servers that predate them.
function devPolicyShim(): Plugin {
  const install = (server: { middlewares: { use: (f: (req: any, res: any, next: () => void) => void) => unknown } }): void => {
    server.middlewares.use(async (req, res, next) => {
      const path = (req.url ?? '').split('?')[0];
      if (req.method !== 'POST' || (path !== '/api/policy/exclusions' && path !== '/api/policy/ip')) return next();
      let raw = '';
      for await (const chunk of req) raw += chunk;
      const body = JSON.parse(raw || '{}');
      const headers = { cookie: req.headers.cookie ?? '', 'content-type': 'application/json' };
      const cur = await fetch(`${ADMIN}/api/policy`, { headers });
      const doc = await cur.json();
      if (path.endsWith('exclusions')) {
        const ex = doc.exclusions.find((e: { path: string }) => e.path === body.path);
        if (ex) { if (!ex.rules.includes(body.rule)) ex.rules.push(body.rule); } else doc.exclusions.push({ path: body.path, rules: [body.rule] });
      } else if (!doc.ip[body.list].includes(body.cidr)) doc.ip[body.list].push(body.cidr);
      const put = await fetch(`${ADMIN}/api/policy`, { method: 'PUT', headers, body: JSON.stringify(doc) });
      res.statusCode = put.status;
      res.setHeader('Content-Type', 'application/json');
      res.end(await put.text());
    });
  };
  return { name: 'wafer-dev-policy-shim', configureServer: install, configurePreviewServer: install };
}

// The policy the Rust server sends with the dashboard; `vite preview` uses it
// too, so a CSP violation in the built bundle shows up before it ships.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export default defineConfig({
  base: '/dashboard/',
  plugins: [tailwindcss(), devTokenLogin(), ...(process.env.WAFER_DEV_SHIM === '1' ? [devPolicyShim()] : [])],
  build: {
    outDir: process.env.WAFER_UI_OUT ?? 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inline data: URIs for assets, so the CSP never has to allow them.
    assetsInlineLimit: 0,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    proxy: {
      '/api': ADMIN,
      '/events': ADMIN,
      '/ws': { target: ADMIN.replace(/^http/, 'ws'), ws: true },
      '/login': ADMIN,
      '/logout': ADMIN,
    },
  },
  preview: {
    host: '127.0.0.1',
    port: 4173,
    strictPort: true,
    headers: { 'Content-Security-Policy': CSP },
  },
});
