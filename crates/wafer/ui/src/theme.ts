// Dark/light theme: the system preference unless the user picked one, which
// is remembered in localStorage. Tailwind's `dark:` variant keys off the
// `dark` class on <html>.
const KEY = 'wafer-theme';
const media = matchMedia('(prefers-color-scheme: dark)');
const listeners: (() => void)[] = [];

export function isDark(): boolean {
  return document.documentElement.classList.contains('dark');
}

function stored(): 'dark' | 'light' | null {
  const v = localStorage.getItem(KEY);
  return v === 'dark' || v === 'light' ? v : null;
}

function apply(): void {
  const dark = (stored() ?? (media.matches ? 'dark' : 'light')) === 'dark';
  document.documentElement.classList.toggle('dark', dark);
  document.documentElement.style.colorScheme = dark ? 'dark' : 'light';
  for (const f of listeners) f();
}

export function toggleTheme(): void {
  localStorage.setItem(KEY, isDark() ? 'light' : 'dark');
  apply();
}

export function setTheme(t: 'dark' | 'light'): void {
  localStorage.setItem(KEY, t);
  apply();
}

/** Called after every theme change (charts recolour themselves). */
export function onTheme(f: () => void): void {
  listeners.push(f);
}

media.addEventListener('change', apply);
apply();
