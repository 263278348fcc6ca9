// Policy editor: the whole document is edited locally and saved with PUT and
// If-Match, so a concurrent change is detected instead of overwritten.
import { api, ApiError } from '../api';
import { h, replace } from '../dom';
import { inputCls, labelCls } from '../filters';
import { sitePicker, siteInHash } from '../sitepicker';
import { toast } from '../toast';
import type { AnomalyPolicy, BanSettings, Exclusion, Policy, RateLimit, RouteOverride } from '../types';

const ANOMALY_MODES = ['detect', 'block', 'off'] as const;

const lines = (s: string) => s.split('\n').map((x) => x.trim()).filter(Boolean);
const list = (s: string) => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

let uid = 0;
function field(label: string, ctl: HTMLElement, hint?: string): HTMLElement {
  const id = 'pol-' + ++uid;
  ctl.id = id;
  return h('div', { class: 'space-y-1' }, h('label', { for: id, class: labelCls }, label), ctl,
    hint ? h('p', { class: 'text-xs text-slate-500' }, hint) : null);
}

function modeSelect(value: string | null | undefined, inherit: boolean, testid: string): HTMLSelectElement {
  const s = h('select', { class: inputCls, 'data-testid': testid },
    inherit ? h('option', { value: '' }, 'inherit') : null,
    ['block', 'detect', 'off'].map((m) => h('option', { value: m }, m)));
  s.value = value ?? '';
  return s;
}

function num(value: number | null | undefined, min: number, max: number | null, testid: string, placeholder = ''): HTMLInputElement {
  return h('input', { type: 'number', class: inputCls, min, max, value: value ?? '', placeholder, 'data-testid': testid });
}

/** An anomaly threshold input: empty, or a number strictly between 0 and 1. */
function fraction(value: number | null | undefined, testid: string, placeholder: string): HTMLInputElement {
  return h('input', { type: 'number', class: inputCls, min: 0, max: 1, step: 0.01, inputmode: 'decimal', value: value ?? '', placeholder, 'data-testid': testid });
}

/** `null` when empty; throws a readable error when not strictly inside (0, 1). */
function readFraction(el: HTMLInputElement, what: string): number | null {
  const raw = el.value.trim();
  if (raw === '') {
    if (el.validity.badInput) throw new ApiError(400, 'check the anomaly thresholds', [`${what}: not a number`]);
    return null;
  }
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n >= 1) throw new ApiError(400, 'check the anomaly thresholds', [`${what}: must be strictly between 0 and 1 (got ${raw})`]);
  return n;
}

/** A note shown while `rows` has no rows; it follows rows being added or removed. */
function emptyNote(rows: HTMLElement, text: string): HTMLElement {
  const p = h('p', { class: 'text-sm text-slate-500' }, text);
  const sync = () => p.classList.toggle('hidden', rows.children.length > 0);
  new MutationObserver(sync).observe(rows, { childList: true });
  sync();
  return p;
}

/** A whole number input read as a number, or undefined when empty. */
function readWhole(el: HTMLInputElement): number | undefined {
  return el.value.trim() === '' ? undefined : Number(el.value);
}

export function policyView(root: HTMLElement): () => void {
  const site = siteInHash();
  let etag: string | null = null;
  let doc: Policy | null = null;
  const errors = h('div', { role: 'alert', 'aria-live': 'assertive', 'data-testid': 'policy-errors' });
  const status = h('p', { class: 'text-xs text-slate-500', role: 'status', 'data-testid': 'policy-status' });
  const form = h('form', { class: 'space-y-4', 'data-testid': 'policy-form', novalidate: true });
  let collect: () => Policy = () => doc!;

  function showErrors(title: string, details: string[]) {
    replace(errors, h('div', { class: 'rounded-lg border border-red-300 bg-red-50 p-3 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100' },
      h('p', { class: 'font-semibold' }, title),
      details.length ? h('ul', { class: 'mt-1 list-disc pl-5', 'data-testid': 'policy-error-details' }, details.map((d) => h('li', null, d))) : null));
  }

  function build(p: Policy) {
    doc = p;
    replace(errors);
    const mode = modeSelect(p.mode, false, 'policy-mode');
    const paranoia = h('select', { class: inputCls, 'data-testid': 'policy-paranoia' }, [1, 2, 3, 4].map((n) => h('option', { value: n }, String(n))));
    paranoia.value = String(p.paranoia);
    const threshold = num(p.threshold, 1, null, 'policy-threshold');
    const disabled = h('textarea', { class: inputCls + ' mono', rows: 3, 'data-testid': 'policy-disabled' }, p.disabled_rules.join('\n'));

    // Servers before the anomaly model have no `anomaly` section; they would
    // refuse the new fields, so the controls appear only when it is there.
    const anomalyOn = p.anomaly !== undefined && p.anomaly !== null;
    const aMode = h('select', { class: inputCls, 'data-testid': 'policy-anomaly-mode' }, ANOMALY_MODES.map((x) => h('option', { value: x }, x)));
    aMode.value = p.anomaly?.mode ?? 'detect';
    const aThreshold = fraction(p.anomaly?.threshold, 'policy-anomaly-threshold', 'model’s own');

    const routeRows = h('tbody');
    const addRoute = (r: RouteOverride) => {
      const path = h('input', { class: inputCls + ' mono', value: r.path, placeholder: '/api/ or *.php', 'aria-label': 'Route path', 'data-testid': 'route-path' });
      const m = modeSelect(r.mode, true, 'route-mode');
      m.setAttribute('aria-label', 'Route mode');
      const t = num(r.threshold, 1, null, 'route-threshold', 'inherit');
      t.setAttribute('aria-label', 'Route threshold');
      const par = num(r.paranoia, 1, 4, 'route-paranoia', 'inherit');
      par.setAttribute('aria-label', 'Route paranoia');
      const dis = h('input', { class: inputCls + ' mono', value: (r.disabled_rules ?? []).join(', '), placeholder: '942100, 920000-920999', 'aria-label': 'Route disabled rules' });
      const am = h('select', { class: inputCls, 'data-testid': 'route-anomaly-mode', 'aria-label': 'Route anomaly mode' },
        h('option', { value: '' }, 'inherit'), ANOMALY_MODES.map((x) => h('option', { value: x }, x)));
      am.value = r.anomaly_mode ?? '';
      const at = fraction(r.anomaly_threshold, 'route-anomaly-threshold', 'inherit');
      at.setAttribute('aria-label', 'Route anomaly threshold');
      const tr = h('tr', { 'data-testid': 'route-row' },
        h('td', null, path), h('td', null, m), h('td', null, t), h('td', null, par), h('td', null, dis),
        anomalyOn ? [h('td', null, am), h('td', null, at)] : null,
        h('td', null, h('button', { type: 'button', class: 'btn btn-sm', 'aria-label': 'Remove route', onclick: () => tr.remove() }, 'Remove')));
      (tr as any).read = (): RouteOverride => {
        const o: RouteOverride = { ...r, path: path.value.trim(), disabled_rules: list(dis.value) };
        o.mode = m.value || null;
        o.threshold = t.value === '' ? null : Number(t.value);
        o.paranoia = par.value === '' ? null : Number(par.value);
        if (anomalyOn) {
          o.anomaly_mode = am.value || null;
          o.anomaly_threshold = readFraction(at, `Route ${o.path || '(no path)'} anomaly threshold`);
        }
        for (const k of ['mode', 'threshold', 'paranoia', 'anomaly_mode', 'anomaly_threshold'] as const) if (o[k] === null) delete o[k];
        return o;
      };
      routeRows.appendChild(tr);
    };
    p.routes.forEach(addRoute);

    const exclRows = h('tbody');
    const addExcl = (e: Exclusion) => {
      const path = h('input', { class: inputCls + ' mono', value: e.path, placeholder: '/search', 'aria-label': 'Exclusion path', 'data-testid': 'exclusion-path' });
      const rules = h('input', { class: inputCls + ' mono', value: e.rules.join(', '), placeholder: '200001, 942100', 'aria-label': 'Excluded rules', 'data-testid': 'exclusion-rules' });
      const args = h('input', { class: inputCls + ' mono', value: (e.args ?? []).join(', '), placeholder: 'anywhere', 'aria-label': 'Only in arguments', 'data-testid': 'exclusion-args' });
      const tr = h('tr', { 'data-testid': 'exclusion-row' }, h('td', null, path), h('td', null, rules), h('td', null, args),
        h('td', null, h('button', { type: 'button', class: 'btn btn-sm', 'aria-label': 'Remove exclusion', onclick: () => tr.remove() }, 'Remove')));
      (tr as any).read = (): Exclusion => {
        const x: Exclusion = { ...e, path: path.value.trim(), rules: list(rules.value), args: list(args.value) };
        if (!x.args!.length) delete x.args;
        return x;
      };
      exclRows.appendChild(tr);
    };
    p.exclusions.forEach(addExcl);

    // Servers before per-site rate limits send neither field; they would
    // refuse them, so the controls appear only when they are there.
    const throttleOn = Array.isArray(p.rate_limits) && p.bans !== undefined && p.bans !== null;
    const limitRows = h('tbody');
    const addLimit = (l: RateLimit) => {
      const name = h('input', { class: inputCls + ' mono', value: l.name ?? '', placeholder: 'login', 'aria-label': 'Limit name', 'data-testid': 'limit-name' });
      const path = h('input', { class: inputCls + ' mono', value: l.path ?? '', placeholder: 'every path', 'aria-label': 'Limit path', 'data-testid': 'limit-path' });
      const key = h('input', { class: inputCls + ' mono', value: l.key ?? 'ip', placeholder: 'ip', 'aria-label': 'Counted by', 'data-testid': 'limit-key' });
      const rate = h('input', { class: inputCls + ' mono', value: l.rate ?? '', placeholder: '100/s', 'aria-label': 'Rate', 'data-testid': 'limit-rate' });
      const burst = num(l.burst, 1, null, 'limit-burst', 'the rate’s N');
      burst.setAttribute('aria-label', 'Burst');
      const tr = h('tr', { 'data-testid': 'limit-row' },
        h('td', null, name), h('td', null, path), h('td', null, key), h('td', null, rate), h('td', null, burst),
        h('td', null, h('button', { type: 'button', class: 'btn btn-sm', 'aria-label': 'Remove rate limit', onclick: () => tr.remove() }, 'Remove')));
      (tr as any).read = (): RateLimit => {
        const o: RateLimit = { rate: rate.value.trim(), key: key.value.trim() || 'ip' };
        if (name.value.trim()) o.name = name.value.trim();
        if (path.value.trim()) o.path = path.value.trim();
        const b = readWhole(burst);
        if (b !== undefined) o.burst = b;
        return o;
      };
      limitRows.appendChild(tr);
    };
    (p.rate_limits ?? []).forEach(addLimit);
    const bans: BanSettings = p.bans ?? {};
    const banAfter = num(bans.after, 0, null, 'bans-after');
    const banWithin = num(bans.within_secs, 1, 86400, 'bans-within');
    const banMinutes = num(bans.minutes, 1, 43200, 'bans-minutes');
    const bansDoc = (): BanSettings => ({ after: readWhole(banAfter), within_secs: readWhole(banWithin), minutes: readWhole(banMinutes) });

    const allow = h('textarea', { class: inputCls + ' mono', rows: 4, 'data-testid': 'policy-ip-allow' }, p.ip.allow.join('\n'));
    const block = h('textarea', { class: inputCls + ' mono', rows: 4, 'data-testid': 'policy-ip-block' }, p.ip.block.join('\n'));

    collect = () => ({
      ...p,
      mode: mode.value as Policy['mode'],
      paranoia: Number(paranoia.value),
      threshold: Number(threshold.value),
      disabled_rules: list(disabled.value),
      routes: [...routeRows.children].map((tr) => (tr as any).read()),
      exclusions: [...exclRows.children].map((tr) => (tr as any).read()),
      ip: { ...p.ip, allow: lines(allow.value), block: lines(block.value) },
      ...(anomalyOn ? { anomaly: anomalyDoc() } : {}),
      ...(throttleOn ? { rate_limits: [...limitRows.children].map((tr) => (tr as any).read()), bans: bansDoc() } : {}),
    });
    const anomalyDoc = (): AnomalyPolicy => {
      const a: AnomalyPolicy = { mode: aMode.value as AnomalyPolicy['mode'] };
      const t = readFraction(aThreshold, 'Anomaly model threshold');
      if (t !== null) a.threshold = t;
      return a;
    };

    const th = (s: string) => h('th', { scope: 'col' }, s);
    replace(form,
      h('section', { class: 'card space-y-3' }, h('h2', { class: 'card-title' }, 'Whole site'),
        h('div', { class: 'grid gap-3 sm:grid-cols-3' },
          field('Mode', mode, 'block: deny over threshold; detect: log only; off: no inspection'),
          field('Paranoia level', paranoia, 'Higher levels enable stricter rules'),
          field('Rule score threshold', threshold, 'Rule score at which a request is blocked')),
        field('Disabled rules', disabled, 'Rule ids or ranges (942000-942999), one per line or comma separated')),
      anomalyOn
        ? h('section', { class: 'card space-y-3', 'data-testid': 'policy-anomaly' }, h('h2', { class: 'card-title' }, 'Anomaly model'),
          h('div', { class: 'grid gap-3 sm:grid-cols-2' },
            field('Mode', aMode, 'detect: log anomalous requests (finding 1900); block: deny them; off: do not score'),
            field('Threshold', aThreshold, 'Optional, strictly between 0 and 1; empty uses the active model’s own threshold')),
          h('p', { class: 'text-xs text-slate-500' }, h('a', { class: 'link', href: '#/model' }, 'See the active model and its recent scores'), '.'))
        : null,
      h('section', { class: 'card space-y-3' }, h('h2', { class: 'card-title' }, 'Per-route overrides'),
        h('p', { class: 'text-xs text-slate-500' }, 'Paths are prefixes (/api/) or globs (/api/*/upload, *.php). Empty fields inherit the whole site’s setting.'),
        h('div', { class: 'table-wrap' }, h('table', { class: 'tbl' }, h('thead', null, h('tr', null, th('Path'), th('Mode'), th('Threshold'), th('Paranoia'), th('Disabled rules'),
          anomalyOn ? [th('Anomaly mode'), th('Anomaly threshold')] : null, th(''))), routeRows)),
        emptyNote(routeRows, 'No route overrides: every path uses the whole site’s settings.'),
        h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'route-add', onclick: () => addRoute({ path: '' }) }, '+ Add route')),
      h('section', { class: 'card space-y-3' }, h('h2', { class: 'card-title' }, 'Rule exclusions'),
        h('p', { class: 'text-xs text-slate-500' }, 'Rules that never fire on a path (prefix or glob); with arguments (content, cells.*.source, cookie:NAME, header:NAME), only there. ',
          h('a', { class: 'link', href: '#/suggestions' }, 'See suggested exclusions'), '.'),
        h('div', { class: 'table-wrap' }, h('table', { class: 'tbl' }, h('thead', null, h('tr', null, th('Path'), th('Rules'), th('Only in arguments'), th(''))), exclRows)),
        emptyNote(exclRows, 'No exclusions.'),
        h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'exclusion-add', onclick: () => addExcl({ path: '', rules: [] }) }, '+ Add exclusion')),
      h('section', { class: 'card space-y-3' }, h('h2', { class: 'card-title' }, 'IP lists'),
        h('div', { class: 'grid gap-3 sm:grid-cols-2' },
          field('Allow (skips inspection)', allow, 'One IP or CIDR per line'),
          field('Block (always denied)', block, 'One IP or CIDR per line'))),
      throttleOn
        ? h('section', { class: 'card space-y-3', 'data-testid': 'rate-limits' }, h('h2', { class: 'card-title' }, 'Rate limits'),
          h('p', { class: 'text-xs text-slate-500' }, 'Requests over a limit get 429 with Retry-After. Counted per client IP, or per header:NAME or cookie:NAME value; shared across the cluster through Redis.'),
          h('div', { class: 'table-wrap' }, h('table', { class: 'tbl' }, h('thead', null, h('tr', null, th('Name'), th('Path'), th('Counted by'), th('Rate'), th('Burst'), th(''))), limitRows)),
          emptyNote(limitRows, 'No rate limits on this site.'),
          h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'limit-add', onclick: () => addLimit({ key: 'ip' }) }, '+ Add rate limit'))
        : null,
      throttleOn
        ? h('section', { class: 'card space-y-3', 'data-testid': 'ban-settings' }, h('h2', { class: 'card-title' }, 'Bans'),
          h('div', { class: 'grid gap-3 sm:grid-cols-3' },
            field('Blocked requests that ban', banAfter, '0: no automatic bans'),
            field('Within (seconds)', banWithin, '1 to 86400'),
            field('Ban length (minutes)', banMinutes, '1 to 43200; a ban refuses the client at every site')),
          h('p', { class: 'text-xs text-slate-500' }, h('a', { class: 'link', href: '#/bans' }, 'See and lift bans'), '.'))
        : null,
      h('div', { class: 'flex flex-wrap items-center gap-2' },
        h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'policy-save' }, 'Save'),
        h('button', { type: 'button', class: 'btn', 'data-testid': 'policy-reload', onclick: () => void load() }, 'Reload'),
        status));
  }

  async function load() {
    replace(status, 'Loading…');
    try {
      const r = await api.policy(site);
      etag = r.etag;
      build(r.body);
      replace(status, `Loaded ${new Date().toLocaleTimeString()}` + (etag ? '' : ' (server sent no ETag: saves cannot detect concurrent edits)'));
    } catch (e) {
      showErrors('Could not load the policy: ' + (e as Error).message, []);
      replace(status, '');
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!doc) return;
    replace(status, 'Saving…');
    try {
      const r = await api.putPolicy(collect(), etag, site);
      etag = r.etag;
      build(r.body);
      replace(status, `Saved ${new Date().toLocaleTimeString()}`);
      toast(site ? `Policy of ${site} saved` : 'Policy saved');
    } catch (e) {
      const err = e as ApiError;
      replace(status, '');
      if (err.status === 412) {
        toast('Someone else changed the policy meanwhile; reloaded the current version.', 'error');
        await load();
        showErrors('The policy was changed elsewhere while you edited it. It has been reloaded: re-apply your changes and save again.', []);
      } else {
        showErrors(`Not saved: ${err.message}`, err.details);
      }
    }
  });

  // Several sites: a choice of whose policy this is (each site has its own).
  const picker = sitePicker('policy', site);

  replace(root,
    h('div', { class: 'flex flex-wrap items-center justify-between gap-3' },
      h('div', { class: 'flex flex-wrap items-center gap-3' }, h('h1', { class: 'text-xl font-semibold' }, 'Policy'), picker),
      h('div', { class: 'flex gap-2' },
        h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'policy-save-top', onclick: () => form.requestSubmit() }, 'Save'),
        h('button', { type: 'button', class: 'btn', onclick: () => void load() }, 'Reload'))),
    errors, form);
  void load();
  return () => {};
}
