/**
 * Restart backoff for crashed processes: `initialMs` doubling up to `maxMs`,
 * forgotten once a process has stayed up for `resetAfterMs` (a process that
 * crashes once a day should restart at once, not after five minutes).
 */
export interface BackoffOptions {
  /** First delay. Default 1 s. */
  initialMs?: number;
  /** Cap. Default 5 min. */
  maxMs?: number;
  /** Uptime after which the next crash starts again from `initialMs`. Default 10 min. */
  resetAfterMs?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = {
  initialMs: 1000,
  maxMs: 300_000,
  resetAfterMs: 600_000,
};

/** Delay before restart attempt number `attempt` (0-based). Pure. */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const { initialMs, maxMs } = { ...DEFAULT_BACKOFF, ...opts };
  // 2**attempt overflows to Infinity long before it matters; Math.min keeps the cap.
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt));
}

/** Tracks consecutive crashes of one process slot. */
export class Backoff {
  readonly #opts: Required<BackoffOptions>;
  #attempt = 0;

  constructor(opts: BackoffOptions = {}) {
    this.#opts = { ...DEFAULT_BACKOFF, ...opts };
  }

  /** Delay before the next restart, given how long the process that just exited was up. */
  next(uptimeMs: number): number {
    if (uptimeMs >= this.#opts.resetAfterMs) this.#attempt = 0;
    return backoffDelay(this.#attempt++, this.#opts);
  }
}
