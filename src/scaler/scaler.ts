/**
 * The scaler: puts idle apps to sleep, wakes them on demand, and autoscales web
 * processes on concurrency. Decisions come from the pure functions in decide.ts;
 * this class owns the clock, the samples and the per-app operation queue.
 */
import { GantryError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { AppTraffic } from '../router/types.js';
import { autoscale, formatDuration, idleSleep, scaleBounds, type Sample } from './decide.js';
import type { ScalerEventKind, ScalerState, ScalerTarget } from './target.js';
import { awakeReplicas, type AppScaling } from './types.js';

export interface ScalerOptions {
  target: ScalerTarget;
  /** The router's counters for the app (undefined: no traffic seen yet). */
  traffic: (app: string) => AppTraffic | undefined;
  /** Appends to the app's event log (wake, sleep, scale decisions). Must not throw. */
  record: (app: string, kind: ScalerEventKind, message: string) => void;
  logger: Logger;
  /** Sampling and decision interval. Default 1 s. */
  tickMs?: number;
  /** Stable window: replicas are removed only after load stayed lower this long (server config). */
  windowMs: number;
  /** Panic window: replicas are added when load over this window needs them. Default windowMs / 10, at least 2 s. */
  panicWindowMs?: number;
  /** Clock (tests). Default Date.now; must be on the same scale as `AppTraffic.lastActive`. */
  now?: () => number;
}

interface Entry {
  settings: AppScaling | undefined;
  /** Last wake, touch or configure: idle time counts from the later of this and the router's lastActive. */
  lastReset: number;
  samples: Sample[];
  observedSince: number | undefined;
  lastScaleUpAt: number;
  /** Last autoscale decision's target (state reporting). */
  desired: number | undefined;
  /** The one wake under way, shared by every caller. */
  waking: Promise<void> | undefined;
  /** configure set min > 0 on a sleeping app: wake it, retrying on later ticks if that fails. */
  wantAwake: boolean;
  /** Operations queued or running; decisions wait until it is 0. */
  pending: number;
  chain: Promise<void>;
  failures: number;
  retryAt: number;
}

const MAX_BACKOFF_MS = 60_000;

export class Scaler {
  readonly #target: ScalerTarget;
  readonly #traffic: ScalerOptions['traffic'];
  readonly #record: ScalerOptions['record'];
  readonly #logger: Logger;
  readonly #tickMs: number;
  readonly #windowMs: number;
  readonly #panicWindowMs: number;
  readonly #now: () => number;
  readonly #apps = new Map<string, Entry>();
  /** Every operation's settled promise, for close(). */
  readonly #ops = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: ScalerOptions) {
    this.#target = opts.target;
    this.#traffic = opts.traffic;
    this.#record = opts.record;
    this.#logger = opts.logger;
    this.#tickMs = opts.tickMs ?? 1000;
    this.#windowMs = opts.windowMs;
    this.#panicWindowMs = opts.panicWindowMs ?? Math.max(2000, opts.windowMs / 10);
    this.#now = opts.now ?? Date.now;
  }

  /** Starts the timer. Call after every deployed app has been configured. */
  start(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => {
      this.tick().catch((err: unknown) => this.#logger.error({ err }, 'scaler tick failed'));
    }, this.#tickMs);
    // The scaler alone must not keep the process alive.
    this.#timer.unref();
  }

  /** Stops the timer and waits for operations under way. Later wakes are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    while (this.#ops.size > 0) await Promise.all([...this.#ops]);
  }

  /**
   * Sets, replaces (or with `undefined` forgets) the app's settings and acts at once where
   * needed: an autoscaled app outside [max(1, min), max] is brought inside; min > 0 on a
   * sleeping app wakes it. Resets the idle clock. Resolves when that action is done; never
   * rejects (a failure is logged and retried on a later tick).
   */
  configure(app: string, s: AppScaling | undefined): Promise<void> {
    if (s === undefined) {
      const e = this.#apps.get(app);
      if (e && e.pending === 0) this.#apps.delete(app);
      else if (e) {
        e.settings = undefined;
        e.wantAwake = false;
      }
      return Promise.resolve();
    }
    const e = this.#entry(app);
    e.settings = s;
    e.lastReset = this.#now();
    e.wantAwake = s.min > 0 && this.#target.webCount(app) === 0;
    // New settings deserve an immediate attempt even after failures.
    e.failures = 0;
    e.retryAt = 0;
    return this.#evaluate(app, e, false);
  }

  /**
   * Starts a sleeping app: one start however many callers (they share the promise). Resolves
   * once the first web process serves; rejects when the start fails (the caller answers the
   * requests it holds), and the next call tries again.
   */
  wake(app: string): Promise<void> {
    return this.#wake(app, 'for a request', 'a request arrived');
  }

  /** Puts the app to sleep now (operator's request), whatever its idle time. No-op when asleep. */
  async sleep(app: string, reason = 'requested'): Promise<void> {
    const e = this.#entry(app);
    e.wantAwake = false;
    await this.#enqueue(app, e, async () => {
      const n = this.#webCount(app);
      if (n > 0) await this.#putToSleep(app, e, reason);
    });
  }

  /** Activity seen by the control plane (a deploy went live): restarts the idle clock. */
  touch(app: string): void {
    const e = this.#apps.get(app);
    if (e) e.lastReset = Math.max(e.lastReset, this.#now());
  }

  state(app: string): ScalerState {
    const n = this.#target.webCount(app);
    if (n === undefined) return { state: 'stopped', replicas: 0, desired: 0 };
    const e = this.#apps.get(app);
    const awake = e?.settings ? awakeReplicas(e.settings) : 1;
    if (e?.waking) return { state: 'waking', replicas: n, desired: Math.max(n, awake) };
    if (n === 0) return { state: 'asleep', replicas: 0, desired: e?.wantAwake ? awake : 0 };
    const s = e?.settings;
    if (!s) return { state: 'awake', replicas: n, desired: n };
    if (s.max === null) return { state: 'awake', replicas: n, desired: awake };
    const { lo, hi } = scaleBounds(s);
    return { state: 'awake', replicas: n, desired: Math.min(hi, Math.max(lo, e.desired ?? n)) };
  }

  /**
   * One round of sampling and decisions for every configured app (the timer calls it;
   * tests call it directly). Resolves when the operations it started have settled.
   */
  async tick(): Promise<void> {
    if (this.#closed) return;
    const started: Promise<void>[] = [];
    for (const [app, e] of this.#apps) {
      try {
        started.push(this.#evaluate(app, e, true));
      } catch (err) {
        this.#logger.error({ err, app }, 'scaler could not evaluate app');
      }
    }
    await Promise.all(started);
  }

  #entry(app: string): Entry {
    let e = this.#apps.get(app);
    if (!e) {
      e = {
        settings: undefined,
        lastReset: this.#now(),
        samples: [],
        observedSince: undefined,
        lastScaleUpAt: -Infinity,
        desired: undefined,
        waking: undefined,
        wantAwake: false,
        pending: 0,
        chain: Promise.resolve(),
        failures: 0,
        retryAt: 0,
      };
      this.#apps.set(app, e);
    }
    return e;
  }

  #webCount(app: string): number {
    const n = this.#target.webCount(app);
    if (n === undefined) throw new GantryError('GANTRY_NO_RELEASE', `${app} has no running deployment`);
    return n;
  }

  /** Decides for one app; returns the operation it started (never rejects), if any. */
  #evaluate(app: string, e: Entry, sample: boolean): Promise<void> {
    const s = e.settings;
    if (!s || e.waking) return Promise.resolve();
    const n = this.#target.webCount(app);
    const now = this.#now();
    if (n === undefined || n === 0) {
      resetSamples(e);
      if (n === 0 && e.wantAwake && e.pending === 0 && now >= e.retryAt) {
        return this.#attempt(app, e, () => this.#wake(app, `because min is ${s.min}`, `min is ${s.min}`));
      }
      return Promise.resolve();
    }
    const t = this.#traffic(app);
    if (sample && s.max !== null) {
      e.samples.push({ at: now, value: (t?.httpInflight ?? 0) + (t?.webSockets ?? 0) });
      const horizon = now - Math.max(this.#windowMs, this.#panicWindowMs);
      while (e.samples.length > 0 && e.samples[0]!.at <= horizon) e.samples.shift();
      e.observedSince ??= now;
    }
    if (e.pending > 0 || now < e.retryAt) return Promise.resolve();
    const idle = this.#idleMs(e, s, t, now);
    if (idle !== undefined) {
      return this.#attempt(app, e, () =>
        this.#enqueue(app, e, async () => {
          // Re-checked at run time: a request or a wake may have come in meanwhile.
          const still = this.#idleMs(e, s, this.#traffic(app), this.#now());
          if (still === undefined || e.waking || this.#webCount(app) === 0) return;
          await this.#putToSleep(app, e, `no requests for ${formatDuration(still)}`);
        }),
      );
    }
    if (s.max === null) {
      // Not autoscaled: ps:scale sets the size (base), but never below the minimum.
      const want = Math.max(1, s.min);
      if (n >= want) return Promise.resolve();
      return this.#attempt(app, e, () =>
        this.#enqueue(app, e, async () => {
          if (this.#webCount(app) !== n || e.settings !== s) return;
          await this.#target.setWebCount(app, want, `min is ${s.min}`);
          this.#record(app, 'scale', `scaled web from ${n} to ${want}: the minimum is ${s.min}`);
        }),
      );
    }
    const d = autoscale({
      settings: s,
      now,
      current: n,
      samples: e.samples,
      windowMs: this.#windowMs,
      panicWindowMs: this.#panicWindowMs,
      lastScaleUpAt: e.lastScaleUpAt,
      observedSince: e.observedSince ?? now,
    });
    e.desired = d.desired;
    if (d.kind === 'hold') return Promise.resolve();
    return this.#attempt(app, e, () =>
      this.#enqueue(app, e, async () => {
        if (this.#webCount(app) !== n || e.settings !== s) return;
        await this.#target.setWebCount(app, d.desired, d.reason);
        if (d.kind === 'up') e.lastScaleUpAt = this.#now();
        this.#record(app, 'scale', `scaled web from ${n} to ${d.desired}: ${d.reason}`);
      }),
    );
  }

  #idleMs(e: Entry, s: AppScaling, t: AppTraffic | undefined, now: number): number | undefined {
    return idleSleep({
      settings: s,
      now,
      lastActive: t?.lastActive ?? 0,
      lastReset: e.lastReset,
      httpInflight: t?.httpInflight ?? 0,
    });
  }

  #wake(app: string, cause: string, reason: string): Promise<void> {
    const waking = this.#apps.get(app)?.waking;
    if (waking) return waking;
    if (this.#closed)
      return Promise.reject(new GantryError('GANTRY_INTERNAL', 'the server is shutting down'));
    const e = this.#entry(app);
    const started = this.#now();
    const p = this.#enqueue(app, e, async () => {
      if (this.#webCount(app) > 0) return;
      const n = e.settings ? awakeReplicas(e.settings) : 1;
      try {
        await this.#target.setWebCount(app, n, reason);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        const took = formatDuration(this.#now() - started);
        this.#record(app, 'wake', `failed to wake up ${cause} after ${took}: ${msg}`);
        throw err;
      }
      const at = this.#now();
      e.lastReset = at;
      e.wantAwake = false;
      resetSamples(e);
      this.#record(app, 'wake', `woke up ${cause}: web.1 serving after ${formatDuration(at - started)}`);
    }).finally(() => {
      if (e.waking === p) e.waking = undefined;
    });
    e.waking = p;
    return p;
  }

  async #putToSleep(app: string, e: Entry, reason: string): Promise<void> {
    await this.#target.setWebCount(app, 0, reason);
    resetSamples(e);
    e.desired = undefined;
    this.#record(app, 'sleep', `went to sleep: ${reason}`);
  }

  /** Runs a timer-started operation: failures are logged and retried later, with backoff. */
  async #attempt(app: string, e: Entry, op: () => Promise<void>): Promise<void> {
    try {
      await op();
      e.failures = 0;
      e.retryAt = 0;
    } catch (err) {
      e.failures += 1;
      const backoff = Math.min(MAX_BACKOFF_MS, this.#tickMs * 2 ** (e.failures - 1));
      e.retryAt = this.#now() + backoff;
      this.#logger.error({ err, app, retryInMs: backoff }, 'scaling operation failed; will retry');
    }
  }

  /** Serializes operations per app: never two setWebCount of one app at once. */
  #enqueue(app: string, e: Entry, fn: () => Promise<void>): Promise<void> {
    e.pending += 1;
    const run = e.chain.then(fn).finally(() => {
      e.pending -= 1;
      // A forgotten app's entry outlives configure(undefined) only until its operations end.
      if (e.pending === 0 && !e.settings && this.#apps.get(app) === e) this.#apps.delete(app);
    });
    // The chain only orders operations; each caller gets `run` and its outcome.
    const settled: Promise<void> = run.then(
      () => void this.#ops.delete(settled),
      () => void this.#ops.delete(settled),
    );
    e.chain = settled;
    this.#ops.add(settled);
    return run;
  }
}

function resetSamples(e: Entry): void {
  e.samples = [];
  e.observedSince = undefined;
}
