/**
 * The router: Gantry's data plane. Serves `/apps/NAME/…` from an in-memory route table
 * that the control plane replaces atomically per app; never touches the database.
 *
 * Wiring (server.ts): call `handle` first for every request and `handleUpgrade` for
 * every upgrade; when they return false the request is not under `/apps` and belongs
 * to the API / web UI.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { GantryRouter, type RouterOptions } from './router.js';
import type { AppRoute, Backend } from './types.js';

export type { AppRoute, Backend } from './types.js';
export type { RouterOptions } from './router.js';
export { APP_NAME_RE, checkPath, matchTarget, type Target } from './path.js';
export { buildUpstreamHeaders, type ForwardContext } from './headers.js';
export { escapeHtml, renderPage } from './pages.js';

export interface Router {
  /**
   * Replaces the app's route atomically (`undefined` removes it). Requests already in
   * flight finish on the backends they started on; new ones use the new route.
   * Throws GANTRY_INVALID_APP_NAME for a name that could never be routed.
   */
  setRoute(app: string, route: AppRoute | undefined): void;
  getRoute(app: string): AppRoute | undefined;
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
