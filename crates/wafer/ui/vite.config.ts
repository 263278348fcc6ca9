import { defineConfig, type Plugin } from 'vite';
import tailwindcss from '@tailwindcss/vite';

// The admin listener the dev server forwards to (`wafer demo --admin-listen`).
const ADMIN = process.env.WAFER_DEV_ADMIN ?? 'http://127.0.0.1:19443';

// In production the Rust server turns `/dashboard/?token=T` into a session
// cookie. The dev server serves /dashboard/ itself, so mimic that here by
// asking the admin listener for a cookie and handing it to the browser.
function devTokenLogin(): Plugin {
  return {
    name: 'wafer-dev-token-login',
    apply: 'serve',
    configureServer(server) {
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
    },
  };
}

export default defineConfig({
  base: '/dashboard/',
  plugins: [tailwindcss(), devTokenLogin()],
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
});
