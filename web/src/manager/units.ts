/**
 * Sizes, durations and CPU amounts as people type them in the manager's
 * forms, with the CLI's rules (src/cli/units.ts): `512M`, `1.5G`, `15m`,
 * `1h30m`, `0.5`. A bare `512` is refused (bytes or megabytes?).
 */

const BYTE_UNITS: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `512M`, `1.5G`, `2GiB`, `256mb` → bytes (binary units). A unit is required. */
export function parseBytes(label: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt])(?:i?b)?$/i.exec(text.trim());
  if (!m) throw new Error(`${label} expects a size like 512M or 2G; got "${text}"`);
  return Math.round(Number(m[1]) * BYTE_UNITS[m[2]!.toLowerCase()]!);
}

/** Bytes → the shortest exact input form: 536870912 → `512M`, 1073741824 → `1G`. */
export function formatBytesInput(n: number): string {
  for (const [unit, size] of [
    ['T', 1024 ** 4],
    ['G', 1024 ** 3],
    ['M', 1024 ** 2],
    ['K', 1024],
  ] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  // Not a whole number of KiB: one decimal of MiB is close enough to edit.
  return `${Math.round((n / 1024 ** 2) * 10) / 10}M`;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30s`, `15m`, `1h30m`, `2d` → milliseconds. */
export function parseDuration(label: string, text: string): number {
  const s = text.trim().toLowerCase();
  if (!/^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/.test(s)) {
    throw new Error(`${label} expects a duration like 30s, 15m or 1h30m; got "${text}"`);
  }
  let ms = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) ms += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  return Math.round(ms);
}

/** Milliseconds → `15m`, `1h30m`, `45s`, `2d3h` (the two largest units; `1h`, not `1h0m`). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const secs = Math.floor(ms / 1000);
  const parts: [number, string][] = [
    [Math.floor(secs / 86_400), 'd'],
    [Math.floor(secs / 3600) % 24, 'h'],
    [Math.floor(secs / 60) % 60, 'm'],
    [secs % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  return parts
    .slice(first, first + 2)
    .filter(([n], i) => i === 0 || n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join('');
}

/** CPU cores: `1`, `0.5`, `2`. */
export function parseCpu(label: string, text: string): number {
  const n = Number(text);
  if (!/^\d+(?:\.\d+)?$/.test(text.trim()) || !(n > 0)) {
    throw new Error(`${label} expects a number of CPU cores like 0.5, 1 or 2; got "${text}"`);
  }
  return n;
}

/** A whole number from `min` to `max`. */
export function parseWhole(label: string, text: string, min: number, max: number): number {
  if (!/^\d{1,9}$/.test(text.trim()) || Number(text) < min || Number(text) > max) {
    throw new Error(`${label} expects a whole number from ${min} to ${max}; got "${text}"`);
  }
  return Number(text);
}
