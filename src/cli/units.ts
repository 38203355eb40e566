/**
 * Durations, sizes and CPU amounts as people type and read them: `15m`,
 * `1h30m`, `512M`, `0.5`. Parsing refuses anything ambiguous with a usage
 * error (a bare `512` could be bytes or megabytes).
 */
import { formatBytes } from '../apps/index.js';
import { UsageError } from './io.js';

export { formatBytes };

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30s`, `15m`, `1h30m`, `2d` → milliseconds. */
export function parseDuration(option: string, arg: string): number {
  const s = arg.trim().toLowerCase();
  if (!/^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/.test(s)) {
    throw new UsageError(`${option} expects a duration like 30s, 15m or 1h30m; got "${arg}"`);
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

const BYTE_UNITS: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `512M`, `1.5G`, `2GiB`, `256mb` → bytes (binary units). A unit is required. */
export function parseBytes(option: string, arg: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt])(?:i?b)?$/i.exec(arg.trim());
  if (!m) throw new UsageError(`${option} expects a size like 512M or 2G; got "${arg}"`);
  return Math.round(Number(m[1]) * BYTE_UNITS[m[2]!.toLowerCase()]!);
}

/** CPU cores: `1`, `0.5`, `2`. */
export function parseCpu(option: string, arg: string): number {
  const n = Number(arg);
  if (!/^\d+(?:\.\d+)?$/.test(arg.trim()) || !(n > 0)) {
    throw new UsageError(`${option} expects a number of CPU cores like 0.5, 1 or 2; got "${arg}"`);
  }
  return n;
}

/** A whole number from `min` to `max`. */
export function parseWhole(option: string, arg: string, min: number, max: number): number {
  if (!/^\d{1,9}$/.test(arg.trim()) || Number(arg) < min || Number(arg) > max) {
    throw new UsageError(`${option} expects a whole number from ${min} to ${max}; got "${arg}"`);
  }
  return Number(arg);
}

export const formatCpu = (cores: number): string => `${cores} core${cores === 1 ? '' : 's'}`;

/** `84 MB / 512 MB` with a limit, `84 MB` without; `—` when nothing is known. */
export function formatMemory(used: number | undefined, limit: number | undefined): string {
  const u = used === undefined ? '—' : formatBytes(used);
  return limit === undefined ? (used === undefined ? '' : u) : `${u} / ${formatBytes(limit)}`;
}

/** ISO time → `2026-01-02 03:04:05Z` (UTC, to the second). */
export function shortTime(iso: string): string {
  const d = new Date(iso);
  return Number.isFinite(d.getTime()) ? `${d.toISOString().slice(0, 19).replace('T', ' ')}Z` : iso;
}

/** When an ISO time comes: `in 12m`, `in 3h`, `due` once passed. */
export function inTime(iso: string | null, now = Date.now()): string {
  if (!iso) return '—';
  const ms = Date.parse(iso) - now;
  if (!Number.isFinite(ms)) return iso;
  return ms <= 0 ? 'due' : `in ${formatDuration(Math.max(ms, 1000))}`;
}
