/** Text for numbers and times, the same everywhere in the UI. */

const UNITS: [number, string][] = [
  [60, 'second'],
  [60, 'minute'],
  [24, 'hour'],
  [30, 'day'],
  [12, 'month'],
  [Infinity, 'year'],
];

/** "3 minutes ago", "in 2 hours", "just now". */
export function timeAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  let delta = (new Date(iso).getTime() - now) / 1000;
  if (Math.abs(delta) < 10) return 'just now';
  for (const [size, unit] of UNITS) {
    if (Math.abs(delta) < size) {
      const n = Math.round(delta);
      const abs = Math.abs(n);
      const text = `${abs} ${unit}${abs === 1 ? '' : 's'}`;
      return n < 0 ? `${text} ago` : `in ${text}`;
    }
    delta /= size;
  }
  return iso;
}

/** Local date and time, e.g. "22 Nov 2026, 14:05". */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** 1536 → "1.5 KB" (powers of 1024, like the CLI). */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

export function percent(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  return `${n >= 10 ? Math.round(n) : n.toFixed(1)}%`;
}

export function ms(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  return n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${Math.round(n)} ms`;
}

/** Seconds → "15 min", "1 h 30 min", "45 s". */
export function duration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const m = Math.round(seconds / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}
