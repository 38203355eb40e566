import type { ResourceLimits } from '../runtime/types.js';

/**
 * Upper bound on processes of one type, whether set by app.json's formation or
 * by the scale API: a typo like web=1000 (or a hostile app.json) must not
 * start thousands of sandboxes on one server.
 */
export const MAX_PROCESSES_PER_TYPE = 100;

/** Server-wide default and maximum limits (admin settings). */
export interface LimitPolicy {
  defaults: ResourceLimits;
  maxima: ResourceLimits;
}

/**
 * A process type's limits: what the app set for it, else the server default, never
 * above the server maximum.
 */
export function effectiveLimits(set: ResourceLimits | undefined, policy: LimitPolicy): ResourceLimits {
  const out: ResourceLimits = {};
  for (const k of ['memoryBytes', 'cpu', 'pids'] as const) {
    const v = set?.[k] ?? policy.defaults[k];
    const max = policy.maxima[k];
    const eff = v === undefined ? max : max === undefined ? v : Math.min(v, max);
    if (eff !== undefined) out[k] = eff;
  }
  return out;
}

/** "512 MB", "1.5 GB": how limits are shown to users. */
export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${+(n / 1024 ** 3).toFixed(2)} GB`;
  if (n >= 1024 ** 2) return `${+(n / 1024 ** 2).toFixed(1)} MB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KB`;
  return `${n} B`;
}
