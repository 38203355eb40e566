/**
 * The scaler's decisions as pure functions of time and samples, so they can be
 * tested with synthetic series and no timers.
 */
import type { AppScaling, ScalingSettings } from './types.js';

/** Concurrency seen at one tick: HTTP requests in flight plus open WebSockets, summed over all web processes. */
export interface Sample {
  at: number;
  value: number;
}

/**
 * Human duration for events: "840 ms", "2.5 s", "42 s", "15 min", "1 min 30 s", "2 h 5 min".
 * Rounds down, so an app idle for 15 min 40 s reads "15 min" rather than claiming 16.
 */
export function formatDuration(ms: number): string {
  const v = Math.max(0, ms);
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 10_000) return `${trimZero(Math.floor(v / 100) / 10)} s`;
  const s = Math.floor(v / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 || m >= 10 ? `${m} min` : `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
}

function trimZero(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** Inclusive replica bounds of an autoscaled app while awake: [max(1, min), max]. */
export function scaleBounds(s: ScalingSettings): { lo: number; hi: number } {
  const lo = Math.max(1, s.min);
  return { lo, hi: Math.max(lo, s.max ?? lo) };
}

/**
 * How long the app has been idle when it should go to sleep now, else undefined.
 * Only apps with `min` 0 sleep; a request in flight keeps the app awake however old,
 * an open WebSocket only through its frames (which move `lastActive`).
 */
export function idleSleep(input: {
  settings: ScalingSettings;
  now: number;
  /** Router's last activity (0: none yet). */
  lastActive: number;
  /** Last wake, touch or configure: the control plane's own activity. */
  lastReset: number;
  httpInflight: number;
}): number | undefined {
  if (input.settings.min !== 0 || input.httpInflight > 0) return undefined;
  const idle = input.now - Math.max(input.lastActive, input.lastReset);
  return idle >= input.settings.idleTimeoutMs ? idle : undefined;
}

/** Mean of the samples taken after `since` (undefined when there are none). */
export function windowAverage(samples: readonly Sample[], since: number): number | undefined {
  let sum = 0;
  let n = 0;
  for (const s of samples) {
    if (s.at > since) {
      sum += s.value;
      n += 1;
    }
  }
  return n === 0 ? undefined : sum / n;
}

/** Replicas for an average concurrency: ceil(avg / target), clamped to the app's bounds. */
export function desiredReplicas(avg: number, s: ScalingSettings): number {
  const { lo, hi } = scaleBounds(s);
  // Float noise must not turn exactly 2 × target into 3 replicas.
  const raw = Math.ceil(avg / Math.max(s.concurrency, Number.EPSILON) - 1e-9);
  return Math.min(hi, Math.max(lo, raw));
}

export type ScaleDecision =
  { kind: 'hold'; desired: number } | { kind: 'up' | 'down'; desired: number; reason: string };

export interface AutoscaleInput {
  settings: AppScaling;
  now: number;
  /** Web processes running now (> 0: only awake apps are autoscaled). */
  current: number;
  samples: readonly Sample[];
  windowMs: number;
  panicWindowMs: number;
  /** When the scaler last added replicas (-Infinity: never). */
  lastScaleUpAt: number;
  /** First sample of this awake spell: scale-down needs a full stable window of observation. */
  observedSince: number;
}

/**
 * Knative-style decision for an autoscaled app (`max` not null). Out of bounds (settings
 * changed) → straight back in. Panic-window desired above current → up at once. Stable-window
 * desired below current → down, but only once a whole window was observed and no scale-up
 * happened within it, so a burst is not followed by flapping.
 */
export function autoscale(input: AutoscaleInput): ScaleDecision {
  const { settings: s, now, current } = input;
  const { lo, hi } = scaleBounds(s);
  if (current < lo) return { kind: 'up', desired: lo, reason: `minimum is ${lo}` };
  if (current > hi) return { kind: 'down', desired: hi, reason: `maximum is ${hi}` };
  const target = `target ${trimZero(s.concurrency)} per process`;
  const panicAvg = windowAverage(input.samples, now - input.panicWindowMs);
  if (panicAvg !== undefined) {
    const want = desiredReplicas(panicAvg, s);
    if (want > current) {
      const reason = `${panicAvg.toFixed(1)} requests in flight on average over the last ${formatDuration(input.panicWindowMs)}, ${target}`;
      return { kind: 'up', desired: want, reason };
    }
  }
  const stableAvg = windowAverage(input.samples, now - input.windowMs);
  if (stableAvg === undefined) return { kind: 'hold', desired: current };
  const want = desiredReplicas(stableAvg, s);
  const observed = now - input.observedSince >= input.windowMs;
  const calm = now - input.lastScaleUpAt >= input.windowMs;
  if (want < current && observed && calm) {
    const reason = `${stableAvg.toFixed(1)} requests in flight on average over the last ${formatDuration(input.windowMs)}, ${target}`;
    return { kind: 'down', desired: want, reason };
  }
  // Wanting fewer but not yet allowed: show what it is waiting to go to.
  return { kind: 'hold', desired: Math.min(want, current) };
}
