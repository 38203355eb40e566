/**
 * What the router needs from the control plane: a route table it reads per
 * request (in memory, never the database). The control plane replaces an
 * app's route atomically when a release goes live.
 */

/** One web process that can take traffic. The router keeps per-backend counters on it. */
export interface Backend {
  /** Process name, e.g. `sales.web.1`. */
  id: string;
  host: string;
  port: number;
}

export interface AppRoute {
  app: string;
  release: number;
  /** Web processes of the serving release. Empty → 503 "app is not running". */
  backends: Backend[];
  /** Static site: files under this absolute host directory are served directly. */
  staticRoot?: string;
}
