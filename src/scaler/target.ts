/**
 * What the scaler drives: the web processes of each app's serving deployment.
 * Implemented by the deploy module's Rollout.
 */

/**
 * The scaler's view of an app's web processes.
 *
 * Calls are made from the scaler's timer (every tick, for every configured app) and from
 * `Scaler.wake` / `sleep` / `configure`. For one app the scaler never has two `setWebCount`
 * calls outstanding at once; for different apps it may. Other process types (worker, …)
 * are never touched, and nothing here changes the stored formation.
 */
export interface ScalerTarget {
  /**
   * Web processes the serving deployment runs now: the count it is set to keep running
   * (a process restarting after a crash still counts), 0 while asleep, and after
   * `setWebCount(app, n)` has resolved, `n`.
   *
   * `undefined`: the app has no process deployment (never deployed, static site, deleted,
   * being torn down) — the scaler leaves it alone. Called every tick: must be synchronous
   * and cheap (in memory).
   */
  webCount(app: string): number | undefined;
  /**
   * Changes the number of web processes of the serving release. `reason` is a short
   * human phrase for the app's log ("no requests for 15 min", "a request arrived",
   * "24.5 requests in flight on average over the last 6 s, target 10 per process").
   *
   * - `n` = 0 (sleep): set the route to `sleeping` first, so new requests are held and
   *   wake the app through the router's `onWake`; then drain requests in flight; then
   *   stop the web processes. Resolves once they are stopped.
   * - from 0 to `n` > 0 (wake): start `n` web processes and resolve as soon as the FIRST
   *   is ready (port accepting, health check passed) and in the route (route no longer
   *   `sleeping`, so held requests flow); the others join the route as they become
   *   ready. Must be as fast as the app's own boot allows — no slow polling.
   * - from `k` > 0 to `n` > 0: start the extra replicas and add each to the route once
   *   ready, or take the surplus out of the route, drain and stop them (highest numbers
   *   first). Resolves when done.
   *
   * Rejects (GantryError) when it cannot do it. A failed wake must leave the app asleep
   * (route `sleeping`, no web processes) so that a later request wakes it again; the
   * scaler then rejects every `wake` waiter and the router answers held requests.
   */
  setWebCount(app: string, n: number, reason: string): Promise<void>;
}

/** What `Scaler.state` reports for one app. */
export interface ScalerState {
  /** `stopped`: not managed (no process deployment); `waking`: a wake is under way. */
  state: 'awake' | 'asleep' | 'waking' | 'stopped';
  /** Web processes now (`ScalerTarget.webCount`, 0 when stopped). */
  replicas: number;
  /** Web processes the scaler wants now. */
  desired: number;
}

/** Event kinds the scaler records (the app's event log). */
export type ScalerEventKind = 'wake' | 'sleep' | 'scale';
