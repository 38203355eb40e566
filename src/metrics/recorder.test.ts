import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../log/index.js';
import { LATENCY_BUCKETS_MS, type AppTraffic } from '../router/types.js';
import type { ProcessState, ProcessStatus } from '../runtime/types.js';
import { MetricsRecorder, type MetricsSources } from './index.js';

/** Router counters and runtime processes made up by the test. */
class FakeSources implements MetricsSources {
  list: string[] = ['sales'];
  readonly traffics = new Map<string, AppTraffic>();
  readonly procs = new Map<string, ProcessStatus[]>();
  apps(): string[] {
    return this.list;
  }
  traffic(app: string): AppTraffic | undefined {
    return this.traffics.get(app);
  }
  processes(app: string): ProcessStatus[] {
    return this.procs.get(app) ?? [];
  }
  /** Counts `n` finished requests of `ms` each, `errors` of them 5xx. */
  serve(app: string, n: number, ms: number, errors = 0): void {
    let t = this.traffics.get(app);
    if (!t) {
      t = {
        lastActive: 0,
        httpInflight: 0,
        webSockets: 0,
        requests: 0,
        errors: 0,
        latencyBuckets: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0),
        latencySumMs: 0,
      };
      this.traffics.set(app, t);
    }
    const i = LATENCY_BUCKETS_MS.findIndex((b) => ms <= b);
    t.latencyBuckets[i === -1 ? LATENCY_BUCKETS_MS.length : i]! += n;
    t.requests += n;
    t.errors += errors;
    t.latencySumMs += n * ms;
  }
}

function proc(
  app: string,
  type: string,
  index: number,
  state: ProcessState,
  usage?: { cpu: number; mem: number },
  extra: Partial<ProcessStatus> = {},
): ProcessStatus {
  return {
    deployment: `${app}@v1`,
    app,
    release: 1,
    type,
    index,
    name: `${app}.${type}.${index}`,
    state,
    host: '127.0.0.1',
    restarts: 0,
    usage: usage && { cpuPercent: usage.cpu, memoryBytes: usage.mem, at: new Date() },
    ...extra,
  };
}

const MB = 1024 * 1024;
/** A 5-minute boundary, so the 24 h buckets line up with the test's intervals. */
const T0 = Date.parse('2026-03-02T09:00:00.000Z');

function setup(intervalMs = 10_000): { src: FakeSources; rec: MetricsRecorder; clock: { now: number } } {
  const src = new FakeSources();
  const clock = { now: T0 };
  const rec = new MetricsRecorder({ intervalMs, sources: src, logger: silentLogger, now: () => clock.now });
  return { src, rec, clock };
}

test('a sample turns counter deltas into rates, errors and percentiles of its interval', () => {
  const { src, rec, clock } = setup();
  src.serve('sales', 1000, 3); // before the first sample: not part of any interval
  rec.sample();
  assert.deepEqual(rec.series('sales', '1h').points, []);
  src.serve('sales', 50, 3);
  src.serve('sales', 50, 200, 5);
  clock.now += 10_000;
  rec.sample();
  src.serve('sales', 20, 20);
  clock.now += 10_000;
  rec.sample();
  clock.now += 10_000;
  rec.sample();
  const s = rec.series('sales', '1h');
  assert.equal(s.app, 'sales');
  assert.equal(s.range, '1h');
  assert.equal(s.stepSeconds, 10);
  assert.deepEqual(
    s.points.map((p) => [p.t - T0, p.rps, p.errors, p.p50Ms, p.p95Ms]),
    [
      [0, 10, 5, 5, 235],
      [10_000, 2, 0, 17.5, 24.25],
      [20_000, 0, 0, null, null],
    ],
  );
});

test('CPU and memory sum the live processes; replicas count running web processes', () => {
  const { src, rec, clock } = setup();
  src.procs.set('sales', [
    proc('sales', 'web', 1, 'running', { cpu: 50, mem: 100 * MB }),
    proc('sales', 'web', 2, 'running', { cpu: 25, mem: 50 * MB }),
    proc('sales', 'web', 3, 'starting'),
    proc('sales', 'worker', 1, 'running', { cpu: 10, mem: 10 * MB }),
    // Its last sample is stale: it is not using anything now.
    proc('sales', 'web', 4, 'crashed', { cpu: 99, mem: 500 * MB }),
  ]);
  rec.sample();
  clock.now += 10_000;
  rec.sample();
  const [p] = rec.series('sales', '1h').points;
  assert.equal(p?.cpuPercent, 85);
  assert.equal(p?.memoryBytes, 160 * MB);
  assert.equal(p?.replicas, 2);
  assert.equal(p?.rps, 0); // no traffic object at all
});

test('a router restart (counters going down) is not a negative rate', () => {
  const { src, rec, clock } = setup();
  src.serve('sales', 500, 3);
  rec.sample();
  src.traffics.delete('sales');
  src.serve('sales', 30, 3);
  clock.now += 10_000;
  rec.sample();
  assert.equal(rec.series('sales', '1h').points[0]?.rps, 3);
});

test('the day series aggregates 5 minutes: mean rate, summed errors, merged latency, mean usage, max replicas', () => {
  const { src, rec, clock } = setup();
  const web = (n: number): ProcessStatus[] =>
    Array.from({ length: n }, (_, i) => proc('sales', 'web', i + 1, 'running', { cpu: 10, mem: 100 * MB }));
  rec.sample();
  for (let i = 0; i < 720; i++) {
    // Alternating quiet and busy intervals: 10 rps at 3 ms, 30 rps at 200 ms.
    if (i % 2 === 0) src.serve('sales', 100, 3, 1);
    else src.serve('sales', 300, 200, 1);
    src.procs.set('sales', web(i % 30 === 7 ? 3 : i % 2 === 0 ? 1 : 2));
    clock.now += 10_000;
    rec.sample();
  }
  const day = rec.series('sales', '24h');
  assert.equal(day.stepSeconds, 300);
  assert.equal(day.points.length, 24); // 23 closed buckets + the one in progress
  for (const [k, p] of day.points.entries()) {
    assert.equal(p.t, T0 + k * 300_000);
    assert.equal(p.rps, 20);
    assert.equal(p.errors, 30);
    // Percentiles of the merged histogram (1,500 fast, 4,500 slow), not means of the interval percentiles.
    assert.equal(p.p50Ms, 150);
    assert.equal(p.p95Ms, 240);
    assert.equal(p.replicas, 3);
    assert.ok(Math.abs(p.cpuPercent - (10 * (15 * 1 + 14 * 2 + 3)) / 30) < 1e-3, `cpu ${p.cpuPercent}`);
  }
  // The hour series holds just the last hour at the sampling interval.
  const hour = rec.series('sales', '1h');
  assert.equal(hour.points.length, 360);
  assert.equal(hour.points[0]!.t, clock.now - 3_600_000);
  assert.equal(hour.points.at(-1)!.t, clock.now - 10_000);
});

test('the day series keeps a day: older points roll out', () => {
  const { src, rec, clock } = setup(60_000);
  rec.sample();
  for (let i = 0; i < 25 * 60; i++) {
    src.serve('sales', 60 * (i + 1), 3);
    clock.now += 60_000;
    rec.sample();
  }
  const points = rec.series('sales', '24h').points;
  assert.equal(points.length, 288);
  assert.ok(points[0]!.t >= clock.now - 24 * 3_600_000);
  assert.equal(points.at(-1)!.t, clock.now - 300_000);
  for (let k = 1; k < points.length; k++) assert.equal(points[k]!.t - points[k - 1]!.t, 300_000);
  // Rates grow minute by minute: the last bucket averages the last five minutes.
  assert.equal(points.at(-1)!.rps, 25 * 60 - 2);
});

test('apps no longer listed, and forgotten apps, lose their series', () => {
  const { src, rec, clock } = setup();
  src.list = ['sales', 'hr'];
  rec.sample();
  clock.now += 10_000;
  rec.sample();
  assert.equal(rec.series('hr', '1h').points.length, 1);
  assert.equal(rec.series('sales', '24h').points.length, 1);
  rec.forget('sales');
  assert.deepEqual(rec.series('sales', '1h').points, []);
  src.list = ['sales'];
  clock.now += 10_000;
  rec.sample();
  assert.deepEqual(rec.series('hr', '1h').points, []);
  assert.deepEqual(rec.series('hr', '24h').points, []);
  assert.deepEqual(rec.series('nope', '24h'), { app: 'nope', range: '24h', stepSeconds: 300, points: [] });
});

test('a failing source spoils only its own app', () => {
  const { src, rec, clock } = setup();
  src.list = ['broken', 'sales'];
  const processes = src.processes.bind(src);
  src.processes = (app) => {
    if (app === 'broken') throw new Error('runtime bug');
    return processes(app);
  };
  rec.sample();
  src.serve('sales', 10, 3);
  clock.now += 10_000;
  rec.sample();
  assert.equal(rec.series('sales', '1h').points[0]?.rps, 1);
  assert.deepEqual(rec.series('broken', '1h').points, []);
  assert.match(rec.prometheus(), /gantry_app_requests_total\{app="sales"\} 10\n/);
  assert.doesNotMatch(rec.prometheus(), /app="broken"/);
});

test('start samples on its timer until close', async () => {
  const src = new FakeSources();
  const rec = new MetricsRecorder({ intervalMs: 1000, sources: src, logger: silentLogger });
  rec.start();
  try {
    const deadline = Date.now() + 15_000;
    while (rec.series('sales', '1h').points.length === 0) {
      assert.ok(Date.now() < deadline, 'no sample within 15 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    rec.close();
  }
  const n = rec.series('sales', '1h').points.length;
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(rec.series('sales', '1h').points.length, n);
});
