/**
 * The admin resource overview's arithmetic: one app's usage from its
 * processes and its 1 h metrics, and the totals over all apps. Pure, so the
 * platform only gathers the inputs.
 */
import type { AppUsage, MetricSeries, ResourceOverview } from '../api/platform.js';
import type { ProcessStatus } from '../runtime/types.js';

/** The window rps and p95 are averaged over. */
export const RECENT_MS = 5 * 60_000;

const live = (p: ProcessStatus): boolean => p.state === 'running' || p.state === 'starting';

/** One app's line; `now` is when the numbers are read (ms since the epoch). */
export function appUsage(input: {
  name: string;
  owner: string | null;
  status: string;
  processes: ProcessStatus[];
  series: MetricSeries;
  now: number;
}): AppUsage {
  const running = input.processes.filter(live);
  let cpuPercent = 0;
  let memoryBytes = 0;
  for (const p of running) {
    cpuPercent += p.usage?.cpuPercent ?? 0;
    memoryBytes += p.usage?.memoryBytes ?? 0;
  }
  const step = input.series.stepSeconds * 1000;
  const hourAgo = input.now - 60 * 60_000;
  // A point covers [t, t + step): it is recent when its interval reaches into the window.
  const recent = input.series.points.filter((p) => p.t + step > input.now - RECENT_MS);
  const rps = recent.length ? recent.reduce((s, p) => s + p.rps, 0) / recent.length : 0;
  const p95s = recent.map((p) => p.p95Ms).filter((v): v is number => v !== null);
  const errors = input.series.points.filter((p) => p.t + step > hourAgo).reduce((s, p) => s + p.errors, 0);
  return {
    name: input.name,
    owner: input.owner,
    status: input.status,
    processes: running.length,
    webReplicas: running.filter((p) => p.type === 'web').length,
    cpuPercent,
    memoryBytes,
    rps,
    p95Ms: p95s.length ? p95s.reduce((s, v) => s + v, 0) / p95s.length : null,
    errors,
  };
}

/** Busiest first: by requests/s, then CPU, then memory (name breaks ties, for a stable page). */
export function byBusiest(a: AppUsage, b: AppUsage): number {
  return (
    b.rps - a.rps ||
    b.cpuPercent - a.cpuPercent ||
    b.memoryBytes - a.memoryBytes ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}

export function summarize(apps: AppUsage[], at: Date): ResourceOverview {
  const sorted = [...apps].sort(byBusiest);
  const count = (...statuses: string[]) => apps.filter((a) => statuses.includes(a.status)).length;
  return {
    totals: {
      apps: apps.length,
      running: count('running'),
      sleeping: count('sleeping'),
      // `deploying` is a first deploy: nothing runs yet.
      stopped: count('new', 'stopped', 'crashed', 'deploying'),
      processes: apps.reduce((s, a) => s + a.processes, 0),
      cpuPercent: apps.reduce((s, a) => s + a.cpuPercent, 0),
      memoryBytes: apps.reduce((s, a) => s + a.memoryBytes, 0),
    },
    apps: sorted,
    at: at.toISOString(),
  };
}
