/**
 * One limiter for every password check (API login and git basic auth), so
 * guessing is slowed the same way whichever door is used.
 *
 * Each attempt is counted against the username and the client address
 * BEFORE the slow password verify: it reserves a slot, which becomes a
 * failure if the verify fails and is released if it succeeds. Counting only
 * after the verify would let N parallel requests all pass the check while
 * the first verify is still running. After `max…Failures` failures (plus
 * attempts in flight) within `windowMs`, further attempts are refused until
 * the window ends. A success clears the username's failures, not the
 * address's: someone holding one account must not reset the count for
 * guesses at others from the same address.
 *
 * In memory, one server process; bounded by sweeping expired windows.
 */
export interface LoginLimiterOptions {
  /** Failed attempts per client address within the window (default 10). */
  maxFailuresPerAddress?: number;
  /** Failed attempts per username within the window, from any address (default 20). */
  maxFailuresPerUsername?: number;
  /** Default 15 minutes. */
  windowMs?: number;
  /** Injectable clock for tests. */
  now?: () => number;
}

/** Who is trying: the username given and the client's address. */
export interface LoginAttemptKey {
  username: string;
  address: string;
}

export type GuardResult<T> =
  { refused: true; retryAfterMs: number } | { refused: false; result: T | undefined };

interface Entry {
  failures: number;
  inFlight: number;
  windowStart: number;
}

/** Attempts refused only because others are in flight are told to retry soon, not after the window. */
const IN_FLIGHT_RETRY_MS = 1000;
const SWEEP_AT = 10_000;
/** Usernames come from the client: cap what is kept per key. */
const MAX_KEY = 256;

export class LoginLimiter {
  readonly #maxAddress: number;
  readonly #maxUsername: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(opts: LoginLimiterOptions = {}) {
    this.#maxAddress = opts.maxFailuresPerAddress ?? 10;
    this.#maxUsername = opts.maxFailuresPerUsername ?? 20;
    this.#windowMs = opts.windowMs ?? 15 * 60_000;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Runs `verify` (the password check) unless `who` is over a limit. A
   * result of `undefined` counts as a failure; a thrown error (e.g. the
   * database is down) counts as neither and is rethrown.
   */
  async guard<T>(who: LoginAttemptKey, verify: () => Promise<T | undefined>): Promise<GuardResult<T>> {
    const keys = this.#keys(who);
    const wait = Math.max(...keys.map(([key, max]) => this.#retryAfter(key, max)));
    if (wait > 0) return { refused: true, retryAfterMs: wait };
    // Reserve synchronously (no await since the check): concurrent attempts see each other.
    const entries = keys.map(([key]) => this.#reserve(key));
    let result: T | undefined;
    try {
      result = await verify();
    } finally {
      for (const e of entries) e.inFlight--;
    }
    if (result === undefined) for (const e of entries) e.failures++;
    else entries[0]!.failures = 0;
    this.#sweep();
    return { refused: false, result };
  }

  /** Milliseconds until `who` may try again, or 0 if it may try now. */
  retryAfter(who: LoginAttemptKey): number {
    return Math.max(...this.#keys(who).map(([key, max]) => this.#retryAfter(key, max)));
  }

  /** [key, max] pairs; the username first (it is the one a success clears). */
  #keys(who: LoginAttemptKey): [string, number][] {
    return [
      [`user:${who.username.slice(0, MAX_KEY)}`, this.#maxUsername],
      [`addr:${who.address.slice(0, MAX_KEY)}`, this.#maxAddress],
    ];
  }

  #retryAfter(key: string, max: number): number {
    const e = this.#live(key);
    if (!e || e.failures + e.inFlight < max) return 0;
    if (e.failures < max) return IN_FLIGHT_RETRY_MS;
    return Math.max(1, e.windowStart + this.#windowMs - this.#now());
  }

  #reserve(key: string): Entry {
    let e = this.#live(key);
    if (!e) {
      e = { failures: 0, inFlight: 0, windowStart: this.#now() };
      this.#entries.set(key, e);
    }
    e.inFlight++;
    return e;
  }

  /** The entry of `key`, with an expired window restarted (or dropped when nothing is in flight). */
  #live(key: string): Entry | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (this.#now() - e.windowStart < this.#windowMs) {
      if (e.failures > 0 || e.inFlight > 0) return e;
      // Nothing counted (e.g. cleared by a success): forget it.
      this.#entries.delete(key);
      return undefined;
    }
    if (e.inFlight === 0) {
      this.#entries.delete(key);
      return undefined;
    }
    e.failures = 0;
    e.windowStart = this.#now();
    return e;
  }

  /** Bounds memory when many addresses or usernames fail: drop expired windows once the map grows. */
  #sweep(): void {
    if (this.#entries.size < SWEEP_AT) return;
    const now = this.#now();
    for (const [k, e] of this.#entries)
      if (e.inFlight === 0 && now - e.windowStart >= this.#windowMs) this.#entries.delete(k);
  }
}
