// The anomaly model's status. Until the server has a model this says so
// plainly; when it has one, its fields are listed generically.
import { api, ApiError } from '../api';
import { fmtTime, h, replace } from '../dom';

function show(v: unknown, key: string): string {
  if (typeof v === 'number' && /(_ms|created|trained|at)$/.test(key) && v > 1e12) return fmtTime(v);
  if (v === null || v === undefined) return '—';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function modelView(root: HTMLElement): () => void {
  const body = h('div', { class: 'card space-y-3', 'data-testid': 'model' }, h('p', { class: 'text-sm text-slate-500' }, 'Loading…'));
  replace(root, h('h1', { class: 'text-xl font-semibold' }, 'Anomaly model'), body);
  api.model().then(
    (m) => {
      if (!m.available) {
        replace(body,
          h('p', { class: 'font-medium', 'data-testid': 'model-status' }, 'No anomaly model is active yet.'),
          m.message ? h('p', { class: 'text-sm text-slate-500', 'data-testid': 'model-message' }, m.message) : null);
        return;
      }
      const preferred = ['version', 'active', 'created_ms', 'created', 'threshold', 'training_samples', 'samples'];
      const keys = [...preferred.filter((k) => k in m), ...Object.keys(m).filter((k) => !preferred.includes(k) && k !== 'available')];
      replace(body,
        h('p', { class: 'font-medium', 'data-testid': 'model-status' }, 'An anomaly model is available.'),
        h('dl', { class: 'grid grid-cols-[12rem_1fr] gap-x-3 gap-y-1 text-sm' },
          keys.map((k) => [h('dt', { class: 'text-slate-500' }, k.replace(/_/g, ' ')), h('dd', { class: 'mono break-all' }, show(m[k], k))])));
    },
    (e: ApiError) => {
      replace(body,
        h('p', { class: 'font-medium', 'data-testid': 'model-status' }, 'No anomaly model is active yet.'),
        h('p', { class: 'text-sm text-slate-500', 'data-testid': 'model-message' },
          e.status === 404 ? 'This server does not offer an anomaly model.' : 'Could not read the model status: ' + e.message));
    },
  );
  return () => {};
}
