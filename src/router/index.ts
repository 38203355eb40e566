/**
 * The router: Gantry's data plane. Serves `/apps/NAME/…` from an in-memory route table
 * that the control plane replaces atomically per app; never touches the database.
 *
 * Wiring (server.ts): call `handle` first for every request and `handleUpgrade` for
 * every upgrade; when they return false the request is not under `/apps` and belongs
 * to the API / web UI.
 *
 * Scale to zero: the control plane sets a sleeping app's route with `sleeping: true`
 * and no backends; `RouterOptions.onWake` tells it when someone arrives, and it answers
 * with `setRoute` (backends) or `failWake`. `traffic` / `allTraffic` feed the scaler
 * (lastActive, in-flight) and the metrics (requests, errors, latency).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { GantryRouter, type RouterOptions } from './router.js';
import type { AppRoute, AppTraffic, Backend } from './types.js';

export { LATENCY_BUCKETS_MS, type AppRoute, type AppTraffic, type Backend } from './types.js';
export type { RouterOptions } from './router.js';
export { isBot } from './bots.js';
export { APP_NAME_RE, checkPath, matchTarget, type Target } from './path.js';
export { buildUpstreamHeaders, type ForwardContext } from './headers.js';
export { escapeHtml, renderPage } from './pages.js';
export { contentTypeFor, etagMatches } from './static.js';

export interface Router {
  /**
   * Replaces the app's route atomically (`undefined` removes it). Requests already in
   * flight finish on the backends they started on; new ones use the new route.
   * Throws GANTRY_INVALID_APP_NAME for a name that could never be routed.
   */
  setRoute(app: string, route: AppRoute | undefined): void;
  getRoute(app: string): AppRoute | undefined;
  /**
   * The wake of a sleeping app failed: every request held for it is answered now with
   * 503 and `message` (the starting page shows it and stops waiting). Ends the sleeping
   * spell: the next request from a person calls `onWake` again.
   */
  failWake(app: string, message: string): void;
  /**
   * A copy of the app's traffic counters (cumulative since the router started; kept
   * across route swaps and removals), or undefined for an app that never had a route.
   * `httpInflight` includes requests held while the app wakes. Router answers for the
   * app count too; those that are not failures (the starting page, bots' 503 for a
   * sleeping app) do not count as errors. Static sites and gate refusals are not counted.
   */
  traffic(app: string): AppTraffic | undefined;
  /** A copy of every app's traffic counters, as `[app, traffic]`. */
  allTraffic(): IterableIterator<[string, AppTraffic]>;
  /**
   * Handles the request if its path is `/apps` or under `/apps/` (or its target is not
   * origin-form, which is refused with 400); returns false otherwise and leaves `res`
   * untouched, so the caller passes it on.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Same for upgrade requests (only WebSocket upgrades are proxied). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /**
   * Resolves when no in-flight HTTP request or open WebSocket uses any of these
   * backends, or after `timeoutMs` (then it closes the remaining WebSockets and aborts
   * remaining requests on backends no route lists). Call it after `setRoute` has
   * swapped the backends out. Connection pools of backends that no route lists are
   * closed as soon as they are idle.
   */
  drain(backends: Backend[], timeoutMs: number): Promise<void>;
  /** Outstanding HTTP requests plus open WebSockets on this backend (tests, metrics). */
  inFlight(backend: Backend): number;
  /** Closes all pools and tunnels; pending drains resolve. */
  close(): Promise<void>;
}

export function createRouter(opts: RouterOptions): Router {
  return new GantryRouter(opts);
}
