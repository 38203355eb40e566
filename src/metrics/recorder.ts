import type { MetricPoint, MetricSeries } from '../api/platform.js';
import type { Logger } from '../log/index.js';
import { LATENCY_BUCKETS_MS, type AppTraffic } from '../router/types.js';
import type { ProcessStatus } from '../runtime/types.js';
import { bucketDeltas, counterDelta, quantile } from './histogram.js';
import { PROCESS_GONE, renderPrometheus } from './exposition.js';
import { PointRing } from './ring.js';

/** Where the recorder reads what it samples. Called synchronously on every sample and scrape. */
export interface MetricsSources {
  /** Every app to record. An app no longer listed is forgotten at the next sample. */
  apps(): Iterable<string>;
  /** The router's cumulative counters of the app; undefined when it has none (yet). */
  traffic(app: string): AppTraffic | undefined;
  /** The app's processes as the runtime sees them (with their latest `usage`). */
  processes(app: string): ProcessStatus[];
  /** Scaling state, e.g. `awake`, `asleep`, `waking`; adds `gantry_app_asleep` to `/metrics`. */
  state?(app: string): string;
}

export interface MetricsRecorderOptions {
  /** Sampling interval (server config `metricsIntervalMs`), at least 1 s. Default 10 s. */
  intervalMs?: number;
  sources: MetricsSources;
  logger: Logger;
  /** Clock (tests). */
  now?: () => number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Resolution of the 24 h series. */
const DAY_STEP_MS = 5 * 60_000;
const BUCKETS = LATENCY_BUCKETS_MS.length + 1;
const ZERO_BUCKETS: readonly number[] = new Array<number>(BUCKETS).fill(0);

/** The 5-minute point being built from interval points. */
interface Aggregate {
  start: number;
  n: number;
  rpsSum: number;
  errors: number;
  latency: Float64Array;
  cpuSum: number;
  memSum: number;
  replicasMax: number;
}

interface AppState {
  /** Time of the last sample: the next point starts here. */
  at: number;
  requests: number;
  errors: number;
  latency: Float64Array;
  hour: PointRing;
  day: PointRing;
  agg: Aggregate | undefined;
  /** Sample round that last listed the app. */
  round: number;
}

/**
 * Per-app time series for the web UI's charts (last hour at the sampling
 * interval, last day at 5 minutes) and the `/metrics` exposition. Sampling
 * turns the router's cumulative counters into per-interval rates and
 * percentiles; memory is two fixed rings per app (~25 KB at a 10 s interval).
 */
export class MetricsRecorder {
  readonly #intervalMs: number;
  readonly #sources: MetricsSources;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #hourCapacity: number;
  readonly #apps = new Map<string, AppState>();
  /** Scratch buffer for bucket deltas (sampling is synchronous). */
  readonly #delta = new Float64Array(BUCKETS);
  #round = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: MetricsRecorderOptions) {
    this.#intervalMs = Math.max(1000, opts.intervalMs ?? 10_000);
    this.#sources = opts.sources;
    this.#logger = opts.logger;
    this.#now = opts.now ?? Date.now;
    this.#hourCapacity = Math.ceil(HOUR_MS / this.#intervalMs);
  }

  /** Samples every interval until `close` (the timer does not keep the process alive). */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.sample(), this.#intervalMs);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * One sampling step: for each app, a point covering the time since its
   * previous sample (an app's first sample only sets the baseline). Never throws.
   */
  sample(): void {
    const now = this.#now();
    const round = ++this.#round;
    try {
      for (const app of this.#sources.apps()) {
        try {
          this.#sampleApp(app, now, round);
        } catch (err) {
          this.#logger.error({ err, app }, 'sampling app metrics failed');
        }
      }
    } catch (err) {
      this.#logger.error({ err }, 'listing apps for metrics failed');
      return;
    }
    for (const [app, st] of this.#apps) if (st.round !== round) this.#apps.delete(app);
  }

  /** The app's chart data; no points for an app not (yet) sampled. */
  series(app: string, range: '1h' | '24h'): MetricSeries {
    const st = this.#apps.get(app);
    const now = this.#now();
    if (range === '1h') {
      const points = st ? st.hour.points(now - HOUR_MS) : [];
      return { app, range, stepSeconds: this.#intervalMs / 1000, points };
    }
    const points = st ? st.day.points(now - DAY_MS) : [];
    // The 5 minutes in progress, so the day chart reaches the present.
    if (st?.agg) points.push(closeAggregate(st.agg));
    return { app, range, stepSeconds: DAY_STEP_MS / 1000, points };
  }

  /** Drops an app's series (destroyed app). */
  forget(app: string): void {
    this.#apps.delete(app);
  }

  #sampleApp(app: string, now: number, round: number): void {
    const traffic = this.#sources.traffic(app);
    const requests = traffic?.requests ?? 0;
    const errors = traffic?.errors ?? 0;
    const latency = traffic?.latencyBuckets ?? ZERO_BUCKETS;
    let st = this.#apps.get(app);
    if (!st) {
      st = {
        at: now,
        requests,
        errors,
        latency: Float64Array.from({ length: BUCKETS }, (_, i) => latency[i] ?? 0),
        hour: new PointRing(this.#hourCapacity),
        day: new PointRing(DAY_MS / DAY_STEP_MS),
        agg: undefined,
        round,
      };
      this.#apps.set(app, st);
      return;
    }
    st.round = round;
    const seconds = (now - st.at) / 1000;
    if (!(seconds > 0)) return;
    const delta = this.#delta;
    bucketDeltas(latency, st.latency, delta);
    let cpu = 0;
    let memory = 0;
    let replicas = 0;
    for (const p of this.#sources.processes(app)) {
      if (p.type === 'web' && p.state === 'running') replicas++;
      if (p.usage && !PROCESS_GONE.has(p.state)) {
        cpu += p.usage.cpuPercent;
        memory += p.usage.memoryBytes;
      }
    }
    const point: MetricPoint = {
      t: st.at,
      rps: counterDelta(requests, st.requests) / seconds,
      p50Ms: quantile(delta, LATENCY_BUCKETS_MS, 0.5),
      p95Ms: quantile(delta, LATENCY_BUCKETS_MS, 0.95),
      errors: counterDelta(errors, st.errors),
      cpuPercent: cpu,
      memoryBytes: memory,
      replicas,
    };
    st.hour.push(point);
    this.#aggregate(st, point, delta);
    st.at = now;
    st.requests = requests;
    st.errors = errors;
    for (let i = 0; i < BUCKETS; i++) st.latency[i] = latency[i] ?? 0;
  }

  #aggregate(st: AppState, p: MetricPoint, latency: Float64Array): void {
    const start = Math.floor(p.t / DAY_STEP_MS) * DAY_STEP_MS;
    if (st.agg && st.agg.start !== start) {
      st.day.push(closeAggregate(st.agg));
      st.agg = undefined;
    }
    const a = (st.agg ??= {
      start,
      n: 0,
      rpsSum: 0,
      errors: 0,
      latency: new Float64Array(BUCKETS),
      cpuSum: 0,
      memSum: 0,
      replicasMax: 0,
    });
    a.n++;
    a.rpsSum += p.rps;
    a.errors += p.errors;
    for (let i = 0; i < BUCKETS; i++) a.latency[i]! += latency[i]!;
    a.cpuSum += p.cpuPercent;
    a.memSum += p.memoryBytes;
    a.replicasMax = Math.max(a.replicasMax, p.replicas);
  }

  /** Every listed app's counters and processes, now, in Prometheus text format 0.0.4. */
  prometheus(): string {
    return renderPrometheus(this.#sources, this.#logger);
  }
}

function closeAggregate(a: Aggregate): MetricPoint {
  return {
    t: a.start,
    rps: a.rpsSum / a.n,
    p50Ms: quantile(a.latency, LATENCY_BUCKETS_MS, 0.5),
    p95Ms: quantile(a.latency, LATENCY_BUCKETS_MS, 0.95),
    errors: a.errors,
    cpuPercent: a.cpuSum / a.n,
    memoryBytes: Math.round(a.memSum / a.n),
    replicas: a.replicasMax,
  };
}
