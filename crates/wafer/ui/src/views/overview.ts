// Overview: live counters from WebSocket telemetry, and charts and top lists
// from /api/stats over a chosen time range.
import type { Chart } from 'chart.js';
import { ruleCatalogue, ruleTitle } from '../rulenames';
import { api, ApiError } from '../api';
import { colors, destroyChart, makeChart } from '../charts';
import { fmtNum, h, replace } from '../dom';
import { inputCls, labelCls } from '../filters';
import { onLiveStatus, onTelemetry, recentTelemetry } from '../live';
import type { RuleInfo, SiteInfo, Stats, Telemetry, Top } from '../types';

const MIN = 60_000;
const RANGES: { key: string; label: string; ms: number }[] = [
  { key: '15m', label: '15 min', ms: 15 * MIN },
  { key: '1h', label: '1 h', ms: 60 * MIN },
  { key: '24h', label: '24 h', ms: 24 * 60 * MIN },
  { key: '7d', label: '7 d', ms: 7 * 24 * 60 * MIN },
];
const BUCKETS: { key: string; ms: number }[] = [
  { key: '1m', ms: MIN }, { key: '5m', ms: 5 * MIN }, { key: '1h', ms: 60 * MIN }, { key: '1d', ms: 24 * 60 * MIN },
];
// Telemetry seconds averaged into the counters.
const WINDOW = 10;

/** The smallest bucket the server knows that keeps the chart under ~300 points. */
export function bucketFor(spanMs: number): string {
  for (const b of BUCKETS) if (spanMs / b.ms <= 300) return b.key;
  return BUCKETS[BUCKETS.length - 1].key;
}

function label(ts: number, spanMs: number): string {
  const d = new Date(ts);
  const t = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
  return spanMs > 24 * 60 * MIN ? `${d.getMonth() + 1}/${d.getDate()} ${t}` : t;
}

function counter(testid: string, title: string): { el: HTMLElement; value: HTMLElement; sub: HTMLElement } {
  const value = h('p', { class: 'mt-1 text-3xl font-semibold tabular-nums', 'data-testid': testid }, '—');
  const sub = h('p', { class: 'mt-1 text-xs text-slate-500' }, ' ');
  return { el: h('div', { class: 'card' }, h('p', { class: 'text-xs font-medium uppercase tracking-wide text-slate-500' }, title), value, sub), value, sub };
}

function topTable(title: string, testid: string, rows: Top[], link: (k: string) => string | null, keyLabel: string, name?: (k: string) => string | undefined): HTMLElement {
  const max = Math.max(1, ...rows.map((r) => r.count));
  return h('div', { class: 'card min-w-0', 'data-testid': testid },
    h('h2', { class: 'card-title' }, title),
    rows.length === 0
      ? h('p', { class: 'text-sm text-slate-500' }, 'Nothing in this range.')
      : h('ol', { class: 'space-y-1 text-sm', 'aria-label': `${title}: ${keyLabel} and count` }, rows.map((r) => {
        const href = link(r.key);
        const bar = h('div', { class: 'absolute inset-y-0 left-0 rounded bg-sky-500/15 dark:bg-sky-400/15', 'aria-hidden': 'true' });
        bar.style.width = `${(100 * r.count) / max}%`;
        const label = name?.(r.key);
        const title = label ? `${r.key}: ${label}` : r.key;
        return h('li', { class: 'flex items-center gap-2' },
          h('div', { class: 'relative min-w-0 flex-1 truncate px-1 py-0.5' }, bar,
            href ? h('a', { class: 'link relative mono', href, title, 'data-testid': testid + '-link' }, r.key) : h('span', { class: 'relative mono', title }, r.key),
            label ? h('span', { class: 'relative ml-2 text-slate-500', 'data-testid': testid + '-name' }, label) : null),
          h('span', { class: 'w-14 shrink-0 text-right tabular-nums' }, fmtNum(r.count)));
      })));
}

export function overviewView(root: HTMLElement): () => void {
  // Rule ids are shown with their names once the catalogue is in (then the view reloads).
  let ruleNames = new Map<string, RuleInfo>();
  void ruleCatalogue().then((m) => {
    ruleNames = m;
    if (m.size) void load();
  });
  let rangeKey = localStorage.getItem('wafer-range') ?? '1h';
  if (rangeKey !== 'custom' && !RANGES.some((r) => r.key === rangeKey)) rangeKey = '1h';
  let live = true;
  let timer: number | undefined;
  let seq = 0;
  const samples: Telemetry[] = recentTelemetry();
  let traffic: Chart<'line'> | null = null;
  let classes: Chart<'doughnut'> | null = null;
  let hist: Chart<'bar'> | null = null;

  const rps = counter('counter-rps', 'Requests / s');
  const bps = counter('counter-blocked', 'Blocked / s');
  const rate = counter('counter-block-rate', 'Block rate');
  const p99 = counter('counter-p99', 'p99 latency');
  const counters = h('section', { class: 'grid grid-cols-2 gap-3 lg:grid-cols-4', 'aria-label': 'Live counters', 'aria-live': 'off' }, rps.el, bps.el, rate.el, p99.el);
  const wsState = h('span', { class: 'text-xs text-slate-500', 'data-testid': 'ws-state', role: 'status' });

  function paintCounters() {
    const win = samples.slice(-WINDOW);
    const n = win.length || 1;
    const sum = (f: (t: Telemetry) => number) => win.reduce((a, t) => a + f(t), 0);
    const req = sum((t) => t.requests), blk = sum((t) => t.blocked);
    replace(rps.value, win.length ? fmtNum(req / n, 1) : '—');
    replace(bps.value, win.length ? fmtNum(blk / n, 1) : '—');
    replace(rate.value, req ? fmtNum((100 * blk) / req, 1) + ' %' : win.length ? '0 %' : '—');
    const p = win.map((t) => t.p99_us).filter((v): v is number => v !== null);
    replace(p99.value, p.length ? fmtNum(Math.max(...p) / 1000, 1) + ' ms' : '—');
    const last = win[win.length - 1];
    const note = win.length ? `avg of last ${win.length}s` : 'waiting for telemetry';
    replace(rps.sub, last ? `${note} · now ${last.requests}` : note);
    replace(bps.sub, last ? `${note} · now ${last.blocked}` : note);
    replace(rate.sub, note);
    replace(p99.sub, win.length ? `max p99 over last ${win.length}s` : note);
  }

  const offTelemetry = onTelemetry((t) => {
    samples.push(t);
    if (samples.length > 60) samples.shift();
    if (live) paintCounters();
  });
  const offStatus = onLiveStatus((c) => replace(wsState, c ? '● live' : '○ reconnecting…'));

  // Range picker.
  const rangeBtns = [...RANGES.map((r) => r.key), 'custom'].map((k) => h('button', {
    type: 'button', class: 'btn btn-sm', 'data-testid': 'range-' + k, 'aria-pressed': String(k === rangeKey),
    onclick: () => { rangeKey = k; localStorage.setItem('wafer-range', k); syncRange(); void load(); },
  }, RANGES.find((r) => r.key === k)?.label ?? 'Custom'));
  const now = new Date();
  const local = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * MIN).toISOString().slice(0, 16);
  const fromIn = h('input', { id: 'ov-from', type: 'datetime-local', class: inputCls, value: local(new Date(now.getTime() - 6 * 60 * MIN)), 'data-testid': 'range-from', onchange: () => void load() });
  const toIn = h('input', { id: 'ov-to', type: 'datetime-local', class: inputCls, value: local(now), 'data-testid': 'range-to', onchange: () => void load() });
  const custom = h('div', { class: 'flex flex-wrap items-end gap-2' },
    h('div', null, h('label', { for: 'ov-from', class: labelCls }, 'From'), fromIn),
    h('div', null, h('label', { for: 'ov-to', class: labelCls }, 'To'), toIn));
  const liveBtn = h('button', { type: 'button', class: 'btn btn-sm', 'aria-pressed': 'true', 'data-testid': 'live-toggle', onclick: () => setLive(!live) }, 'Live');
  function syncRange() {
    rangeBtns.forEach((b, i) => b.setAttribute('aria-pressed', String([...RANGES.map((r) => r.key), 'custom'][i] === rangeKey)));
    custom.classList.toggle('hidden', rangeKey !== 'custom');
  }
  function setLive(l: boolean) {
    live = l;
    liveBtn.setAttribute('aria-pressed', String(l));
    replace(liveBtn, l ? 'Live' : 'Paused');
    clearInterval(timer);
    if (l) {
      paintCounters();
      void load();
      timer = window.setInterval(() => void load(), 10_000);
    }
  }

  const statusLine = h('p', { class: 'text-xs text-slate-500', role: 'status', 'data-testid': 'stats-status' });
  const trafficCanvas = h('canvas', { 'aria-label': 'Requests over time: allowed, flagged, blocked', role: 'img' });
  const classCanvas = h('canvas', { 'aria-label': 'Attacks by class', role: 'img' });
  const histCanvas = h('canvas', { 'aria-label': 'Anomaly score histogram', role: 'img' });
  const classEmpty = h('p', { class: 'hidden text-sm text-slate-500' }, 'No attacks in this range.');
  const tops = h('section', { class: 'grid gap-3 md:grid-cols-3' });

  function params(): URLSearchParams {
    const p = new URLSearchParams({ top: '10' });
    let span: number;
    if (rangeKey === 'custom') {
      const f = new Date(fromIn.value).getTime(), t = new Date(toIn.value).getTime();
      if (!Number.isFinite(f) || !Number.isFinite(t) || t <= f) throw new ApiError(400, 'Pick a custom range whose end is after its start.');
      p.set('from', new Date(f).toISOString());
      p.set('to', new Date(t).toISOString());
      span = t - f;
    } else {
      const r = RANGES.find((x) => x.key === rangeKey)!;
      p.set('from', '-' + r.key);
      span = r.ms;
    }
    p.set('bucket', bucketFor(span));
    return p;
  }

  function draw(s: Stats) {
    const span = s.to_ms - s.from_ms;
    const labels = s.series.map((b) => label(b.ts_ms, span));
    const ds = (name: string, key: 'allowed' | 'flagged' | 'blocked', color: string) => ({
      label: name, data: s.series.map((b) => b[key]), borderColor: color, backgroundColor: color + '55',
      fill: true, pointRadius: 0, borderWidth: 1.5, tension: 0.25,
    });
    const tdata = [ds('Allowed', 'allowed', colors.allowed), ds('Flagged', 'flagged', colors.flagged), ds('Blocked', 'blocked', colors.blocked)];
    if (traffic) {
      traffic.data.labels = labels;
      traffic.data.datasets = tdata;
      traffic.update();
    } else {
      traffic = makeChart(trafficCanvas, {
        type: 'line', data: { labels, datasets: tdata },
        options: {
          interaction: { mode: 'index', intersect: false },
          scales: { x: { ticks: { maxTicksLimit: 8, autoSkip: true, maxRotation: 0 } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
          plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
        },
      });
    }
    const cl = s.top_classes;
    classEmpty.classList.toggle('hidden', cl.length > 0);
    const cdata = { labels: cl.map((c) => c.key), datasets: [{ data: cl.map((c) => c.count), backgroundColor: cl.map((_, i) => colors.series[i % colors.series.length]), borderWidth: 2 }] };
    if (classes) {
      classes.data = cdata;
      classes.update();
    } else {
      classes = makeChart(classCanvas, { type: 'doughnut', data: cdata, options: { cutout: '60%', plugins: { legend: { position: 'right', labels: { boxWidth: 12 } } } } });
    }
    const hs = [...s.score_histogram].sort((a, b) => Number(a.key) - Number(b.key));
    const hdata = { labels: hs.map((x) => x.key), datasets: [{ label: 'Events', data: hs.map((x) => x.count), backgroundColor: colors.accent, borderRadius: 3 }] };
    if (hist) {
      hist.data = hdata;
      hist.update();
    } else {
      hist = makeChart(histCanvas, {
        type: 'bar', data: hdata,
        options: {
          scales: { x: { title: { display: true, text: 'score' } }, y: { beginAtZero: true, ticks: { precision: 0 } } },
          plugins: { legend: { display: false } },
        },
      });
    }
    replace(tops,
      topTable('Top attacking IPs', 'top-ips', s.top_ips, (k) => '#/search?ip=' + encodeURIComponent(k), 'IP'),
      topTable('Top targeted paths', 'top-paths', s.top_paths, (k) => '#/search?path=' + encodeURIComponent(k), 'Path'),
      topTable('Top rules', 'top-rules', s.top_rules, (k) => '#/search?rule=' + encodeURIComponent(k), 'Rule', (k) => ruleTitle(ruleNames, k)));
    const total = s.series.reduce((a, b) => a + b.requests, 0);
    replace(statusLine, `${fmtNum(total)} requests between ${new Date(s.from_ms).toLocaleString()} and ${new Date(s.to_ms).toLocaleString()} · ${s.series.length} points of ${Math.round(s.bucket_ms / MIN)} min`);
  }

  const sitesCard = h('div', { class: 'card', 'data-testid': 'sites' }, h('h2', { class: 'card-title' }, 'Sites and servers'));
  const STATE_CLS: Record<string, string> = {
    up: 'bg-emerald-500',
    down: 'bg-red-500',
    ejected: 'bg-amber-500',
  };
  function drawSites(sites: SiteInfo[]) {
    replace(sitesCard,
      h('h2', { class: 'card-title' }, 'Sites and servers'),
      h('div', { class: 'overflow-x-auto' },
        h('table', { class: 'w-full text-sm' },
          h('thead', {}, h('tr', { class: 'text-left text-slate-500' },
            h('th', { class: 'py-1 pr-3 font-medium' }, 'Site'),
            h('th', { class: 'py-1 pr-3 font-medium' }, 'Server'),
            h('th', { class: 'py-1 pr-3 font-medium' }, 'State'),
            h('th', { class: 'py-1 pr-3 text-right font-medium' }, 'In flight'),
            h('th', { class: 'py-1 pr-3 text-right font-medium' }, 'Requests'),
            h('th', { class: 'py-1 text-right font-medium' }, 'Failures'))),
          h('tbody', {}, ...sites.flatMap((s) => s.servers.map((srv, i) =>
            h('tr', { class: 'border-t border-slate-200 dark:border-slate-700', 'data-testid': 'site-server', 'data-site': s.name, 'data-state': srv.state },
              h('td', { class: 'py-1 pr-3 align-top' }, i === 0
                ? h('span', { title: s.hosts.join(', ') || 'every other name' }, s.name + (s.default && s.name !== 'default' ? ' (default)' : ''), h('span', { class: 'ml-2 text-xs text-slate-500' }, s.mode), acmeNote(s))
                : ''),
              h('td', { class: 'py-1 pr-3 mono' }, srv.url),
              h('td', { class: 'py-1 pr-3' }, h('span', { class: 'inline-flex items-center gap-1.5' },
                h('span', { class: 'inline-block h-2 w-2 rounded-full ' + (STATE_CLS[srv.state] ?? 'bg-slate-400'), 'aria-hidden': 'true' }), srv.state)),
              h('td', { class: 'py-1 pr-3 text-right tabular-nums' }, fmtNum(srv.in_flight)),
              h('td', { class: 'py-1 pr-3 text-right tabular-nums' }, fmtNum(srv.requests)),
              h('td', { class: 'py-1 text-right tabular-nums' }, fmtNum(srv.failures)))))))));
  }
  /** An ACME site's certificate: until when, or why the last order failed. */
  function acmeNote(s: SiteInfo): HTMLElement | string {
    const a = s.acme;
    if (!a) return '';
    if (a.last_error) {
      return h('span', { class: 'block text-xs text-red-600 dark:text-red-400', 'data-testid': 'acme-error', title: a.last_error },
        'certificate order failing' + (a.retry_at_ms ? ', retry ' + new Date(a.retry_at_ms).toLocaleTimeString() : ''));
    }
    return h('span', { class: 'block text-xs text-slate-500', 'data-testid': 'acme-until' },
      a.not_after_ms ? 'ACME certificate until ' + new Date(a.not_after_ms).toLocaleDateString() : 'ACME certificate not issued yet');
  }
  async function loadSites() {
    try {
      drawSites(await api.sites());
    } catch (e) {
      replace(sitesCard, h('h2', { class: 'card-title' }, 'Sites and servers'),
        h('p', { class: 'text-sm text-red-600 dark:text-red-400', role: 'alert' }, 'Could not load the sites: ' + (e as Error).message));
    }
  }

  async function load() {
    void loadSites();
    const mine = ++seq;
    try {
      const s = await api.stats(params());
      if (mine === seq) draw(s);
    } catch (e) {
      if (mine === seq) replace(statusLine, h('span', { class: 'text-red-600 dark:text-red-400', role: 'alert' }, 'Could not load statistics: ' + (e as Error).message));
    }
  }

  replace(root,
    h('div', { class: 'flex flex-wrap items-center justify-between gap-3' },
      h('h1', { class: 'text-xl font-semibold' }, 'Overview'),
      h('div', { class: 'flex flex-wrap items-center gap-2' },
        h('div', { class: 'flex flex-wrap gap-1', role: 'group', 'aria-label': 'Time range' }, rangeBtns), liveBtn, wsState)),
    custom,
    counters,
    h('section', { class: 'grid gap-3 lg:grid-cols-3' },
      h('div', { class: 'card lg:col-span-2' }, h('h2', { class: 'card-title' }, 'Traffic'), h('div', { class: 'relative h-64', 'data-testid': 'chart-traffic' }, trafficCanvas),
        h('p', { class: 'mt-2 text-xs text-slate-500' }, 'Stored per minute; the newest minute fills in within about 10 s. The counters above are live.')),
      h('div', { class: 'card' }, h('h2', { class: 'card-title' }, 'Attacks by class'), classEmpty, h('div', { class: 'relative h-64', 'data-testid': 'chart-classes' }, classCanvas))),
    tops,
    sitesCard,
    h('div', { class: 'card' }, h('h2', { class: 'card-title' }, 'Anomaly score histogram'), h('div', { class: 'relative h-48', 'data-testid': 'chart-scores' }, histCanvas)),
    statusLine);
  syncRange();
  paintCounters();
  setLive(true);
  return () => {
    seq++;
    clearInterval(timer);
    offTelemetry();
    offStatus();
    destroyChart(traffic);
    destroyChart(classes);
    destroyChart(hist);
  };
}
