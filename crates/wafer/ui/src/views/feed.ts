// Live feed: a filtered SSE stream, newest first, capped in the DOM.
import { h, replace } from '../dom';
import { eventRow, eventTable } from '../eventtable';
import { filterBar, fromHash, toParams, type Filters } from '../filters';
import { streamEvents, type Stream } from '../live';
import type { WafEvent } from '../types';

const MAX_ROWS = 500;

export function feedView(root: HTMLElement): () => void {
  let filters: Filters = fromHash();
  let stream: Stream | null = null;
  let paused = false;
  let buffer: WafEvent[] = [];
  let lagged = 0;

  const { wrap, tbody } = eventTable('feed-table');
  const empty = h('p', { class: 'p-6 text-center text-sm text-slate-500', 'data-testid': 'feed-empty' }, 'Waiting for events…');
  const state = h('span', { class: 'inline-flex items-center gap-1.5 text-xs text-slate-500', 'data-testid': 'feed-state' });
  const pending = h('button', { type: 'button', class: 'btn btn-sm hidden', 'data-testid': 'feed-new', onclick: () => setPaused(false) });
  const lagNote = h('p', { class: 'hidden text-xs text-amber-700 dark:text-amber-400', role: 'status', 'data-testid': 'feed-lagged' });
  const pauseBtn = h('button', { type: 'button', class: 'btn', 'aria-pressed': 'false', 'data-testid': 'feed-pause', onclick: () => setPaused(!paused) }, 'Pause');

  // 'connecting' until the stream answers (some servers send the response
  // headers only with the first event), 'open', or 'retrying' after an error.
  function setState(s: 'connecting' | 'open' | 'retrying') {
    state.dataset.state = s;
    const text = { connecting: 'connecting…', open: 'streaming', retrying: 'reconnecting…' }[s];
    replace(state, h('span', { class: 'size-2 rounded-full ' + (s === 'open' ? 'bg-emerald-500' : 'bg-slate-400') }), text);
  }

  function insert(events: WafEvent[]) {
    if (!events.length) return;
    empty.remove();
    const frag = document.createDocumentFragment();
    // `events` is oldest-first; the newest row goes on top.
    for (let i = events.length - 1; i >= 0; i--) frag.appendChild(eventRow(events[i], 'feed-row'));
    tbody.insertBefore(frag, tbody.firstChild);
    while (tbody.rows.length > MAX_ROWS) tbody.lastElementChild?.remove();
  }

  function showPending() {
    pending.classList.toggle('hidden', buffer.length === 0);
    replace(pending, `${buffer.length} new — show`);
  }

  function setPaused(p: boolean) {
    paused = p;
    pauseBtn.setAttribute('aria-pressed', String(p));
    replace(pauseBtn, p ? 'Resume' : 'Pause');
    if (!p) {
      insert(buffer.slice(-MAX_ROWS));
      buffer = [];
    }
    showPending();
  }

  function connect() {
    stream?.close();
    replace(tbody);
    wrap.after(empty);
    buffer = [];
    showPending();
    setState('connecting');
    stream = streamEvents(toParams(filters), (e) => {
      if (state.dataset.state !== 'open') setState('open');
      if (paused) {
        buffer.push(e);
        if (buffer.length > MAX_ROWS) buffer.shift();
        showPending();
      } else insert([e]);
    }, (missed) => {
      lagged += missed;
      lagNote.classList.remove('hidden');
      replace(lagNote, `The stream fell behind and skipped ${lagged} events; use Search for the full history.`);
    }, (open) => setState(open ? 'open' : 'retrying'));
  }

  const bar = filterBar(['site', 'action', 'class', 'ip', 'path', 'rule', 'min_score', 'q'], filters, (f) => {
    filters = f;
    connect();
  });

  replace(root,
    h('div', { class: 'flex flex-wrap items-center justify-between gap-3' },
      h('h1', { class: 'text-xl font-semibold' }, 'Live feed'),
      h('div', { class: 'flex items-center gap-3' }, state, pending, pauseBtn)),
    h('div', { class: 'card' }, bar),
    lagNote,
    wrap, empty);
  connect();
  return () => stream?.close();
}
