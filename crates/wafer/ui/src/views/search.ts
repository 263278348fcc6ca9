// Search over stored events: filters, sort, cursor pagination, export.
import { api, ApiError } from '../api';
import { h, replace } from '../dom';
import { eventRow, eventTable } from '../eventtable';
import { filterBar, fromHash, hashQuery, inputCls, labelCls, toParams, type Filters } from '../filters';

export function searchView(root: HTMLElement): () => void {
  const hq = hashQuery();
  let filters: Filters = fromHash();
  if (!filters.from) filters.from = '-24h';
  let limit = hq.get('limit') ?? '50';
  let sort = hq.get('sort') ?? '-ts';
  // Cursors of the pages before the current one; the first page has none.
  let stack: (string | null)[] = [];
  let cursor: string | null = null;
  let next: string | null = null;
  let seq = 0;

  const { wrap, tbody } = eventTable('search-table');
  const status = h('p', { class: 'text-sm text-slate-500', role: 'status', 'aria-live': 'polite', 'data-testid': 'search-status' });
  const prevBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'search-prev', onclick: () => go(stack.pop() ?? null, false) }, '← Previous');
  const nextBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'search-next', onclick: () => { stack.push(cursor); go(next, false); } }, 'Next →');
  const csv = h('a', { class: 'btn', 'data-testid': 'export-csv', download: '' }, 'Export CSV');
  const jsonl = h('a', { class: 'btn', 'data-testid': 'export-jsonl', download: '' }, 'Export JSONL');

  function syncLinks() {
    csv.href = '/api/export?' + toParams(filters, { format: 'csv', sort });
    jsonl.href = '/api/export?' + toParams(filters, { format: 'jsonl', sort });
    // Keep the address shareable without re-rendering the view.
    history.replaceState(null, '', '#/search?' + toParams(filters, { limit, sort }));
  }

  async function go(c: string | null, reset: boolean) {
    if (reset) stack = [];
    cursor = c;
    const mine = ++seq;
    syncLinks();
    replace(status, 'Loading…');
    const extra: Record<string, string> = { limit, sort };
    if (c) extra.cursor = c;
    try {
      const page = await api.events(toParams(filters, extra));
      if (mine !== seq) return;
      next = page.next_cursor;
      replace(tbody, page.events.map((e) => eventRow(e, 'search-row')));
      replace(status, page.events.length
        ? `Page ${stack.length + 1}: ${page.events.length} events${next ? '' : ' (last page)'}`
        : 'No events match these filters.');
    } catch (e) {
      if (mine !== seq) return;
      const err = e as ApiError;
      replace(tbody);
      next = null;
      replace(status, h('span', { class: 'text-red-600 dark:text-red-400', role: 'alert' }, `Search failed: ${err.message}`, err.details.length ? ` (${err.details.join('; ')})` : ''));
    }
    prevBtn.disabled = stack.length === 0;
    nextBtn.disabled = !next;
  }

  const bar = filterBar(['from', 'to', 'site', 'action', 'class', 'ip', 'path', 'rule', 'min_score', 'q'], filters, (f) => {
    filters = f;
    void go(null, true);
  });
  const sizeId = 'search-size';
  const sortId = 'search-sort';
  const size = h('select', { id: sizeId, class: inputCls, 'data-testid': 'search-limit', onchange: () => { limit = size.value; void go(null, true); } },
    ['25', '50', '100', '250', '500', '1000'].map((n) => h('option', { value: n }, n)));
  size.value = limit;
  const sortSel = h('select', { id: sortId, class: inputCls, 'data-testid': 'search-sort', onchange: () => { sort = sortSel.value; void go(null, true); } },
    h('option', { value: '-ts' }, 'Newest first'), h('option', { value: 'ts' }, 'Oldest first'), h('option', { value: 'score' }, 'Highest score'));
  sortSel.value = sort;

  replace(root,
    h('div', { class: 'flex flex-wrap items-center justify-between gap-3' },
      h('h1', { class: 'text-xl font-semibold' }, 'Search'),
      h('div', { class: 'flex flex-wrap gap-2' }, csv, jsonl)),
    h('div', { class: 'card space-y-3' }, bar,
      h('div', { class: 'flex flex-wrap items-end gap-3' },
        h('div', null, h('label', { for: sizeId, class: labelCls }, 'Page size'), size),
        h('div', null, h('label', { for: sortId, class: labelCls }, 'Sort'), sortSel),
        h('p', { class: 'text-xs text-slate-500' }, 'From/To accept RFC 3339, unix ms, or relative times like -15m, -1h, -7d.'))),
    status, wrap,
    h('div', { class: 'flex justify-end gap-2' }, prevBtn, nextBtn));
  void go(null, true);
  return () => { seq++; };
}
