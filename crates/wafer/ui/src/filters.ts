// The event filter bar shared by the live feed and search, and the
// conversion between filters, URL query strings and hash deep links.
import { h } from './dom';
import { CLASSES } from './types';

export type Filters = Record<string, string>;

export const FILTER_KEYS = ['action', 'class', 'ip', 'path', 'rule', 'min_score', 'q', 'method', 'host', 'site', 'status', 'from', 'to'] as const;

export function toParams(f: Filters, extra: Record<string, string> = {}): URLSearchParams {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v.trim() !== '') p.set(k, v.trim());
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p;
}

/** Query part of the current hash route, e.g. `#/search?ip=1.2.3.4`. */
export function hashQuery(): URLSearchParams {
  const i = location.hash.indexOf('?');
  return new URLSearchParams(i < 0 ? '' : location.hash.slice(i + 1));
}

export function fromHash(): Filters {
  const q = hashQuery();
  const f: Filters = {};
  for (const k of FILTER_KEYS) {
    const v = q.get(k);
    if (v !== null) f[k] = v;
  }
  return f;
}

export const inputCls =
  'block w-full rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm text-slate-900 ' +
  'placeholder:text-slate-400 focus:border-sky-500 focus:outline-none focus:ring-2 focus:ring-sky-500/40 ' +
  'dark:border-slate-700 dark:bg-slate-900 dark:text-slate-100';

export const labelCls = 'block text-xs font-medium text-slate-600 dark:text-slate-400';

interface Field {
  key: string;
  label: string;
  kind: 'text' | 'select' | 'number' | 'datetime';
  options?: readonly string[];
  placeholder?: string;
  width?: string;
}

const FIELDS: Record<string, Field> = {
  action: { key: 'action', label: 'Action', kind: 'select', options: ['allow', 'flag', 'block'] },
  class: { key: 'class', label: 'Class', kind: 'select', options: CLASSES },
  ip: { key: 'ip', label: 'Client IP', kind: 'text', placeholder: '1.2.3.4' },
  path: { key: 'path', label: 'Path prefix', kind: 'text', placeholder: '/api/' },
  site: { key: 'site', label: 'Site', kind: 'text', placeholder: 'shop' },
  rule: { key: 'rule', label: 'Rule', kind: 'number', placeholder: '200001' },
  min_score: { key: 'min_score', label: 'Min score', kind: 'number', placeholder: '0' },
  q: { key: 'q', label: 'Text', kind: 'text', placeholder: 'search payloads…' },
  from: { key: 'from', label: 'From', kind: 'text', placeholder: '-24h or RFC 3339' },
  to: { key: 'to', label: 'To', kind: 'text', placeholder: 'now' },
};

/**
 * Builds a filter bar. `onChange` gets the full filter set, debounced while
 * typing and immediately on Enter or a select change.
 */
export function filterBar(keys: string[], initial: Filters, onChange: (f: Filters) => void): HTMLElement {
  const current: Filters = { ...initial };
  let timer: number | undefined;
  const fire = (now: boolean) => {
    clearTimeout(timer);
    if (now) onChange({ ...current });
    else timer = window.setTimeout(() => onChange({ ...current }), 400);
  };
  const controls = keys.map((k) => {
    const f = FIELDS[k];
    const id = 'filter-' + k + '-' + Math.random().toString(36).slice(2, 7);
    let ctl: HTMLInputElement | HTMLSelectElement;
    if (f.kind === 'select') {
      ctl = h('select', { id, class: inputCls, 'data-testid': 'filter-' + k },
        h('option', { value: '' }, 'any'),
        (f.options ?? []).map((o) => h('option', { value: o }, o)));
      ctl.value = current[k] ?? '';
      ctl.addEventListener('change', () => {
        current[k] = ctl.value;
        fire(true);
      });
    } else {
      ctl = h('input', {
        id,
        class: inputCls,
        type: f.kind === 'number' ? 'number' : 'text',
        inputmode: f.kind === 'number' ? 'numeric' : null,
        min: f.kind === 'number' ? 0 : null,
        placeholder: f.placeholder ?? '',
        value: current[k] ?? '',
        'data-testid': 'filter-' + k,
        autocomplete: 'off',
        spellcheck: 'false',
      });
      ctl.addEventListener('input', () => {
        current[k] = ctl.value;
        fire(false);
      });
      ctl.addEventListener('keydown', (e: KeyboardEvent) => {
        if (e.key === 'Enter') {
          current[k] = ctl.value;
          fire(true);
        }
      });
    }
    return h('div', { class: k === 'q' ? 'col-span-2 sm:col-span-2' : '' }, h('label', { for: id, class: labelCls }, f.label), ctl);
  });
  const clear = h('button', {
    type: 'button',
    class: 'btn self-end',
    'data-testid': 'filter-clear',
    onclick: () => {
      for (const k of Object.keys(current)) current[k] = '';
      for (const el of bar.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input,select')) el.value = '';
      fire(true);
    },
  }, 'Clear');
  const bar = h('div', {
    class: 'grid grid-cols-2 gap-2 sm:grid-cols-4 lg:grid-cols-8 items-end',
    role: 'search',
    'aria-label': 'Event filters',
  }, controls, clear);
  return bar;
}
