// Transient notifications, announced politely to screen readers.
import { h } from './dom';

let region: HTMLElement | null = null;

function host(): HTMLElement {
  if (!region) {
    region = h('div', {
      class: 'fixed bottom-4 right-4 z-50 flex flex-col gap-2 max-w-[calc(100vw-2rem)] w-96',
      role: 'status',
      'aria-live': 'polite',
      'data-testid': 'toasts',
    });
    document.body.appendChild(region);
  }
  return region;
}

export function toast(message: string, kind: 'ok' | 'error' = 'ok', details: string[] = []): void {
  const el = h(
    'div',
    {
      class:
        'rounded-lg border px-4 py-3 text-sm shadow-lg ' +
        (kind === 'ok'
          ? 'border-emerald-300 bg-emerald-50 text-emerald-900 dark:border-emerald-800 dark:bg-emerald-950 dark:text-emerald-100'
          : 'border-red-300 bg-red-50 text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100'),
      'data-testid': 'toast',
      'data-kind': kind,
    },
    h('p', { class: 'font-medium break-words' }, message),
    details.length ? h('ul', { class: 'mt-1 list-disc pl-5' }, details.map((d) => h('li', null, d))) : null,
  );
  host().appendChild(el);
  setTimeout(() => el.remove(), kind === 'ok' ? 4000 : 8000);
}
