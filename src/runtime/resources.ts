/**
 * What a process uses and what it ran out of: usage samples for
 * `ProcessStatus.usage` and the out-of-memory sentence users see.
 */
import { formatBytes } from '../apps/limits.js';
import type { ProcessCgroup } from './cgroup.js';
import { treeUsage } from './proctree.js';
import type { ResourceLimits, ResourceUsage } from './types.js';

/** Cumulative counters of a process run (its cgroup, or its process tree without one). */
export interface Counters {
  memoryBytes: number;
  cpuUsec: number;
}

/** Reads the counters: from the cgroup when there is one, from /proc for whatever it cannot tell. */
export function readCounters(pid: number, cgroup: ProcessCgroup | undefined): Counters {
  const s = cgroup?.sample();
  if (s?.memoryBytes !== undefined && s.cpuUsec !== undefined)
    return { memoryBytes: s.memoryBytes, cpuUsec: s.cpuUsec };
  const tree = treeUsage(pid);
  return { memoryBytes: s?.memoryBytes ?? tree.memoryBytes, cpuUsec: s?.cpuUsec ?? tree.cpuUsec };
}

/**
 * Turns cumulative CPU time into a percentage over the time since the last
 * sample. Both counters start near zero when the process starts, so the first
 * sample covers the time since the start.
 */
export class UsageMeter {
  #cpuUsec = 0;
  #at: number;

  constructor(startedAt: number) {
    this.#at = startedAt;
  }

  next(c: Counters, now = Date.now()): ResourceUsage {
    const ms = now - this.#at;
    // µs of CPU per ms of wall time / 10 = percent of one core.
    const cpuPercent = ms > 0 ? Math.max(0, (c.cpuUsec - this.#cpuUsec) / (ms * 10)) : 0;
    this.#cpuUsec = c.cpuUsec;
    this.#at = now;
    return { cpuPercent: Math.round(cpuPercent * 10) / 10, memoryBytes: c.memoryBytes, at: new Date(now) };
  }
}

/** The system log line for limits asked for that this host cannot enforce, if any. */
export function unenforcedNote(
  asked: ResourceLimits | undefined,
  cgroup: ProcessCgroup | undefined,
  reason: string | undefined,
): string | undefined {
  const lost = Object.entries(asked ?? {})
    .filter(([k, v]) => v !== undefined && cgroup?.limits[k as keyof ResourceLimits] === undefined)
    .map(([k]) => k);
  if (lost.length === 0) return undefined;
  return `Resource limits not enforced on this server (${lost.join(', ')}): ${reason ?? 'no cgroup for this process'}`;
}

/**
 * "out of memory: web.1 exceeded its 512 MB limit" — `short` is the process
 * name without the app (`web.1`, `release`).
 */
export function oomMessage(short: string, limits: ResourceLimits | undefined): string {
  return limits?.memoryBytes !== undefined
    ? `out of memory: ${short} exceeded its ${formatBytes(limits.memoryBytes)} limit`
    : `out of memory: ${short} was killed by the kernel`;
}
