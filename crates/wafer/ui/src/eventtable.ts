// The event table used by the live feed and by search: one focusable row per
// event; click or Enter opens the detail drawer.
import { h, fmtClock, fmtTime } from './dom';
import { actionBadge, openDrawer, requestTarget, severityBadge } from './drawer';
import type { WafEvent } from './types';

const SEV_ORDER = ['critical', 'error', 'warning', 'notice'];

function worstSeverity(e: WafEvent): string | null {
  let best: string | null = null;
  for (const f of e.findings) {
    if (best === null || SEV_ORDER.indexOf(f.severity) < SEV_ORDER.indexOf(best)) best = f.severity;
  }
  return best;
}

// Rows show the query decoded so payloads are readable; the drawer keeps
// the raw form. Either way it is only ever text.
function readable(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

export function eventTable(testid: string): { wrap: HTMLElement; tbody: HTMLTableSectionElement } {
  const tbody = h('tbody', { 'data-testid': testid + '-body' });
  const wrap = h('div', { class: 'table-wrap' },
    h('table', { class: 'tbl', 'data-testid': testid },
      h('thead', null, h('tr', null,
        ['Time', 'Action', 'Request', 'Score', 'Client IP', 'Classes', 'Severity', 'Status'].map((c) => h('th', { scope: 'col' }, c)))),
      tbody));
  return { wrap, tbody };
}

export function eventRow(e: WafEvent, testid: string): HTMLTableRowElement {
  const classes = [...new Set(e.findings.map((f) => f.class))];
  const sev = worstSeverity(e);
  const target = readable(requestTarget(e));
  const tr = h('tr', {
    class: 'row',
    tabindex: 0,
    'data-testid': testid,
    'data-event-id': e.id,
    'data-action': e.action,
    'data-ip': e.client_ip,
    'data-classes': classes.join(' '),
    'aria-label': `${e.action} ${e.method} ${target} from ${e.client_ip}`,
  },
  // Today's events show the time of day only; the full date is in the title.
  h('td', { class: 'whitespace-nowrap mono text-xs text-slate-500', title: fmtTime(e.ts_ms) },
    new Date(e.ts_ms).toDateString() === new Date().toDateString() ? fmtClock(e.ts_ms) : fmtTime(e.ts_ms)),
  h('td', null, actionBadge(e.action)),
  // The request comes early so it is visible without scrolling on a phone.
  h('td', { class: 'mono max-w-[16rem] sm:max-w-[24rem] truncate', title: target }, h('span', { class: 'font-semibold' }, e.method), ' ', target),
  h('td', { class: 'mono' }, `${e.score}/${e.threshold}`),
  h('td', { class: 'mono whitespace-nowrap' }, e.client_ip),
  h('td', null, classes.join(', ') || (e.reason ?? '')),
  h('td', null, sev ? severityBadge(sev) : ''),
  h('td', { class: 'mono' }, String(e.status)));
  const open = () => openDrawer(e.id, tr, e);
  tr.addEventListener('click', open);
  tr.addEventListener('keydown', (k: KeyboardEvent) => {
    if (k.key === 'Enter' || k.key === ' ') {
      k.preventDefault();
      open();
    }
  });
  return tr;
}
