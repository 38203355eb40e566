/**
 * The router's backends: one {@link BackendState} per Backend object (shared by every
 * route that lists it, so counters survive a route swap), their connection pools, and
 * drain for zero-downtime redeploys.
 */
import type { Logger } from '../log/index.js';
import { affinityValue } from './affinity.js';
import type { BackendState } from './state.js';
import type { Backend } from './types.js';

interface DrainWaiter {
  states: BackendState[];
  done(): void;
}

export class BackendTable {
  readonly #backends = new Map<Backend, BackendState>();
  readonly #waiters = new Set<DrainWaiter>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** The state of a backend a route is about to list (counted in `refs`). */
  ref(backend: Backend): BackendState {
    let s = this.#backends.get(backend);
    if (s === undefined) {
      s = {
        backend,
        inflight: 0,
        refs: 0,
        pool: undefined,
        sockets: undefined,
        affinity: affinityValue(backend.id),
      };
      this.#backends.set(backend, s);
    }
    s.refs++;
    return s;
  }

  /** A route no longer lists it: once idle too, its pool is closed. */
  unref(s: BackendState): void {
    s.refs--;
    if (s.refs === 0 && s.inflight === 0) this.#dispose(s);
  }

  /** One request or WebSocket on `s` is over. */
  release(s: BackendState): void {
    if (--s.inflight !== 0) return;
    if (s.refs === 0) this.#dispose(s);
    for (const w of this.#waiters) {
      if (w.states.every((x) => x.inflight === 0)) w.done();
    }
  }

  inFlight(backend: Backend): number {
    return this.#backends.get(backend)?.inflight ?? 0;
  }

  /** See `Router.drain`. */
  drain(backends: Backend[], timeoutMs: number): Promise<void> {
    const states: BackendState[] = [];
    for (const b of backends) {
      const s = this.#backends.get(b);
      if (s !== undefined && s.inflight > 0) states.push(s);
    }
    if (states.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: DrainWaiter = {
        states,
        done: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.#logger.info(
          { backends: states.filter((s) => s.inflight > 0).map((s) => s.backend.id) },
          'drain deadline reached, closing remaining connections',
        );
        waiter.done();
        for (const s of states) this.#force(s);
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Resolves pending drains, cuts every WebSocket and destroys every pool. */
  async close(): Promise<void> {
    for (const w of [...this.#waiters]) w.done();
    const states = [...this.#backends.values()];
    this.#backends.clear();
    await Promise.all(
      states.map(async (s) => {
        if (s.sockets) for (const sock of s.sockets) sock.destroy();
        const pool = s.pool;
        s.pool = undefined;
        if (pool) await pool.destroy();
      }),
    );
  }

  /** A backend no route lists and nothing uses any more: close its pool, forget it. */
  #dispose(s: BackendState): void {
    if (this.#backends.get(s.backend) === s) this.#backends.delete(s.backend);
    const pool = s.pool;
    s.pool = undefined;
    pool
      ?.close()
      .catch((err: unknown) => this.#logger.warn({ err, backend: s.backend.id }, 'pool close failed'));
  }

  /** Drain deadline: cut what still uses a backend that no route lists any more. */
  #force(s: BackendState): void {
    if (s.sockets) for (const sock of [...s.sockets]) sock.destroy();
    if (s.refs > 0) return;
    const pool = s.pool;
    s.pool = undefined;
    pool
      ?.destroy()
      .catch((err: unknown) => this.#logger.warn({ err, backend: s.backend.id }, 'pool destroy failed'));
  }
}
