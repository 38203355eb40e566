/**
 * The scaler: scale to zero (idle sleep, one wake however many requests) and
 * concurrency-based autoscaling of apps' web processes.
 *
 * Wiring (server.ts): the router's `onWake` calls `Scaler.wake` (and answers held requests
 * when it rejects); the scaler reads the router's per-app traffic and drives the deploy
 * module's Rollout through `ScalerTarget`. Configure every deployed app, then `start()`.
 */
export { Scaler, type ScalerOptions } from './scaler.js';
export type { ScalerEventKind, ScalerState, ScalerTarget } from './target.js';
export {
  autoscale,
  desiredReplicas,
  formatDuration,
  idleSleep,
  scaleBounds,
  windowAverage,
  type AutoscaleInput,
  type Sample,
  type ScaleDecision,
} from './decide.js';
export {
  awakeReplicas,
  resolveScaling,
  type AppScaling,
  type ScalingDefaults,
  type ScalingOverrides,
  type ScalingSettings,
} from './types.js';
