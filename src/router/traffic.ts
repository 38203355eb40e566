/**
 * Per-app traffic counters, updated on the hot path: a few field writes per request,
 * no allocation, and the bot check only when `lastActive` is due a refresh (at most
 * about once per {@link ACTIVE_RESOLUTION_MS} per app under load).
 */
import type { IncomingMessage } from 'node:http';
import { isBot, userAgentOf } from './bots.js';
import { LATENCY_BUCKETS_MS, type AppTraffic } from './types.js';

/**
 * `lastActive` is kept to this resolution, so a busy app's requests skip the User-Agent
 * check. Idle timeouts are minutes; a second is plenty.
 */
export const ACTIVE_RESOLUTION_MS = 1_000;

/** An app's live counters (the router's own; readers get {@link snapshotTraffic}). */
export class TrafficCounter implements AppTraffic {
  lastActive = 0;
  httpInflight = 0;
  webSockets = 0;
  requests = 0;
  errors = 0;
  latencyBuckets: number[] = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latencySumMs = 0;
}

/** A copy, so a reader can keep it to compute rates against the next one. */
export function snapshotTraffic(t: TrafficCounter): AppTraffic {
  return {
    lastActive: t.lastActive,
    httpInflight: t.httpInflight,
    webSockets: t.webSockets,
    requests: t.requests,
    errors: t.errors,
    latencyBuckets: t.latencyBuckets.slice(),
    latencySumMs: t.latencySumMs,
  };
}

/** Marks activity at `now` unless the request comes from a bot. */
function activeAt(t: TrafficCounter, req: IncomingMessage, now: number): void {
  if (!isBot(userAgentOf(req.rawHeaders))) t.lastActive = now;
}

/** Marks activity now unless the request comes from a bot. */
export function touch(t: TrafficCounter, req: IncomingMessage): void {
  const now = Date.now();
  if (now - t.lastActive >= ACTIVE_RESOLUTION_MS) activeAt(t, req, now);
}

/**
 * A request for the app arrived (proxied, held, or answered by the router for it).
 * Returns its start time for {@link finishRequest}: `Date.now()`, one clock read for
 * both the activity and the latency (millisecond steps, unbiased over many requests).
 */
export function startRequest(t: TrafficCounter, req: IncomingMessage): number {
  t.httpInflight++;
  const now = Date.now();
  if (now - t.lastActive >= ACTIVE_RESOLUTION_MS) activeAt(t, req, now);
  return now;
}

/**
 * The request is over. `failed`: answered 5xx (by the app, or by the router for the app);
 * `start` is what {@link startRequest} returned.
 */
export function finishRequest(t: TrafficCounter, req: IncomingMessage, failed: boolean, start: number): void {
  const now = Date.now();
  t.httpInflight--;
  t.requests++;
  if (failed) t.errors++;
  observeLatency(t, now - start);
  if (now - t.lastActive >= ACTIVE_RESOLUTION_MS) activeAt(t, req, now);
}

/** Counts one request's latency in the first bucket whose bound it does not exceed. */
export function observeLatency(t: TrafficCounter, ms: number): void {
  t.latencySumMs += ms;
  let i = 0;
  while (i < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[i]!) i++;
  t.latencyBuckets[i]!++;
}

/** A WebSocket was proxied (the upgrade is on its way to the app). */
export function openWebSocket(t: TrafficCounter, bot: boolean): void {
  t.webSockets++;
  if (!bot) t.lastActive = Date.now();
}

/** The WebSocket is over; `failed` when the app could not be reached. Not in the latency histogram. */
export function closeWebSocket(t: TrafficCounter, failed: boolean): void {
  t.webSockets--;
  t.requests++;
  if (failed) t.errors++;
}
