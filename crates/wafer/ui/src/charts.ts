// Chart.js, tree-shaken: only the pieces the overview draws are registered.
// Colours come from one palette per theme, applied again when it changes.
import {
  ArcElement, BarController, BarElement, CategoryScale, Chart, DoughnutController, Filler,
  Legend, LinearScale, LineController, LineElement, PointElement, Tooltip,
  type ChartConfiguration, type ChartType,
} from 'chart.js';
import { isDark, onTheme } from './theme';

Chart.register(
  ArcElement, BarController, BarElement, CategoryScale, DoughnutController, Filler, Legend,
  LinearScale, LineController, LineElement, PointElement, Tooltip,
);
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.family = 'ui-sans-serif, system-ui, sans-serif';

// Mid-tone hues that keep contrast on both white and slate-900 backgrounds.
export const colors = {
  allowed: '#10b981',
  blocked: '#ef4444',
  flagged: '#f59e0b',
  accent: '#0ea5e9',
  series: ['#0ea5e9', '#ef4444', '#f59e0b', '#10b981', '#8b5cf6', '#ec4899', '#14b8a6', '#f97316', '#6366f1', '#84cc16', '#64748b', '#eab308'],
};

function ink() {
  return isDark()
    ? { text: '#cbd5e1', grid: 'rgba(148,163,184,0.15)', border: '#0f172a' }
    : { text: '#475569', grid: 'rgba(100,116,139,0.15)', border: '#ffffff' };
}

const charts = new Set<Chart>();

function themeOptions(c: Chart): void {
  const k = ink();
  const o = c.options as any;
  if (o.plugins?.legend?.labels) o.plugins.legend.labels.color = k.text;
  for (const s of Object.values(o.scales ?? {}) as any[]) {
    s.ticks = { ...(s.ticks ?? {}), color: k.text };
    s.grid = { ...(s.grid ?? {}), color: k.grid };
    s.border = { ...(s.border ?? {}), color: k.grid };
    if (s.title) s.title = { ...s.title, color: k.text };
  }
  if ((c.config as { type?: string }).type === 'doughnut') for (const d of c.data.datasets as any[]) d.borderColor = k.border;
}

onTheme(() => {
  for (const c of charts) {
    themeOptions(c);
    c.update();
  }
});

export function makeChart<T extends ChartType>(canvas: HTMLCanvasElement, cfg: ChartConfiguration<T>): Chart<T> {
  const c = new Chart(canvas, cfg);
  charts.add(c as unknown as Chart);
  themeOptions(c as unknown as Chart);
  c.update();
  return c;
}

export function destroyChart(c: Chart<any> | null | undefined): void {
  if (!c) return;
  charts.delete(c as Chart);
  c.destroy();
}
