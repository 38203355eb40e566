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
  /**
   * Scaled to zero (backends empty): a request from a non-bot client calls
   * `RouterOptions.onWake` (once per sleeping spell) and is held, or shown the
   * "Starting NAME…" page, until `setRoute` brings backends (or `failWake` / the wait bound).
   */
  sleeping?: boolean;
  /** Session affinity: a cookie pins each browser to the backend it first reached, while that backend is in the route. */
  affinity?: boolean;
}

/** Upper bounds (ms) of the latency histogram buckets; one more bucket counts everything slower. */
export const LATENCY_BUCKETS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/**
 * Per-app traffic the router counts (cumulative, Prometheus-style, since the router
 * started; the app keeps its counters across route swaps). Read by the scaler
 * (activity, concurrency) and the metrics sampler (rates, latency).
 */
export interface AppTraffic {
  /** `Date.now()` of the last activity from a non-bot client: a request starting or ending, or a WebSocket frame either way. 0: none yet. */
  lastActive: number;
  /** Proxied HTTP requests now in flight (WebSockets not included). */
  httpInflight: number;
  /** Open proxied WebSockets. */
  webSockets: number;
  /** Proxied requests finished (any status, bots included) plus WebSockets closed. */
  requests: number;
  /** Of those, answered 5xx by the app or by the router (502/503/504, wake failures). */
  errors: number;
  /** Time to response end per request: counts per LATENCY_BUCKETS_MS bucket plus a last +Inf bucket (not cumulative). */
  latencyBuckets: number[];
  latencySumMs: number;
}
