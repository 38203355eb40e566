import type { MetricPoint } from '../api/platform.js';

/** Values kept per point besides its time, in this order. */
const FIELDS = 6;

/**
 * A fixed-size ring of metric points in typed arrays: a few dozen bytes per
 * point instead of an object each, so hundreds of apps × a day of points stay small.
 * Memory is kept as float64 (bytes exceed float32's exact range); the rest
 * (rates, ms, counts, percents) as float32. A null percentile is stored as NaN.
 */
export class PointRing {
  readonly capacity: number;
  readonly #t: Float64Array;
  readonly #mem: Float64Array;
  readonly #v: Float32Array;
  #start = 0;
  #length = 0;

  constructor(capacity: number) {
    this.capacity = Math.max(1, Math.floor(capacity));
    this.#t = new Float64Array(this.capacity);
    this.#mem = new Float64Array(this.capacity);
    this.#v = new Float32Array(this.capacity * FIELDS);
  }

  get length(): number {
    return this.#length;
  }

  push(p: MetricPoint): void {
    let slot: number;
    if (this.#length < this.capacity) {
      slot = (this.#start + this.#length) % this.capacity;
      this.#length++;
    } else {
      slot = this.#start;
      this.#start = (this.#start + 1) % this.capacity;
    }
    this.#t[slot] = p.t;
    this.#mem[slot] = p.memoryBytes;
    const o = slot * FIELDS;
    this.#v[o] = p.rps;
    this.#v[o + 1] = p.p50Ms ?? NaN;
    this.#v[o + 2] = p.p95Ms ?? NaN;
    this.#v[o + 3] = p.errors;
    this.#v[o + 4] = p.cpuPercent;
    this.#v[o + 5] = p.replicas;
  }

  /** Points with `t >= since`, oldest first. */
  points(since = -Infinity): MetricPoint[] {
    const out: MetricPoint[] = [];
    for (let i = 0; i < this.#length; i++) {
      const slot = (this.#start + i) % this.capacity;
      if (this.#t[slot]! < since) continue;
      const o = slot * FIELDS;
      const p50 = this.#v[o + 1]!;
      const p95 = this.#v[o + 2]!;
      out.push({
        t: this.#t[slot]!,
        rps: round(this.#v[o]!),
        p50Ms: Number.isNaN(p50) ? null : round(p50),
        p95Ms: Number.isNaN(p95) ? null : round(p95),
        errors: this.#v[o + 3]!,
        cpuPercent: round(this.#v[o + 4]!),
        memoryBytes: this.#mem[slot]!,
        replicas: this.#v[o + 5]!,
      });
    }
    return out;
  }
}

/** float32 → a clean decimal for JSON (2.5 stays 2.5; 0.1f prints 0.1, not 0.10000000149). */
function round(x: number): number {
  return Number(x.toPrecision(6));
}
