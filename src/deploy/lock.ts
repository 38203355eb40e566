/** One operation at a time per key (app): deploys, config changes, scaling queue up. */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Resolves once every queued operation has finished. */
  async idle(): Promise<void> {
    while (this.#tails.size) await Promise.all([...this.#tails.values()]);
  }

  isLocked(key: string): boolean {
    return this.#tails.has(key);
  }

  /**
   * Runs `fn` when the key is free. With `holdUntil`, the key stays taken after
   * `fn` succeeds until that promise settles (at most `maxHoldMs`): a git push's
   * ref moves only after its deploy returned, and the next push must see it.
   */
  async run<T>(
    key: string,
    fn: () => Promise<T>,
    hold?: { until: Promise<unknown>; maxHoldMs: number },
  ): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const held = (): Promise<unknown> | undefined => {
      if (!hold) return undefined;
      let timer: NodeJS.Timeout | undefined;
      const cap = new Promise((r) => (timer = setTimeout(r, hold.maxHoldMs)));
      return Promise.race([hold.until, cap]).finally(() => clearTimeout(timer));
    };
    const tail = next
      .then(held, () => undefined)
      .then(
        () => undefined,
        () => undefined,
      );
    this.#tails.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
