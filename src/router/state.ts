/**
 * The router's in-memory state: one {@link BackendState} per Backend object (shared by
 * every route that lists it, so counters survive a route swap) and one
 * {@link RouteState} per app, resolved once at `setRoute` so a request touches no maps
 * beyond the app lookup.
 */
import type { Duplex } from 'node:stream';
import { Pool } from 'undici';
import type { Cursor } from './balancer.js';
import type { AppRoute, Backend } from './types.js';

export interface BackendState {
  readonly backend: Backend;
  /** Outstanding HTTP requests plus open WebSockets. */
  inflight: number;
  /** How many live routes list this backend. At 0 and idle, the state is disposed. */
  refs: number;
  /** Keep-alive connections, created on first use. */
  pool: Pool | undefined;
  /** Client sockets of open WebSockets, so drain can close them at its deadline. */
  sockets: Set<Duplex> | undefined;
}

export interface RouteState {
  readonly route: AppRoute;
  /** `/apps/NAME`, for X-Forwarded-Prefix and static paths. */
  readonly prefix: string;
  readonly backends: BackendState[];
  readonly cursor: Cursor;
  /** Resolved real path of `route.staticRoot`, computed on first static request. */
  rootReal: Promise<string> | undefined;
}

export interface PoolSettings {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
}

function origin(b: Backend): string {
  const host = b.host.includes(':') && !b.host.startsWith('[') ? `[${b.host}]` : b.host;
  return `http://${host}:${b.port}`;
}

/** The backend's pool, created on first use. */
export function poolFor(b: BackendState, s: PoolSettings): Pool {
  let pool = b.pool;
  if (pool === undefined) {
    pool = new Pool(origin(b.backend), {
      // Bounded so a slow app sees queued requests rather than an unbounded connection storm.
      connections: 256,
      pipelining: 1,
      connect: { timeout: s.connectTimeoutMs },
      headersTimeout: s.headersTimeoutMs,
      // Streams (SSE, long polls) may stay silent for minutes; the client decides when to give up.
      bodyTimeout: 0,
    });
    b.pool = pool;
  }
  return pool;
}
