/**
 * The router's in-memory state: one {@link BackendState} per Backend object (shared by
 * every route that lists it, so counters survive a route swap) and one
 * {@link RouteState} per app, resolved once at `setRoute` so a request touches no maps
 * beyond the app lookup. An app's traffic counters outlive its routes.
 */
import type { Duplex } from 'node:stream';
import type { Cursor } from './balancer.js';
import type { TrafficCounter } from './traffic.js';
import type { AppRoute, Backend } from './types.js';
import { UpstreamPool } from './upstream.js';

export interface BackendState {
  readonly backend: Backend;
  /** Outstanding HTTP requests plus open WebSockets. */
  inflight: number;
  /** How many live routes list this backend. At 0 and idle, the state is disposed. */
  refs: number;
  /** Keep-alive connections, created on first use. */
  pool: UpstreamPool | undefined;
  /** Client sockets of open WebSockets, so drain can close them at its deadline. */
  sockets: Set<Duplex> | undefined;
  /** The affinity cookie's value for this backend. */
  readonly affinity: string;
}

export interface RouteState {
  readonly route: AppRoute;
  /** `/apps/NAME`, for X-Forwarded-Prefix and static paths. */
  readonly prefix: string;
  readonly backends: BackendState[];
  readonly cursor: Cursor;
  /** Resolved real path of `route.staticRoot`, computed on first static request. */
  rootReal: Promise<string> | undefined;
  /** The app's counters: one object per app, shared by its successive routes. */
  readonly traffic: TrafficCounter;
  /** A sleeping route's spell has called `onWake` (each sleeping route is a new spell). */
  wakeCalled: boolean;
}

export interface PoolSettings {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
}

/** The backend's pool, created on first use. */
export function poolFor(b: BackendState, s: PoolSettings): UpstreamPool {
  let pool = b.pool;
  if (pool === undefined) {
    pool = new UpstreamPool(b.backend.host, b.backend.port, {
      connectTimeoutMs: s.connectTimeoutMs,
      headersTimeoutMs: s.headersTimeoutMs,
      // Bounded so a slow app sees queued requests rather than an unbounded connection storm.
      maxConnections: 256,
    });
    b.pool = pool;
  }
  return pool;
}
