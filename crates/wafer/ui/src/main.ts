// App shell: sidebar navigation, header info, theme toggle, log out, and the
// hash router that mounts one view at a time.
import './style.css';
import { api, ApiError, toLogin } from './api';
import { closeDrawer } from './drawer';
import { h, icon, replace } from './dom';
import { isDark, onTheme, toggleTheme } from './theme';
import { bansView } from './views/bans';
import { feedView } from './views/feed';
import { modelView } from './views/model';
import { overviewView } from './views/overview';
import { policyView } from './views/policy';
import { searchView } from './views/search';
import { suggestionsView } from './views/suggestions';

type View = (root: HTMLElement) => () => void;

const ROUTES: { key: string; label: string; icon: string; view: View }[] = [
  { key: 'overview', label: 'Overview', icon: 'M4 4h7v7H4zM13 4h7v4h-7zM13 10h7v10h-7zM4 13h7v7H4z', view: overviewView },
  { key: 'feed', label: 'Live feed', icon: 'M3 12h4l3-8 4 16 3-8h4', view: feedView },
  { key: 'search', label: 'Search', icon: 'M11 4a7 7 0 1 0 0 14 7 7 0 0 0 0-14zM20 20l-4-4', view: searchView },
  { key: 'policy', label: 'Policy', icon: 'M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z', view: policyView },
  { key: 'suggestions', label: 'Suggestions', icon: 'M9 18h6M10 21h4M12 3a6 6 0 0 0-4 10.5c.6.6 1 1.5 1 2.5h6c0-1 .4-1.9 1-2.5A6 6 0 0 0 12 3z', view: suggestionsView },
  { key: 'bans', label: 'Bans', icon: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM5.6 5.6l12.8 12.8', view: bansView },
  { key: 'model', label: 'Model', icon: 'M9 3v3M15 3v3M9 18v3M15 18v3M3 9h3M3 15h3M18 9h3M18 15h3M6 6h12v12H6zM10 10h4v4h-4z', view: modelView },
];

const main = h('main', { id: 'main', class: 'min-w-0 flex-1 space-y-4 p-4 md:p-6', tabindex: -1 });
const navLinks = ROUTES.map((r) => h('a', { href: '#/' + r.key, class: 'nav-link', 'data-testid': 'nav-' + r.key }, icon(r.icon), r.label));
const infoLine = h('p', { class: 'text-xs text-slate-500', 'data-testid': 'server-info' }, 'Wafer');
const themeLabel = h('span');
const themeBtn = h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'theme-toggle', onclick: toggleTheme }, themeLabel);
const syncTheme = () => {
  // A toggle button keeps one label; aria-pressed says whether dark is on.
  replace(themeLabel, 'Dark theme');
  themeBtn.setAttribute('aria-pressed', String(isDark()));
};
onTheme(syncTheme);
syncTheme();

// POST /logout via a real form, so it works like the server's own pages.
const logout = h('form', { method: 'post', action: '/logout', class: 'contents' },
  h('button', { type: 'submit', class: 'btn btn-sm', 'data-testid': 'logout' }, 'Log out'));

const nav = h('nav', {
  id: 'sidebar',
  class: 'hidden md:flex md:sticky md:top-0 md:h-screen w-full md:w-56 shrink-0 flex-col gap-1 border-b md:border-b-0 md:border-r border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-900',
  'aria-label': 'Main',
},
h('a', { href: '#/overview', class: 'mb-4 hidden items-center gap-2 px-3 text-lg font-bold md:flex' }, h('span', { class: 'size-3 rounded-sm bg-sky-500' }), 'Wafer'),
navLinks,
h('div', { class: 'mt-auto space-y-2 border-t border-slate-200 px-1 pt-3 dark:border-slate-800' },
  h('div', { class: 'flex flex-wrap gap-2' }, themeBtn, logout), infoLine));

const menuBtn = h('button', {
  type: 'button', class: 'btn btn-sm', 'aria-controls': 'sidebar', 'aria-expanded': 'false', 'data-testid': 'menu-toggle',
  onclick: () => setMenu(nav.classList.contains('hidden')),
}, icon('M4 6h16M4 12h16M4 18h16', 'size-4'), 'Menu');
function setMenu(open: boolean) {
  nav.classList.toggle('hidden', !open);
  nav.classList.toggle('flex', open);
  menuBtn.setAttribute('aria-expanded', String(open));
}
const topbar = h('header', { class: 'flex items-center justify-between border-b border-slate-200 bg-white px-4 py-2 md:hidden dark:border-slate-800 dark:bg-slate-900' },
  h('a', { href: '#/overview', class: 'flex items-center gap-2 font-bold' }, h('span', { class: 'size-3 rounded-sm bg-sky-500' }), 'Wafer'), menuBtn);

const skip = h('a', { href: '#main', class: 'sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 btn', onclick: (e: Event) => { e.preventDefault(); main.focus(); } }, 'Skip to content');
replace(document.getElementById('app')!, skip, topbar, h('div', { class: 'md:flex' }, nav, main));

let unmount: (() => void) | null = null;
let currentKey = '';
function route(): void {
  const key = location.hash.replace(/^#\/?/, '').split('?')[0] || 'overview';
  const r = ROUTES.find((x) => x.key === key) ?? ROUTES[0];
  closeDrawer();
  setMenu(false);
  unmount?.();
  replace(main);
  for (const [i, a] of navLinks.entries()) {
    if (ROUTES[i] === r) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${r.label} · Wafer`;
  main.dataset.view = r.key;
  if (currentKey && currentKey !== r.key) main.focus({ preventScroll: true });
  currentKey = r.key;
  unmount = r.view(main);
}
// Views open live connections, so mount them only once the session is known
// to be good: otherwise the first paint would fire a burst of 401s before the
// redirect to the login page.
async function start(): Promise<void> {
  replace(main, h('p', { class: 'text-sm text-slate-500' }, 'Loading…'));
  try {
    const i = await api.info();
    replace(infoLine, `Wafer ${i.version ?? ''}${i.node ? ' · ' + i.node : ''}${i.store ? ' · ' + i.store : ''}`);
  } catch (e) {
    if ((e as ApiError).status === 401) return; // api already went to /login
    // A server without /api/info (404): check the session on a route every
    // server has.
    const r = await fetch('/api/policy', { credentials: 'same-origin' }).catch(() => null);
    if (r?.status === 401) return toLogin();
  }
  window.addEventListener('hashchange', route);
  route();
}
void start();
