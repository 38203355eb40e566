import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  autoscale,
  desiredReplicas,
  formatDuration,
  idleSleep,
  scaleBounds,
  windowAverage,
  type Sample,
  type ScaleDecision,
} from './decide.js';
import type { AppScaling } from './types.js';

const MIN = 60_000;

function settings(over: Partial<AppScaling> = {}): AppScaling {
  return { min: 0, max: null, concurrency: 10, idleTimeoutMs: 15 * MIN, affinity: false, base: 1, ...over };
}

test('formatDuration reads like a person wrote it, rounding down', () => {
  assert.equal(formatDuration(0), '0 ms');
  assert.equal(formatDuration(840), '840 ms');
  assert.equal(formatDuration(1000), '1 s');
  assert.equal(formatDuration(2540), '2.5 s');
  assert.equal(formatDuration(6000), '6 s');
  assert.equal(formatDuration(42_900), '42 s');
  assert.equal(formatDuration(60_000), '1 min');
  assert.equal(formatDuration(90_000), '1 min 30 s');
  assert.equal(formatDuration(15 * MIN), '15 min');
  assert.equal(formatDuration(15 * MIN + 40_000), '15 min');
  assert.equal(formatDuration(60 * MIN), '1 h');
  assert.equal(formatDuration(125 * MIN), '2 h 5 min');
});

test('idleSleep fires at exactly the timeout, not a millisecond before', () => {
  const s = settings();
  const base = { settings: s, lastActive: 1000, lastReset: 0, httpInflight: 0 };
  assert.equal(idleSleep({ ...base, now: 1000 + 15 * MIN - 1 }), undefined);
  assert.equal(idleSleep({ ...base, now: 1000 + 15 * MIN }), 15 * MIN);
});

test('idleSleep counts from the later of lastActive and the control plane reset', () => {
  const s = settings({ idleTimeoutMs: 1000 });
  assert.equal(
    idleSleep({ settings: s, now: 5000, lastActive: 1000, lastReset: 4500, httpInflight: 0 }),
    undefined,
  );
  assert.equal(
    idleSleep({ settings: s, now: 5000, lastActive: 4500, lastReset: 1000, httpInflight: 0 }),
    undefined,
  );
  assert.equal(
    idleSleep({ settings: s, now: 5500, lastActive: 4500, lastReset: 1000, httpInflight: 0 }),
    1000,
  );
});

test('idleSleep: a request in flight or min > 0 keeps the app awake', () => {
  const idle = { now: 10 * MIN * 10, lastActive: 0, lastReset: 0 };
  assert.equal(idleSleep({ ...idle, settings: settings(), httpInflight: 1 }), undefined);
  assert.equal(idleSleep({ ...idle, settings: settings({ min: 1 }), httpInflight: 0 }), undefined);
  assert.notEqual(idleSleep({ ...idle, settings: settings(), httpInflight: 0 }), undefined);
});

test('windowAverage averages only the samples after `since`', () => {
  const samples = [
    { at: 1, value: 100 },
    { at: 2, value: 4 },
    { at: 3, value: 8 },
  ];
  assert.equal(windowAverage(samples, 1), 6);
  assert.equal(windowAverage(samples, 0), 112 / 3);
  assert.equal(windowAverage(samples, 3), undefined);
});

test('desiredReplicas is ceil(avg / target), clamped to [max(1, min), max]', () => {
  const s = settings({ min: 0, max: 5 });
  assert.equal(desiredReplicas(0, s), 1);
  assert.equal(desiredReplicas(10, s), 1);
  assert.equal(desiredReplicas(10.01, s), 2);
  assert.equal(desiredReplicas(24.5, s), 3);
  assert.equal(desiredReplicas(0.1 + 0.2 + 19.7, s), 2, 'float noise on an exact multiple');
  assert.equal(desiredReplicas(1000, s), 5);
  assert.equal(desiredReplicas(0, settings({ min: 3, max: 5 })), 3);
  assert.deepEqual(scaleBounds(settings({ min: 0, max: 4 })), { lo: 1, hi: 4 });
  assert.deepEqual(scaleBounds(settings({ min: 2, max: 4 })), { lo: 2, hi: 4 });
});

/** Runs a load series (value per second) through autoscale with 1 s ticks, applying every decision. */
function simulate(load: (sec: number) => number, seconds: number, s: AppScaling, start = 1) {
  const windowMs = 60_000;
  const panicWindowMs = 6_000;
  let current = start;
  let lastScaleUpAt = -Infinity;
  const samples: Sample[] = [];
  const decisions: { sec: number; from: number; d: ScaleDecision }[] = [];
  for (let sec = 1; sec <= seconds; sec++) {
    const now = sec * 1000;
    samples.push({ at: now, value: load(sec) });
    while (samples[0]!.at <= now - windowMs) samples.shift();
    const d = autoscale({
      settings: s,
      now,
      current,
      samples,
      windowMs,
      panicWindowMs,
      lastScaleUpAt,
      observedSince: 1000,
    });
    if (d.kind !== 'hold') {
      decisions.push({ sec, from: current, d });
      if (d.kind === 'up') lastScaleUpAt = now;
      current = d.desired;
    }
  }
  return { decisions, current };
}

test('autoscale: a burst adds replicas within two ticks of the panic average exceeding the target', () => {
  const s = settings({ min: 1, max: 10 });
  // Quiet for 30 s, then 30 requests in flight. Panic window 6 s: average 10 after 2 s, 15 after 3 s.
  const { decisions } = simulate((sec) => (sec <= 30 ? 0 : 30), 40, s);
  const first = decisions[0]!;
  assert.equal(first.d.kind, 'up');
  assert.equal(first.sec, 33);
  assert.equal(first.d.desired, 2);
  assert.equal(
    first.d.kind === 'up' && first.d.reason,
    '15.0 requests in flight on average over the last 6 s, target 10 per process',
  );
  assert.equal(decisions.at(-1)!.d.desired, 3, 'reaches ceil(30 / 10) once the window is full of the burst');
  assert.ok(
    decisions.every((x) => x.d.kind === 'up'),
    'no scale-down during the burst',
  );
});

test('autoscale: scale-down waits a whole stable window after the last scale-up', () => {
  const s = settings({ min: 1, max: 10 });
  // 30 in flight for 60 s, then 2.
  const { decisions, current } = simulate((sec) => (sec <= 60 ? 30 : 2), 200, s);
  const ups = decisions.filter((x) => x.d.kind === 'up');
  const downs = decisions.filter((x) => x.d.kind === 'down');
  const lastUp = ups.at(-1)!.sec;
  assert.ok(downs.length > 0);
  assert.ok(downs[0]!.sec >= lastUp + 60, `down at ${downs[0]!.sec}, last up at ${lastUp}`);
  assert.ok(downs[0]!.sec >= 61, 'the stable window must be mostly low load');
  assert.equal(current, 1);
  const final = downs.at(-1)!;
  assert.equal(final.d.desired, 1);
  // The stable average slides down as low samples replace high ones: 3 → 2 → 1, never below the need.
  assert.deepEqual(
    downs.map((x) => [x.from, x.d.desired]),
    [
      [3, 2],
      [2, 1],
    ],
  );
  assert.equal(
    final.d.kind === 'down' && final.d.reason,
    '9.9 requests in flight on average over the last 1 min, target 10 per process',
  );
});

test('autoscale: no scale-down before a whole window was observed (just woke)', () => {
  const s = settings({ min: 1, max: 10 });
  const base = { settings: s, current: 4, windowMs: 60_000, panicWindowMs: 6_000, lastScaleUpAt: -Infinity };
  const samples = [{ at: 10_000, value: 0 }];
  assert.deepEqual(autoscale({ ...base, now: 10_000, samples, observedSince: 10_000 }), {
    kind: 'hold',
    desired: 1,
  });
  assert.equal(
    autoscale({ ...base, now: 70_000, samples: [{ at: 70_000, value: 0 }], observedSince: 10_000 }).kind,
    'down',
  );
});

test('autoscale: out of bounds goes straight back inside, never past min or max', () => {
  const base = {
    now: 100_000,
    samples: [],
    windowMs: 60_000,
    panicWindowMs: 6_000,
    lastScaleUpAt: 99_000,
    observedSince: 99_000,
  };
  assert.deepEqual(autoscale({ ...base, settings: settings({ min: 3, max: 5 }), current: 1 }), {
    kind: 'up',
    desired: 3,
    reason: 'minimum is 3',
  });
  assert.deepEqual(autoscale({ ...base, settings: settings({ min: 1, max: 2 }), current: 4 }), {
    kind: 'down',
    desired: 2,
    reason: 'maximum is 2',
  });
  const { decisions } = simulate(() => 1000, 30, settings({ min: 0, max: 4 }));
  assert.ok(decisions.every((x) => x.d.desired <= 4));
  assert.equal(decisions.at(-1)!.d.desired, 4);
  const quiet = simulate(() => 0, 300, settings({ min: 2, max: 4 }), 2);
  assert.deepEqual(quiet.decisions, [], 'never below min');
});
