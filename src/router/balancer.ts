/**
 * Least-outstanding-requests balancing with round-robin among ties. The counters live
 * on per-backend state objects the router keeps (see `state.ts`), so picking is a scan
 * of a short array: no allocation, no map lookups.
 */

/** Anything with an outstanding-request count. */
export interface Counted {
  inflight: number;
}

/** Round-robin cursor per route, so ties rotate instead of always hitting the first backend. */
export interface Cursor {
  next: number;
}

/**
 * Picks the entry with the fewest outstanding requests. Among equals, the first one at
 * or after `cursor.next` wins, and the cursor moves past it. Returns `undefined` for an
 * empty list.
 */
export function pickLeastOutstanding<T extends Counted>(items: readonly T[], cursor: Cursor): T | undefined {
  const n = items.length;
  if (n <= 1) return items[0];
  let start = cursor.next;
  if (start >= n) start = 0;
  let best = start;
  let bestCount = items[start]!.inflight;
  for (let k = 1; k < n && bestCount > 0; k++) {
    let i = start + k;
    if (i >= n) i -= n;
    const c = items[i]!.inflight;
    if (c < bestCount) {
      best = i;
      bestCount = c;
    }
  }
  cursor.next = best + 1;
  return items[best];
}
