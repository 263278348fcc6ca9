// The event detail drawer: everything about one request, its findings with
// the matched text highlighted, and one-click policy actions.
import { api, ApiError } from './api';
import { h, replace, fmtTime, icon } from './dom';
import { inputCls } from './filters';
import { toast } from './toast';
import type { AnomalyVerdict, Finding, WafEvent } from './types';

export function actionBadge(a: string): HTMLElement {
  const cls = a === 'block' || a === 'flag' || a === 'allow' ? 'act-' + a : 'sev-other';
  return h('span', { class: 'badge ' + cls, 'data-testid': 'action-badge' }, a);
}

export function severityBadge(s: string): HTMLElement {
  const cls = ['critical', 'error', 'warning', 'notice'].includes(s) ? 'sev-' + s : 'sev-other';
  return h('span', { class: 'badge ' + cls }, s);
}

export function requestTarget(e: Pick<WafEvent, 'path' | 'query'>): string {
  return e.path + (e.query ? '?' + e.query : '');
}

/** `value` with the first occurrence of `matched` wrapped in <mark>. */
export function highlighted(value: string, matched: string): HTMLElement {
  const box = h('code', { class: 'mono block whitespace-pre-wrap break-all rounded-md bg-slate-100 p-2 text-xs dark:bg-slate-950', 'data-testid': 'finding-value' });
  let i = matched ? value.indexOf(matched) : -1;
  if (i < 0 && matched) i = value.toLowerCase().indexOf(matched.toLowerCase());
  if (i < 0) {
    replace(box, value);
    return h('div', { class: 'space-y-1' }, box,
      h('p', { class: 'text-xs text-slate-500' }, 'Matched (not found verbatim in the value):'),
      h('code', { class: 'mono block whitespace-pre-wrap break-all rounded-md p-2 text-xs' }, h('mark', { class: 'hit' }, matched)));
  }
  replace(box, value.slice(0, i), h('mark', { class: 'hit' }, value.slice(i, i + matched.length)), value.slice(i + matched.length));
  return box;
}

function row(label: string, value: Node | string | null | undefined): HTMLElement[] {
  return [
    h('dt', { class: 'text-slate-500 dark:text-slate-400' }, label),
    h('dd', { class: 'min-w-0 break-all font-medium' }, value ?? h('span', { class: 'text-slate-400' }, '—')),
  ];
}

function locationText(f: Finding): string {
  return f.location.name ? `${f.location.part}:${f.location.name}` : f.location.part;
}

async function policyAction(label: string, run: () => Promise<unknown>, btn: HTMLButtonElement): Promise<void> {
  btn.disabled = true;
  try {
    await run();
    toast(label + ': done');
  } catch (e) {
    const err = e as ApiError;
    toast(`${label} failed: ${err.message}`, 'error', err.details ?? []);
  } finally {
    btn.disabled = false;
  }
}

function findingCard(ev: WafEvent, f: Finding): HTMLElement {
  const pathId = 'excl-' + f.rule_id + '-' + Math.random().toString(36).slice(2, 7);
  const pathInput = h('input', { id: pathId, class: inputCls + ' mono !w-48 !py-1', value: ev.path, 'data-testid': 'exclude-path', 'aria-label': `Path to exclude rule ${f.rule_id} on` });
  const btn: HTMLButtonElement = h('button', {
    type: 'button',
    class: 'btn btn-sm',
    'data-testid': 'exclude-button',
    'data-rule': String(f.rule_id),
    onclick: () => {
      const p = pathInput.value.trim();
      if (!p) return toast('Enter a path or glob to exclude the rule on', 'error');
      void policyAction(`Exclude rule ${f.rule_id} on ${p}`, () => api.exclude(p, String(f.rule_id), ev.site), btn);
    },
  }, `Exclude rule ${f.rule_id} on path`);
  return h('li', { class: 'card !p-3 space-y-2', 'data-testid': 'drawer-finding', 'data-rule': String(f.rule_id) },
    h('div', { class: 'flex flex-wrap items-center gap-2 text-sm' },
      h('a', { class: 'link mono font-semibold', href: '#/search?rule=' + encodeURIComponent(String(f.rule_id)) }, `#${f.rule_id}`),
      severityBadge(f.severity),
      h('span', { class: 'badge sev-other' }, f.class),
      h('span', { class: 'text-slate-500' }, `score ${f.score}`),
      h('span', { class: 'mono text-xs text-slate-500 break-all' }, locationText(f)),
      f.crs?.length ? h('span', { class: 'mono text-xs text-slate-500', 'data-testid': 'drawer-crs', title: 'The OWASP CRS rules that detect the same thing' }, 'CRS ' + f.crs.join(', ')) : null),
    h('p', { class: 'text-sm break-words' }, f.message),
    highlighted(f.value, f.matched),
    h('div', { class: 'flex flex-wrap items-center gap-2' }, btn, h('label', { for: pathId, class: 'sr-only' }, 'Path'), pathInput));
}

const num = (n: unknown, d: number) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(d) : '—');

/** A 0–1 bar: the score filled, the threshold as a tick. Widths go through CSSOM (CSP-safe). */
function scoreBar(score: number, threshold: number, anomalous: boolean): HTMLElement {
  const clamp = (x: number) => `${Math.max(0, Math.min(1, Number.isFinite(x) ? x : 0)) * 100}%`;
  const fill = h('div', { class: 'absolute inset-y-0 left-0 rounded-full ' + (anomalous ? 'bg-red-500' : 'bg-sky-500') });
  fill.style.width = clamp(score);
  const tick = h('div', { class: 'absolute -inset-y-1 w-0.5 -translate-x-1/2 bg-slate-900 dark:bg-slate-100', title: 'threshold' });
  tick.style.left = clamp(threshold);
  return h('div', {
    class: 'relative my-2 h-2.5 w-full max-w-sm rounded-full bg-slate-200 dark:bg-slate-700', role: 'img',
    'aria-label': `score ${num(score, 3)} against threshold ${num(threshold, 3)} on a 0 to 1 scale`, 'data-testid': 'drawer-anomaly-bar',
  }, fill, tick);
}

function anomalySection(a: AnomalyVerdict): HTMLElement {
  const top = Array.isArray(a.top) ? a.top : [];
  return h('div', { class: 'space-y-2', 'data-testid': 'drawer-anomaly', 'data-anomalous': String(!!a.anomalous) },
    h('div', { class: 'flex flex-wrap items-baseline gap-2 text-sm' },
      h('span', { class: 'font-semibold tabular-nums', 'data-testid': 'drawer-anomaly-score' }, `score ${num(a.score, 3)}`),
      h('span', { class: 'text-slate-500' }, `threshold ${num(a.threshold, 3)}`),
      h('span', { class: 'badge ' + (a.anomalous ? 'act-block' : 'act-allow') }, a.anomalous ? 'anomalous' : 'normal')),
    scoreBar(a.score, a.threshold, !!a.anomalous),
    h('dl', { class: 'grid grid-cols-[8rem_1fr] gap-x-3 gap-y-1 text-sm' },
      row('Anomalous', a.anomalous ? 'yes' : 'no'),
      row('Mode', a.mode ?? null),
      row('Model', a.model ? h('a', { class: 'link mono', href: '#/model', onclick: closeDrawer }, a.model) : null)),
    top.length
      ? h('div', { class: 'table-wrap' }, h('table', { class: 'tbl !min-w-0', 'data-testid': 'drawer-anomaly-top' },
        h('caption', { class: 'sr-only' }, 'Features that deviate most from the training traffic'),
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Feature'), h('th', { scope: 'col', class: 'text-right' }, 'Value'), h('th', { scope: 'col', class: 'text-right' }, 'Deviation'))),
        h('tbody', null, top.map((f) => h('tr', null,
          h('td', { class: 'mono break-all !whitespace-normal' }, String(f.name)),
          h('td', { class: 'mono tabular-nums text-right' }, num(f.value, 2)),
          h('td', { class: 'mono tabular-nums text-right whitespace-nowrap' }, `${num(f.deviation, 1)} IQR`))))))
      : h('p', { class: 'text-xs text-slate-500' }, 'No feature stood out.'));
}

let openState: { root: HTMLElement; opener: HTMLElement | null; onKey: (e: KeyboardEvent) => void } | null = null;

export function closeDrawer(): void {
  if (!openState) return;
  const { root, opener, onKey } = openState;
  openState = null;
  document.removeEventListener('keydown', onKey, true);
  root.remove();
  document.body.classList.remove('overflow-hidden');
  if (opener && opener.isConnected) opener.focus();
}

function focusables(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>('a[href],button:not([disabled]),input,select,textarea,[tabindex]:not([tabindex="-1"])')]
    .filter((el) => el.offsetParent !== null || el === document.activeElement);
}

/** Opens the drawer for event `id` (`hint` renders at once while it loads). */
export function openDrawer(id: string, opener: HTMLElement | null, hint?: WafEvent): void {
  closeDrawer();
  const body = h('div', { class: 'flex-1 overflow-y-auto p-4 space-y-5', 'data-testid': 'drawer-body' }, h('p', { class: 'text-sm text-slate-500' }, 'Loading…'));
  const title = h('h2', { id: 'drawer-title', class: 'text-base font-semibold' }, 'Event ' + id);
  const closeBtn = h('button', { type: 'button', class: 'btn btn-sm', 'aria-label': 'Close details', 'data-testid': 'drawer-close', onclick: closeDrawer },
    icon('M6 6l12 12M18 6L6 18', 'size-4'));
  const panel = h('aside', {
    class: 'absolute inset-y-0 right-0 flex w-full max-w-2xl flex-col border-l border-slate-200 bg-white shadow-2xl dark:border-slate-800 dark:bg-slate-900',
    role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'drawer-title', 'data-testid': 'drawer', 'data-event-id': id,
  },
  h('header', { class: 'flex items-center justify-between gap-2 border-b border-slate-200 px-4 py-3 dark:border-slate-800' }, title, closeBtn),
  body);
  const root = h('div', { class: 'fixed inset-0 z-40' },
    h('div', { class: 'absolute inset-0 bg-slate-900/40', onclick: closeDrawer, 'aria-hidden': 'true' }), panel);
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      closeDrawer();
    } else if (e.key === 'Tab') {
      // Keep Tab inside the dialog.
      const list = focusables(panel);
      if (!list.length) return;
      const first = list[0], last = list[list.length - 1];
      if (e.shiftKey && (document.activeElement === first || !panel.contains(document.activeElement))) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && (document.activeElement === last || !panel.contains(document.activeElement))) {
        e.preventDefault();
        first.focus();
      }
    }
  };
  document.addEventListener('keydown', onKey, true);
  openState = { root, opener, onKey };
  document.body.appendChild(root);
  document.body.classList.add('overflow-hidden');
  closeBtn.focus();
  if (hint) render(body, title, hint);
  // The stored event is authoritative (a feed row may be a partial copy), but
  // re-render only when it differs, so nothing the user touched is replaced.
  api.event(id).then(
    (ev) => {
      if (openState?.root !== root) return;
      if (!hint || JSON.stringify(ev) !== JSON.stringify(hint)) render(body, title, ev);
      panel.dataset.loaded = 'true';
    },
    (e: ApiError) => {
      if (openState?.root !== root) return;
      if (!hint) replace(body, h('p', { class: 'text-sm text-red-600', role: 'alert' }, 'Could not load the event: ' + e.message));
      panel.dataset.loaded = hint ? 'true' : 'error';
    },
  );
}

// The ban policy's duration, the default for "Ban this IP" (asked once).
let banMinutes: Promise<number | null> | null = null;
function policyBanMinutes(): Promise<number | null> {
  banMinutes ??= api.bans().then((b) => b.policy?.minutes || null, () => {
    banMinutes = null;
    return null;
  });
  return banMinutes;
}

/** "Ban this IP" with its duration in minutes (default: the ban policy's). */
function banControl(ip: string): HTMLElement {
  const id = 'ban-min-' + Math.random().toString(36).slice(2, 7);
  let touched = false;
  const minutes = h('input', {
    id, type: 'number', min: 1, max: 43200, step: 1, inputmode: 'numeric', value: 10,
    class: inputCls + ' !w-20 !py-1', 'data-testid': 'ban-ip-minutes', oninput: () => { touched = true; },
  });
  void policyBanMinutes().then((m) => { if (m && !touched) minutes.value = String(m); });
  const btn: HTMLButtonElement = h('button', {
    type: 'button', class: 'btn btn-danger btn-sm', 'data-testid': 'ban-ip-button',
    onclick: async () => {
      const n = Number(minutes.value);
      if (!Number.isInteger(n) || n < 1 || n > 43200) {
        minutes.focus();
        return toast('Ban for a whole number of minutes, 1 to 43200', 'error');
      }
      btn.disabled = true;
      try {
        const b = await api.ban(ip, n, 'banned from the dashboard');
        toast(`${b.ip} banned until ${fmtTime(b.until_ms)}`);
      } catch (e) {
        const err = e as ApiError;
        toast(`Ban ${ip} failed: ${err.message}`, 'error', err.details ?? []);
      } finally {
        btn.disabled = false;
      }
    },
  }, 'Ban this IP');
  return h('span', { class: 'inline-flex flex-wrap items-center gap-1.5' }, btn,
    h('label', { for: id, class: 'sr-only' }, 'Ban duration in minutes'), minutes,
    h('span', { class: 'text-xs text-slate-500', 'aria-hidden': 'true' }, 'min'));
}

function render(body: HTMLElement, title: HTMLElement, ev: WafEvent): void {
  replace(title, h('span', { class: 'mr-2' }, actionBadge(ev.action)), `${ev.status} · ${ev.client_ip}`);
  const blockBtn: HTMLButtonElement = h('button', {
    type: 'button', class: 'btn btn-danger btn-sm', 'data-testid': 'block-ip',
    onclick: () => void policyAction(`Block ${ev.client_ip}`, () => api.ipList('block', ev.client_ip, ev.site), blockBtn),
  }, 'Block this IP');
  const allowBtn: HTMLButtonElement = h('button', {
    type: 'button', class: 'btn btn-sm', 'data-testid': 'allow-ip',
    onclick: () => {
      if (!confirm(`Allow ${ev.client_ip}? Requests from an allowed IP skip inspection entirely.`)) return;
      void policyAction(`Allow ${ev.client_ip}`, () => api.ipList('allow', ev.client_ip, ev.site), allowBtn);
    },
  }, 'Allow this IP');
  const headers = ev.headers ?? [];
  replace(body,
    h('section', { 'aria-label': 'Request' },
      h('code', { class: 'mono block whitespace-pre-wrap break-all rounded-md bg-slate-100 p-3 text-sm dark:bg-slate-950', 'data-testid': 'drawer-request-line' },
        h('span', { class: 'font-bold' }, ev.method), ' ', h('span', { class: 'text-slate-500' }, ev.host), requestTarget(ev))),
    h('section', { class: 'flex flex-wrap items-center gap-2' }, blockBtn, allowBtn, banControl(ev.client_ip),
      h('a', { class: 'btn btn-sm', href: '#/search?ip=' + encodeURIComponent(ev.client_ip), onclick: closeDrawer }, 'Events from this IP')),
    h('dl', { class: 'grid grid-cols-[8rem_1fr] gap-x-3 gap-y-1 text-sm' },
      row('Time', fmtTime(ev.ts_ms)),
      row('Event id', h('span', { class: 'mono' }, ev.id)),
      row('Site', h('span', { 'data-testid': 'drawer-site' }, ev.site || '—')),
      row('Client IP', h('span', { class: 'mono' }, ev.client_ip)),
      row('User agent', ev.user_agent),
      row('Action', actionBadge(ev.action)),
      row('Status', String(ev.status)),
      row('Score', `${ev.score} / threshold ${ev.threshold}`),
      row('Mode', ev.mode),
      row('Route', ev.route),
      row('Reason', ev.reason),
      row('Inspection', `${(ev.inspect_us / 1000).toFixed(2)} ms`),
      ev.dropped_before ? row('Dropped before', `${ev.dropped_before} events were not recorded before this one`) : null),
    h('section', null,
      h('h3', { class: 'card-title' }, `Findings (${ev.findings.length})`),
      ev.findings.length
        ? h('ul', { class: 'space-y-3' }, ev.findings.map((f) => findingCard(ev, f)))
        : h('p', { class: 'text-sm text-slate-500' }, ev.reason ? `No inspection: ${ev.reason}.` : 'No rule matched.')),
    h('section', null,
      h('h3', { class: 'card-title' }, 'Anomaly'),
      ev.anomaly !== undefined && ev.anomaly !== null && typeof ev.anomaly === 'object'
        ? anomalySection(ev.anomaly)
        : h('p', { class: 'text-sm text-slate-500', 'data-testid': 'drawer-anomaly' }, 'Not scored by an anomaly model.')),
    h('section', null,
      h('h3', { class: 'card-title' }, `Headers (${headers.length})`),
      headers.length
        ? h('div', { class: 'table-wrap' }, h('table', { class: 'tbl !min-w-0', 'data-testid': 'drawer-headers' },
          h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'Value'))),
          h('tbody', null, headers.map(([k, v]) => h('tr', null, h('td', { class: 'mono whitespace-nowrap' }, k), h('td', { class: 'mono break-all !whitespace-normal' }, v))))))
        : h('p', { class: 'text-sm text-slate-500' }, 'No headers were recorded for this event.')));
}
