// The site a per-site view (Policy, Suggestions) shows: named in the hash
// (`#/policy?site=blog`), chosen from a list when there are several sites.
import { api } from './api';
import { h, replace } from './dom';
import { inputCls } from './filters';

/** The site named in the hash, or undefined: the primary one (the default site, else the first). */
export function siteInHash(): string | undefined {
  const q = location.hash.split('?')[1] ?? '';
  return new URLSearchParams(q).get('site') || undefined;
}

/** A "Site" choice that moves `#/view` to the chosen site; empty with one site. */
export function sitePicker(view: string, current: string | undefined): HTMLElement {
  const box = h('div', { class: 'flex items-center gap-2' });
  void api.sites().then((sites) => {
    if (sites.length < 2) return;
    const primary = sites.find((x) => x.default) ?? sites[0];
    const id = `${view}-site`;
    const sel = h('select', { class: inputCls + ' !w-auto', id, 'data-testid': id },
      sites.map((x) => h('option', { value: x.name }, x.name + (x === primary ? ' (default)' : ''))));
    sel.value = current ?? primary.name;
    sel.addEventListener('change', () => { location.hash = `#/${view}?site=${encodeURIComponent(sel.value)}`; });
    replace(box, h('label', { for: id, class: 'text-sm text-slate-500' }, 'Site'), sel);
  }).catch(() => {});
  return box;
}
