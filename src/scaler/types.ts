/**
 * Scaling settings of an app's web processes: scale to zero when idle, and
 * concurrency-based autoscaling between a minimum and a maximum.
 */

export interface ScalingSettings {
  /** Fewest web processes. 0: the app sleeps after `idleTimeoutMs` without activity and wakes on the next request. */
  min: number;
  /**
   * Most web processes. `null`: not autoscaled, the app runs its formation's web count
   * (`ps:scale web=N`) while awake. A number: the scaler picks between max(1, min) and max.
   */
  max: number | null;
  /** Target in-flight requests (plus open WebSockets) per web process. */
  concurrency: number;
  /** Sleep after this long without activity (only when `min` is 0). */
  idleTimeoutMs: number;
  /** Pin each browser to one web process with a cookie (Shiny, Streamlit, Bokeh server keep session state in-process). */
  affinity: boolean;
}

/** What the scaler knows of one app: its settings plus the formation's web count (used when not autoscaled). */
export interface AppScaling extends ScalingSettings {
  /** Web processes while awake when `max` is null (formation; 1 by default). */
  base: number;
}

/** Server-wide defaults and bounds (admin settings, from config). */
export interface ScalingDefaults {
  min: number;
  concurrency: number;
  idleTimeoutMs: number;
  /** Largest `max` (and `min`) any app may set. */
  maxReplicas: number;
}

/** Overrides as stored on the app row: only what the user set. */
export type ScalingOverrides = Partial<ScalingSettings>;

/** The effective settings: overrides on top of the server defaults. */
export function resolveScaling(overrides: ScalingOverrides, d: ScalingDefaults): ScalingSettings {
  return {
    min: overrides.min ?? d.min,
    max: overrides.max ?? null,
    concurrency: overrides.concurrency ?? d.concurrency,
    idleTimeoutMs: overrides.idleTimeoutMs ?? d.idleTimeoutMs,
    affinity: overrides.affinity ?? false,
  };
}

/** Web processes to run while awake. */
export function awakeReplicas(s: AppScaling): number {
  return s.max === null ? Math.max(1, s.base, s.min) : Math.max(1, s.min);
}
