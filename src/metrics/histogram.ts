/**
 * Latency percentiles from bucketed counts, the way Prometheus'
 * `histogram_quantile` estimates them: find the bucket holding the rank and
 * interpolate linearly inside it (the first bucket starts at 0).
 */

/**
 * The `q` quantile (0..1) of `counts` (per-bucket counts, not cumulative; one
 * more entry than `bounds`, the last for everything above the last bound).
 * Null without observations. A rank in the open last bucket gives the last
 * bound: the histogram only knows it was slower than that.
 */
export function quantile(counts: ArrayLike<number>, bounds: readonly number[], q: number): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (!(total > 0)) return null;
  const rank = Math.min(Math.max(q, 0), 1) * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0 && below + c >= rank) {
      if (i >= bounds.length) return bounds[bounds.length - 1] ?? null;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const upper = bounds[i]!;
      return lower + (upper - lower) * ((rank - below) / c);
    }
    below += c;
  }
  return bounds[bounds.length - 1] ?? null;
}

/**
 * `cur - prev` per bucket into `out`. A counter that went down means its source
 * restarted (the router's counters start at zero again): then `cur` is the delta.
 */
export function bucketDeltas(cur: ArrayLike<number>, prev: ArrayLike<number>, out: Float64Array): void {
  let reset = false;
  for (let i = 0; i < out.length; i++) if ((cur[i] ?? 0) < (prev[i] ?? 0)) reset = true;
  for (let i = 0; i < out.length; i++) out[i] = (cur[i] ?? 0) - (reset ? 0 : (prev[i] ?? 0));
}

/** Cumulative counter delta with the same reset rule. */
export function counterDelta(cur: number, prev: number): number {
  return cur >= prev ? cur - prev : cur;
}
