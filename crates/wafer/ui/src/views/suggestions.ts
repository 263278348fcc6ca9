// Suggested exclusions: rules that keep firing in one place of the
// application for many clients whose requests had nothing else found. Each
// card shows the narrow exclusion, the evidence for and against it, and how
// many recorded blocks it would have let through; Accept adds it to the policy.
import { api, ApiError } from '../api';
import { fmtNum, fmtTime, h, replace } from '../dom';
import { inputCls, labelCls } from '../filters';
import { sitePicker, siteInHash } from '../sitepicker';
import { toast } from '../toast';
import type { Suggestion, SuggestionReport } from '../types';

const WINDOWS: [string, string][] = [['1d', 'last day'], ['7d', 'last 7 days'], ['30d', 'last 30 days']];

const PARTS: Record<string, string> = {
  query_arg: 'query argument', query_arg_name: 'query argument name', body_arg: 'body argument',
  body_arg_name: 'body argument name', filename: 'file name', header: 'header', cookie: 'cookie', cookie_name: 'cookie name',
};

/** "body argument content", or "anywhere in the request" for an unnamed part. */
export function placeText(s: Pick<Suggestion, 'location' | 'exclusion'>): string {
  if (!s.exclusion.args?.length) return `anywhere in the request (seen in the ${s.location.part.replace(/_/g, ' ')})`;
  return `${PARTS[s.location.part] ?? s.location.part} ${s.location.name ?? ''}`.trim();
}

function plural(n: number, one: string, many = one + 's'): string {
  return `${fmtNum(n)} ${n === 1 ? one : many}`;
}

let uid = 0;

export function suggestionsView(root: HTMLElement): () => void {
  // Each site's suggestions come from its own events and go into its own policy.
  const site = siteInHash();
  const ids = { min: 'sg-min-' + ++uid, window: 'sg-win-' + uid };
  const minIn = h('input', { id: ids.min, class: inputCls, type: 'number', min: 1, max: 10000, step: 1, value: 5, inputmode: 'numeric', 'data-testid': 'suggestions-min-clients' });
  const windowSel = h('select', { id: ids.window, class: inputCls, 'data-testid': 'suggestions-window' }, WINDOWS.map(([v, l]) => h('option', { value: v }, l)));
  windowSel.value = '7d';
  const status = h('p', { class: 'text-xs text-slate-500', role: 'status', 'data-testid': 'suggestions-status' });
  const errors = h('div', { role: 'alert', 'data-testid': 'suggestions-errors' });
  const list = h('div', { class: 'space-y-4', 'data-testid': 'suggestions-list' });

  // What the list was computed with: accepting recomputes with the same.
  let params: Record<string, string> = {};

  function card(s: Suggestion): HTMLElement {
    const e = s.evidence;
    const p = s.preview;
    const accept: HTMLButtonElement = h('button', {
      type: 'button', class: 'btn btn-primary', 'data-testid': 'suggestion-accept', 'aria-label': `Accept the exclusion for ${s.path}, ${placeText(s)}`,
      onclick: async () => {
        accept.disabled = true;
        try {
          await api.acceptSuggestion(s.id, params);
          toast(`Exclusion added: rules ${s.exclusion.rules.join(', ')} on ${s.exclusion.path}` + (s.exclusion.args?.length ? ` in ${s.exclusion.args.join(', ')}` : ''));
          el.remove();
          if (!list.children.length) showEmpty();
        } catch (err) {
          const x = err as ApiError;
          toast(`Not accepted: ${x.message}`, 'error', x.details);
          accept.disabled = false;
          if (x.status === 404) void load();
        }
      },
    }, 'Accept');
    const dl = (rows: [string, Node | string][]) => h('dl', { class: 'grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm' },
      rows.map(([k, v]) => [h('dt', { class: 'text-slate-500' }, k), h('dd', { class: 'min-w-0 break-words' }, v)]));
    const el = h('section', { class: 'card space-y-3', 'data-testid': 'suggestion', 'data-id': s.id },
      h('div', { class: 'flex flex-wrap items-start justify-between gap-3' },
        h('div', { class: 'min-w-0 space-y-1' },
          h('h2', { class: 'card-title mb-0 break-words' },
            h('span', { class: 'mono' }, s.path), ' · ', placeText(s)),
          h('p', { class: 'text-sm' }, s.rules.map((r, i) => [i ? '; ' : '',
            h('span', { class: 'mono font-semibold' }, String(r.rule_id)), ` ${r.class}: ${r.message} (${plural(r.clients, 'client')})`]))),
        accept),
      h('div', { class: 'grid gap-4 md:grid-cols-2' },
        h('div', { class: 'space-y-2' }, h('h3', { class: 'text-xs font-semibold uppercase text-slate-500' }, 'Evidence'),
          dl([
            ['Clients', h('span', { 'data-testid': 'suggestion-clients' }, fmtNum(e.clients))],
            ['Requests', fmtNum(e.requests)],
            ['Seen', `${fmtTime(e.first_seen_ms)} – ${fmtTime(e.last_seen_ms)}`],
            ['Against', h('span', { 'data-testid': 'suggestion-counter' }, e.counter_evidence
              ? `${plural(e.counter_evidence, 'request')} with this and another finding elsewhere`
              : 'none: no request had another finding')],
            ...(e.banned_clients ? [['Left out', `${plural(e.banned_clients, 'banned or blocked client')}`] as [string, string]] : []),
            ['Matched', h('ul', { class: 'space-y-0.5' }, e.examples.map((x) => h('li', null, h('code', { class: 'break-all text-xs' }, x))))],
          ])),
        h('div', { class: 'space-y-2' }, h('h3', { class: 'text-xs font-semibold uppercase text-slate-500' }, 'Preview'),
          h('p', { class: 'text-sm', 'data-testid': 'suggestion-preview' },
            p.blocked
              ? `Would have let through ${fmtNum(p.would_pass)} of ${plural(p.blocked, 'blocked request')} it touches.`
              : 'No recorded block would change.'),
          p.examples.length
            ? h('ul', { class: 'space-y-0.5 text-xs' }, p.examples.map((x) => h('li', null,
              h('a', { class: 'link mono', href: '#/search?q=' + encodeURIComponent(x.id) }, x.id), ` ${x.path}: score ${x.score} → ${x.score_after} (threshold ${x.threshold})`)))
            : null,
          h('p', { class: 'text-xs text-slate-500' }, 'Adds: ',
            h('code', { class: 'break-all', 'data-testid': 'suggestion-exclusion' },
              `path ${s.exclusion.path} · rules ${s.exclusion.rules.join(', ')}` + (s.exclusion.args?.length ? ` · only in ${s.exclusion.args.join(', ')}` : ' · anywhere'))))));
    return el;
  }

  function showEmpty() {
    replace(list, h('p', { class: 'text-sm text-slate-500', 'data-testid': 'suggestions-empty' },
      `No suggestions: no rule fired in one place for ${params.min_clients ?? 5} or more clients with nothing else found, or the policy already covers it.`));
  }

  function show(r: SuggestionReport) {
    replace(errors);
    const since = r.oldest_scanned_ms && r.truncated ? r.oldest_scanned_ms : r.from_ms;
    replace(status, `Read ${plural(r.scanned, 'event')} since ${fmtTime(since)}` +
      (r.truncated ? ` — the newest ${fmtNum(r.max_events)} only: older events in the window were not read.` : '.'));
    if (!r.suggestions.length) return showEmpty();
    replace(list, r.suggestions.map(card));
  }

  async function load() {
    const min = minIn.value.trim();
    params = { window: windowSel.value, ...(min ? { min_clients: min } : {}), ...(site ? { site } : {}) };
    replace(status, 'Loading…');
    try {
      show(await api.suggestions(new URLSearchParams(params)));
    } catch (e) {
      const x = e as ApiError;
      replace(status, '');
      replace(errors, h('div', { class: 'rounded-lg border border-red-300 bg-red-50 p-3 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100' },
        h('p', { class: 'font-semibold break-words' }, 'Could not load suggestions: ' + x.message)));
    }
  }

  const form = h('form', { class: 'flex flex-wrap items-end gap-3', novalidate: true, onsubmit: (ev: Event) => { ev.preventDefault(); void load(); } },
    h('div', { class: 'space-y-1' }, h('label', { for: ids.min, class: labelCls }, 'Distinct clients at least'), minIn),
    h('div', { class: 'space-y-1' }, h('label', { for: ids.window, class: labelCls }, 'Window'), windowSel),
    h('button', { type: 'submit', class: 'btn', 'data-testid': 'suggestions-refresh' }, 'Refresh'));

  replace(root,
    h('div', { class: 'flex flex-wrap items-center gap-3' }, h('h1', { class: 'text-xl font-semibold' }, 'Suggested exclusions'), sitePicker('suggestions', site)),
    h('p', { class: 'text-sm text-slate-500' }, 'Rules that blocked real use of the application: the same rules in the same place (path and argument) for many clients whose requests had nothing else suspicious. Accepting adds a narrow exclusion — those rules, that path, that argument — to the policy.'),
    form, status, errors, list);
  void load();
  return () => {};
}
