// The anomaly model: the active model, the learning period, the recent score
// distribution against the threshold, and the trained versions with
// activate / roll back.
import type { Chart } from 'chart.js';
import { api, ApiError } from '../api';
import { colors, destroyChart, makeChart } from '../charts';
import { fmtNum, h, replace } from '../dom';
import { toast } from '../toast';
import type { ModelInfo, ModelVersionInfo } from '../types';

/** `2026-12-01 14:15:00 UTC`: model versions are named in UTC. */
export function fmtUtc(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

const fix = (n: number | null | undefined, d = 3) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(d) : '—');
const pct = (n: number | null | undefined) => (typeof n === 'number' && Number.isFinite(n) ? `${+(n * 100).toPrecision(3)} %` : '—');

function dl(rows: [string, Node | string | null | undefined, string?][]): HTMLElement {
  return h('dl', { class: 'grid grid-cols-[9rem_minmax(0,1fr)] gap-x-3 gap-y-1 text-sm sm:grid-cols-[11rem_minmax(0,1fr)]' },
    rows.map(([k, v, testid]) => [
      h('dt', { class: 'text-slate-500 dark:text-slate-400' }, k),
      h('dd', { class: 'min-w-0 break-words font-medium', 'data-testid': testid ?? null }, v ?? '—'),
    ]));
}

export function modelView(root: HTMLElement): () => void {
  let chart: Chart<'bar'> | null = null;
  let alive = true;
  let busy = false;
  // The chart is made once its canvas is in the document.
  let pending: (() => unknown) | null = null;
  const body = h('div', { class: 'space-y-4', 'data-testid': 'model' }, h('p', { class: 'card text-sm text-slate-500' }, 'Loading…'));
  const refreshBtn = h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'model-refresh', onclick: () => void load() }, 'Refresh');
  replace(root,
    h('div', { class: 'flex flex-wrap items-center justify-between gap-3' }, h('h1', { class: 'text-xl font-semibold' }, 'Anomaly model'), refreshBtn),
    body);

  function unavailable(message: string) {
    destroyChart(chart);
    chart = null;
    replace(body, h('div', { class: 'card space-y-2' },
      h('p', { class: 'font-medium', 'data-testid': 'model-status' }, 'No anomaly model is active yet.'),
      message ? h('p', { class: 'text-sm text-slate-500', 'data-testid': 'model-message' }, message) : null));
  }

  async function act(label: string, run: () => Promise<ModelInfo>, btn: HTMLButtonElement) {
    if (busy) return;
    busy = true;
    btn.disabled = true;
    try {
      const m = await run();
      toast(label + ': done' + (m.active?.info.version ? ` · active model ${m.active.info.version}` : ''));
      if (alive) render(m);
    } catch (e) {
      const err = e as ApiError;
      toast(`${label} failed: ${err.message}`, 'error', err.details ?? []);
      // Show what the server has now.
      if (alive) void load();
    } finally {
      busy = false;
      btn.disabled = false;
    }
  }

  function activeCard(m: ModelInfo, threshold: number | null): HTMLElement {
    const a = m.active;
    if (!a) {
      return h('section', { class: 'card space-y-2', 'aria-labelledby': 'model-active-h' },
        h('h2', { id: 'model-active-h', class: 'card-title' }, 'Active model'),
        h('p', { class: 'font-medium', 'data-testid': 'model-status' }, 'No anomaly model is active.'),
        h('p', { class: 'text-sm text-slate-500', 'data-testid': 'model-message' }, m.message || 'The server has no model loaded.'));
    }
    const i = a.info;
    const q = i.score_quantiles ?? {};
    const builtIn = i.version === 'default';
    return h('section', { class: 'card min-w-0 space-y-3', 'aria-labelledby': 'model-active-h' },
      h('h2', { id: 'model-active-h', class: 'card-title !mb-0' }, 'Active model'),
      h('p', { class: 'font-medium', 'data-testid': 'model-status' },
        builtIn ? 'The built-in default model is active.' : 'A model trained for this site is active.'),
      m.message ? h('p', { class: 'text-sm text-slate-500', 'data-testid': 'model-message' }, m.message) : null,
      dl([
        ['Version', h('span', { class: 'mono' }, i.version), 'model-active-version'],
        ['Created', fmtUtc(i.created_ms)],
        ['Training samples', fmtNum(i.samples)],
        ['Trees', `${fmtNum(a.trees)}` + (i.params?.sample_size ? ` (sample size ${i.params.sample_size})` : '')],
        ['Routes learned', fmtNum(a.routes)],
        ['Features', `${a.features?.length ?? 0}`],
        ['Fingerprint', h('span', { class: 'mono' }, i.fingerprint)],
        ['Model threshold', fix(i.threshold)],
        ['Threshold in force', threshold === null ? '—' : fix(threshold) + (typeof m.threshold_override === 'number' ? ' (policy override)' : ''), 'model-threshold'],
        ['Target FPR', pct(i.target_fpr)],
      ]),
      h('div', null,
        h('h3', { class: 'mb-1 text-xs font-semibold uppercase tracking-wide text-slate-500' }, 'Training score quantiles'),
        h('div', { class: 'table-wrap' }, h('table', { class: 'tbl !min-w-0', 'data-testid': 'model-quantiles' },
          h('thead', null, h('tr', null, ['p50', 'p90', 'p99', 'p99.9', 'max'].map((k) => h('th', { scope: 'col', class: '!px-2' }, k)))),
          h('tbody', null, h('tr', null, (['p50', 'p90', 'p99', 'p999', 'max'] as const).map((k) => h('td', { class: 'mono tabular-nums !px-2' }, fix(q[k]))))))),
      ));
  }

  function learningBanner(m: ModelInfo): HTMLElement | null {
    if (!m.learning) return null;
    const l = m.learned;
    const done = m.learned?.requests ?? 0;
    const of = Math.max(1, m.learned?.of ?? 1);
    const frac = Math.min(1, done / of);
    const id = 'model-learning-progress';
    return h('section', {
      class: 'card space-y-2 border-sky-300 bg-sky-50 dark:border-sky-800 dark:bg-sky-950/40', 'data-testid': 'model-learning',
      'aria-labelledby': 'model-learning-h',
    },
    h('h2', { id: 'model-learning-h', class: 'text-sm font-semibold text-sky-900 dark:text-sky-200' }, 'Learning this site’s traffic'),
    h('p', { class: 'text-sm text-sky-900 dark:text-sky-100' },
      'No model has been trained on this site yet. The built-in model scores requests but does not flag them; after ',
      fmtNum(of), ' requests allowed without a finding, from enough distinct clients, Wafer trains a model for this site and switches to it.'),
    h('label', { for: id, class: 'block text-xs font-medium text-sky-900 dark:text-sky-200' },
      `${fmtNum(done)} of ${fmtNum(of)} requests (${Math.floor(frac * 100)} %)`),
    h('progress', { id, class: 'progress', max: of, value: Math.min(done, of), 'data-testid': 'model-learning-progress' }),
    // Why no model yet (too few clients, a failure...), and what was left out.
    l?.reason ? h('p', { class: 'text-sm font-medium text-sky-900 dark:text-sky-100', 'data-testid': 'model-learning-reason' }, l.reason) : null,
    l ? h('p', { class: 'text-xs text-sky-900 dark:text-sky-200', 'data-testid': 'model-learning-counts' },
      `${fmtNum(l.clients ?? 0)} distinct clients (${fmtNum(l.min_clients ?? 0)} needed) · `
      + `${fmtNum(l.bytes ?? 0)} of ${fmtNum(l.max_bytes ?? 0)} bytes · not kept: `
      + `${fmtNum(l.skipped_share ?? 0)} past a client's share, ${fmtNum(l.skipped_findings ?? 0)} with findings, `
      + `${fmtNum(l.skipped_budget ?? 0)} over the byte budget`) : null);
  }

  function modeCard(m: ModelInfo, threshold: number | null): HTMLElement {
    const mode = m.mode ?? '—';
    const explain: Record<string, string> = {
      detect: 'anomalous requests are logged with finding 1900 but not blocked',
      block: 'anomalous requests are blocked',
      off: 'requests are not scored',
    };
    return h('section', { class: 'card space-y-2', 'aria-labelledby': 'model-mode-h' },
      h('h2', { id: 'model-mode-h', class: 'card-title !mb-0' }, 'In force'),
      h('p', { class: 'text-sm' },
        'Mode ', h('span', { class: 'badge ' + (mode === 'block' ? 'act-block' : mode === 'detect' ? 'act-flag' : 'sev-other'), 'data-testid': 'model-mode' }, mode),
        explain[mode] ? ` — ${explain[mode]}.` : ''),
      h('p', { class: 'text-sm' },
        typeof m.threshold_override === 'number'
          ? `Threshold override ${fix(m.threshold_override)} from the policy (the model’s own is ${fix(m.active?.info.threshold)}).`
          : `No threshold override: the model’s own threshold ${fix(threshold)} applies.`),
      h('p', { class: 'text-sm' }, h('a', { class: 'link', href: '#/policy', 'data-testid': 'model-policy-link' }, 'Change the anomaly mode or threshold in Policy'), '.'));
  }

  function scoresCard(m: ModelInfo, threshold: number | null): HTMLElement {
    const r = m.recent ?? { scored: 0, anomalous: 0, bins: [], bin_width: 0.05 };
    const w = r.bin_width || (r.bins.length ? 1 / r.bins.length : 0.05);
    const labels = r.bins.map((_, i) => (i * w).toFixed(2));
    const range = (i: number) => `score ${(i * w).toFixed(2)}–${((i + 1) * w).toFixed(2)}`;
    // A bin is "over" when all of it is above the threshold, "straddling" when
    // the threshold falls inside it.
    const kind = (i: number) => (threshold === null ? 'under' : i * w >= threshold ? 'over' : (i + 1) * w > threshold ? 'straddle' : 'under');
    const bg = r.bins.map((_, i) => ({ over: colors.blocked, straddle: colors.flagged, under: colors.accent })[kind(i)]);
    const canvas = h('canvas', {
      role: 'img', 'data-testid': 'model-scores-canvas',
      'aria-label': `Recent anomaly scores of ${r.scored} requests in ${r.bins.length} bins; threshold ${fix(threshold)}; ${r.anomalous} anomalous`,
    });
    const swatch = (cls: string, text: string) => h('span', { class: 'inline-flex items-center gap-1' }, h('span', { class: 'inline-block size-3 rounded-sm ' + cls, 'aria-hidden': 'true' }), text);
    const card = h('section', { class: 'card space-y-2', 'data-testid': 'model-scores-chart', 'aria-labelledby': 'model-scores-h' },
      h('h2', { id: 'model-scores-h', class: 'card-title !mb-0' }, 'Recent score distribution'),
      h('p', { class: 'text-sm text-slate-600 dark:text-slate-300', 'data-testid': 'model-recent' },
        `${fmtNum(r.scored)} requests scored recently, ${fmtNum(r.anomalous)} anomalous.`),
      h('div', { class: 'relative h-56' }, canvas),
      h('p', { class: 'flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-600 dark:text-slate-300', 'data-testid': 'model-threshold-caption' },
        h('span', { class: 'font-semibold' }, `threshold ${fix(threshold)}`),
        swatch('bg-sky-500', 'below'), swatch('bg-amber-500', 'contains the threshold'), swatch('bg-red-500', 'above')),
      r.scored === 0 ? h('p', { class: 'text-xs text-slate-500' }, 'No requests scored yet: send some traffic through the proxy.') : null);
    pending = () => (chart = makeChart(canvas, {
      type: 'bar',
      data: { labels, datasets: [{ label: 'requests', data: r.bins, backgroundColor: bg, borderWidth: 0 }] },
      options: {
        scales: {
          x: { title: { display: true, text: 'anomaly score' }, ticks: { maxRotation: 0, autoSkip: true } },
          y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'requests' } },
        },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { title: (items) => (items.length ? range(items[0].dataIndex) : '') } },
        },
      },
    }));
    return card;
  }

  function modelsCard(m: ModelInfo): HTMLElement {
    const list = m.models ?? [];
    const rollback: HTMLButtonElement = h('button', {
      type: 'button', class: 'btn btn-sm', 'data-testid': 'model-rollback',
      onclick: () => {
        if (!confirm('Roll back to the previously active model?')) return;
        void act('Roll back', () => api.rollbackModel(), rollback);
      },
    }, 'Roll back');
    const row = (v: ModelVersionInfo) => {
      const btn: HTMLButtonElement | null = v.active ? null : h('button', {
        type: 'button', class: 'btn btn-sm', 'data-testid': 'model-activate', 'data-version': v.version,
        'aria-label': `Activate model ${v.version}`,
        onclick: () => {
          if (!confirm(`Activate model ${v.version}? It replaces the active model at once.`)) return;
          void act(`Activate ${v.version}`, () => api.activateModel(v.version), btn!);
        },
      }, 'Activate');
      return h('tr', { 'data-testid': 'model-row', 'data-version': v.version, 'data-active': String(v.active) },
        h('td', { class: 'mono' }, v.version, v.active ? [' ', h('span', { class: 'badge act-allow', 'data-testid': 'model-active-badge' }, 'active')] : null),
        h('td', { class: 'whitespace-nowrap' }, fmtUtc(v.created_ms)),
        h('td', { class: 'tabular-nums text-right' }, fmtNum(v.samples)),
        h('td', { class: 'mono tabular-nums' }, fix(v.threshold)),
        h('td', null, btn));
    };
    const th = (s: string, cls = '') => h('th', { scope: 'col', class: cls }, s);
    return h('section', { class: 'card space-y-3', 'aria-labelledby': 'model-list-h' },
      h('div', { class: 'flex flex-wrap items-center justify-between gap-2' },
        h('h2', { id: 'model-list-h', class: 'card-title !mb-0' }, `Trained models (${list.length})`), rollback),
      list.length
        ? h('div', { class: 'table-wrap' }, h('table', { class: 'tbl', 'data-testid': 'model-table' },
          h('thead', null, h('tr', null, th('Version'), th('Created (UTC)'), th('Samples', 'text-right'), th('Threshold'), th('', ''))),
          h('tbody', null, list.map(row))))
        : h('p', { class: 'text-sm text-slate-500' }, 'No trained models yet. Train one with ', h('code', { class: 'mono' }, 'wafer train'), '.'),
      m.models_dir ? h('p', { class: 'text-xs text-slate-500 break-all' }, 'Models directory: ', h('span', { class: 'mono' }, m.models_dir)) : null);
  }

  function render(m: ModelInfo) {
    if (!m.available) return unavailable(m.message ?? '');
    destroyChart(chart);
    chart = null;
    const threshold = typeof m.threshold_override === 'number' ? m.threshold_override : m.active?.info.threshold ?? null;
    replace(body,
      learningBanner(m),
      h('div', { class: 'grid gap-4 lg:grid-cols-2' }, activeCard(m, threshold), h('div', { class: 'min-w-0 space-y-4' }, modeCard(m, threshold), scoresCard(m, threshold))),
      modelsCard(m));
    pending?.();
    pending = null;
  }

  async function load() {
    try {
      const m = await api.model();
      if (alive) render(m);
    } catch (e) {
      const err = e as ApiError;
      if (alive) unavailable(err.status === 404 ? 'This server does not offer an anomaly model.' : 'Could not read the model status: ' + err.message);
    }
  }

  void load();
  return () => {
    alive = false;
    destroyChart(chart);
    chart = null;
  };
}
