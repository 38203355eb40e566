/**
 * In-memory limiter for failed logins, per client address: after `max`
 * failures within `windowMs`, further attempts are refused until the window
 * ends. One server process only; good enough to slow down password guessing.
 */
export interface FailureLimiterOptions {
  max: number;
  windowMs: number;
  /** Injectable clock for tests. */
  now?: () => number;
}

interface Entry {
  failures: number;
  windowStart: number;
}

export class FailureLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(opts: FailureLimiterOptions) {
    this.#max = opts.max;
    this.#windowMs = opts.windowMs;
    this.#now = opts.now ?? Date.now;
  }

  /** Milliseconds until `key` may try again, or 0 if it may try now. */
  retryAfter(key: string): number {
    const e = this.#live(key);
    if (!e || e.failures < this.#max) return 0;
    return e.windowStart + this.#windowMs - this.#now();
  }

  fail(key: string): void {
    const e = this.#live(key);
    if (e) e.failures++;
    else this.#entries.set(key, { failures: 1, windowStart: this.#now() });
    this.#sweep();
  }

  succeed(key: string): void {
    this.#entries.delete(key);
  }

  #live(key: string): Entry | undefined {
    const e = this.#entries.get(key);
    if (e && this.#now() - e.windowStart >= this.#windowMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** Bounds memory when many addresses fail: drop expired windows once the map grows. */
  #sweep(): void {
    if (this.#entries.size < 10_000) return;
    const now = this.#now();
    for (const [k, e] of this.#entries) if (now - e.windowStart >= this.#windowMs) this.#entries.delete(k);
  }
}
