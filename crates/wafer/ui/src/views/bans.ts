// Temporary bans: the automatic ban policy, the active bans with Lift, and a
// form to ban an IP by hand. Refreshed every 5 s while the view is open.
import { api, ApiError } from '../api';
import { fmtTime, h, replace } from '../dom';
import { inputCls, labelCls } from '../filters';
import { toast } from '../toast';
import type { Ban, BanList } from '../types';

const REFRESH_MS = 5000;
export const MAX_BAN_MINUTES = 43200;

/** "in 7 min", "in 45 s", "in 2 h 5 min", "in 3 d 4 h". */
export function fromNow(ms: number, now = Date.now()): string {
  const s = Math.round((ms - now) / 1000);
  if (s <= 0) return 'expiring';
  if (s < 60) return `in ${s} s`;
  const m = Math.ceil(s / 60);
  if (m < 60) return `in ${m} min`;
  const hrs = Math.floor(m / 60);
  if (hrs < 24) return `in ${hrs} h` + (m % 60 ? ` ${m % 60} min` : '');
  const d = Math.floor(hrs / 24);
  return `in ${d} d` + (hrs % 24 ? ` ${hrs % 24} h` : '');
}

export function policyText(b: BanList): string {
  const p = b.policy;
  if (!p || !p.after) return 'Automatic bans are off — set [bans] after in the config.';
  return `Automatic bans: a client is banned for ${p.minutes} min after ${p.after} blocked request${p.after === 1 ? '' : 's'} within ${p.within_secs} s.`;
}

let uid = 0;

export function bansView(root: HTMLElement): () => void {
  let alive = true;
  let loading = false;

  const policy = h('p', { class: 'text-sm', 'data-testid': 'bans-policy' }, 'Loading…');
  const shared = h('span', { class: 'badge sev-other', 'data-testid': 'bans-shared' });
  const status = h('p', { class: 'text-xs text-slate-500', role: 'status', 'data-testid': 'bans-status' });
  const rows = h('tbody');
  const empty = h('p', { class: 'hidden text-sm text-slate-500', 'data-testid': 'bans-empty' }, 'No IP is banned right now.');
  // `relative`: the absolutely positioned sr-only header stays inside the scroller.
  const tableWrap = h('div', { class: 'table-wrap relative' },
    h('table', { class: 'tbl', 'data-testid': 'bans-table' },
      h('caption', { class: 'sr-only' }, 'Active bans'),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'IP'), h('th', { scope: 'col' }, 'Until'), h('th', { scope: 'col' }, 'Reason'),
        h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
      rows));

  const ids = { ip: 'ban-ip-' + ++uid, minutes: 'ban-min-' + uid, reason: 'ban-reason-' + uid };
  const ipIn = h('input', { id: ids.ip, class: inputCls + ' mono', name: 'ip', placeholder: '203.0.113.7', autocomplete: 'off', spellcheck: 'false', required: true, 'data-testid': 'ban-ip' });
  const minutesIn = h('input', { id: ids.minutes, class: inputCls, name: 'minutes', type: 'number', min: 1, max: MAX_BAN_MINUTES, step: 1, inputmode: 'numeric', placeholder: '10', 'data-testid': 'ban-minutes' });
  const reasonIn = h('input', { id: ids.reason, class: inputCls, name: 'reason', placeholder: 'manual', maxlength: 200, 'data-testid': 'ban-reason' });
  const submit = h('button', { type: 'submit', class: 'btn btn-danger', 'data-testid': 'ban-submit' }, 'Ban');
  const formError = h('div', { role: 'alert', 'data-testid': 'ban-form-error' });
  const form = h('form', { class: 'space-y-3', novalidate: true, 'data-testid': 'ban-form', 'aria-labelledby': 'ban-form-h' },
    h('div', { class: 'grid gap-3 sm:grid-cols-[minmax(0,2fr)_minmax(0,1fr)_minmax(0,2fr)_auto] sm:items-end' },
      h('div', { class: 'space-y-1' }, h('label', { for: ids.ip, class: labelCls }, 'IP address'), ipIn),
      h('div', { class: 'space-y-1' }, h('label', { for: ids.minutes, class: labelCls }, 'Minutes'), minutesIn),
      h('div', { class: 'space-y-1' }, h('label', { for: ids.reason, class: labelCls }, 'Reason (optional)'), reasonIn),
      h('div', null, submit)),
    h('p', { class: 'text-xs text-slate-500' }, `1 to ${MAX_BAN_MINUTES} minutes (30 days); empty uses the policy’s duration. A banned client gets 403 for every request until the ban ends.`),
    formError);

  function showFormError(title: string, details: string[] = []) {
    replace(formError, h('div', { class: 'rounded-lg border border-red-300 bg-red-50 p-3 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100' },
      h('p', { class: 'font-semibold break-words' }, title),
      details.length ? h('ul', { class: 'mt-1 list-disc pl-5' }, details.map((d) => h('li', null, d))) : null));
  }

  function banRow(b: Ban): HTMLElement {
    const lift: HTMLButtonElement = h('button', {
      type: 'button', class: 'btn btn-sm', 'data-testid': 'ban-lift', 'data-ip': b.ip, 'aria-label': `Lift the ban on ${b.ip}`,
      onclick: async () => {
        if (!confirm(`Lift the ban on ${b.ip}? Its requests are inspected normally again.`)) return;
        lift.disabled = true;
        try {
          await api.liftBan(b.ip);
          toast(`Ban on ${b.ip} lifted`);
        } catch (e) {
          const err = e as ApiError;
          // 404: it ended (or was lifted elsewhere) meanwhile.
          toast(err.status === 404 ? `${b.ip} was no longer banned` : `Lifting the ban on ${b.ip} failed: ${err.message}`, err.status === 404 ? 'ok' : 'error', err.details);
        } finally {
          lift.disabled = false;
          void load();
        }
      },
    }, 'Lift');
    return h('tr', { 'data-testid': 'ban-row', 'data-ip': b.ip },
      h('td', { class: 'mono' }, h('a', { class: 'link', href: '#/search?ip=' + encodeURIComponent(b.ip) + '&from=-24h', title: `Events from ${b.ip}` }, b.ip)),
      h('td', { class: 'whitespace-nowrap' }, h('time', { datetime: new Date(b.until_ms).toISOString() }, fmtTime(b.until_ms)),
        h('span', { class: 'ml-2 text-xs text-slate-500', 'data-testid': 'ban-remaining' }, fromNow(b.until_ms))),
      h('td', { class: 'max-w-md break-words !whitespace-normal' }, b.reason || h('span', { class: 'text-slate-400' }, '—')),
      h('td', { class: 'text-right' }, lift));
  }

  function render(b: BanList) {
    replace(policy, policyText(b));
    policy.dataset.after = String(b.policy?.after ?? 0);
    replace(shared, b.shared ? 'shared across the cluster' : 'this node only');
    shared.className = 'badge ' + (b.shared ? 'act-allow' : 'sev-other');
    shared.title = b.shared ? 'Bans are shared by every node through Redis' : 'Bans are kept by this node only (no Redis)';
    if (b.policy?.minutes) minutesIn.placeholder = String(b.policy.minutes);
    // Keep the focused Lift button across refreshes when its row stays.
    const focusedIp = (document.activeElement as HTMLElement | null)?.closest?.('[data-testid=ban-row]')?.getAttribute('data-ip');
    const list = [...(b.bans ?? [])].sort((x, y) => x.until_ms - y.until_ms || x.ip.localeCompare(y.ip));
    replace(rows, list.map(banRow));
    if (focusedIp) rows.querySelector<HTMLElement>(`[data-testid=ban-lift][data-ip="${CSS.escape(focusedIp)}"]`)?.focus();
    empty.classList.toggle('hidden', list.length > 0);
    tableWrap.classList.toggle('hidden', list.length === 0);
    replace(status, `${list.length} active ban${list.length === 1 ? '' : 's'} · updated ${new Date().toLocaleTimeString([], { hour12: false })}`);
  }

  async function load() {
    if (loading) return;
    loading = true;
    try {
      const b = await api.bans();
      if (alive) render(b);
    } catch (e) {
      if (alive) replace(status, h('span', { class: 'text-red-600 dark:text-red-400' }, 'Could not load the bans: ' + (e as Error).message));
    } finally {
      loading = false;
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    replace(formError);
    const ip = ipIn.value.trim();
    if (!ip) {
      showFormError('Enter the IP address to ban.');
      ipIn.focus();
      return;
    }
    const rawMin = minutesIn.value.trim();
    if (rawMin === '' && minutesIn.validity.badInput) {
      showFormError('Minutes must be a whole number.');
      minutesIn.focus();
      return;
    }
    // Range checks are the server's: its message is shown as it is.
    const minutes = rawMin === '' ? undefined : Number(rawMin);
    submit.disabled = true;
    try {
      const b = await api.ban(ip, minutes, reasonIn.value.trim() || undefined);
      toast(`${b.ip} banned until ${fmtTime(b.until_ms)} (${fromNow(b.until_ms)})`);
      ipIn.value = '';
      reasonIn.value = '';
      await load();
    } catch (e) {
      const err = e as ApiError;
      showFormError(`Not banned: ${err.message}`, err.details);
      toast(`Banning ${ip} failed: ${err.message}`, 'error');
    } finally {
      submit.disabled = false;
    }
  });

  replace(root,
    h('div', { class: 'space-y-4', 'data-testid': 'bans-view' },
      h('div', { class: 'flex flex-wrap items-center justify-between gap-3' },
        h('h1', { class: 'text-xl font-semibold' }, 'Bans'),
        h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'bans-refresh', onclick: () => void load() }, 'Refresh')),
      h('section', { class: 'card space-y-2', 'aria-labelledby': 'bans-policy-h' },
        h('h2', { id: 'bans-policy-h', class: 'card-title !mb-1' }, 'Policy'),
        h('div', { class: 'flex flex-wrap items-center gap-2' }, policy, shared)),
      h('section', { class: 'card space-y-3', 'aria-labelledby': 'bans-active-h' },
        h('div', { class: 'flex flex-wrap items-baseline justify-between gap-2' },
          h('h2', { id: 'bans-active-h', class: 'card-title !mb-0' }, 'Active bans'), status),
        tableWrap, empty),
      h('section', { class: 'card space-y-3' },
        h('h2', { id: 'ban-form-h', class: 'card-title' }, 'Ban an IP'), form)));

  void load();
  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') void load();
  }, REFRESH_MS);
  return () => {
    alive = false;
    clearInterval(timer);
  };
}
