import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { GantryError } from '../errors/index.js';
import type { AppTraffic } from '../router/types.js';
import { Scaler, type ScalerTarget } from './index.js';
import type { AppScaling } from './types.js';

const MIN = 60_000;

interface Call {
  app: string;
  n: number;
  reason: string;
}

/** In-memory deployment: records calls, takes `startMs` of fake time to start, can be made to fail or to hang. */
class FakeTarget implements ScalerTarget {
  readonly counts = new Map<string, number>();
  readonly calls: Call[] = [];
  active = 0;
  maxActive = 0;
  startMs = 840;
  fail: Error | undefined;
  /** While set, setWebCount waits for it. */
  gate: Promise<void> | undefined;
  constructor(readonly clock: { t: number }) {}
  webCount(app: string): number | undefined {
    return this.counts.get(app);
  }
  async setWebCount(app: string, n: number, reason: string): Promise<void> {
    this.calls.push({ app, n, reason });
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      await (this.gate ?? new Promise<void>((r) => setImmediate(r)));
      if ((this.counts.get(app) ?? 0) === 0 && n > 0) this.clock.t += this.startMs;
      if (this.fail) throw this.fail;
      this.counts.set(app, n);
    } finally {
      this.active -= 1;
    }
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function traffic(over: Partial<AppTraffic> = {}): AppTraffic {
  return {
    lastActive: 0,
    httpInflight: 0,
    webSockets: 0,
    requests: 0,
    errors: 0,
    latencyBuckets: [],
    latencySumMs: 0,
    ...over,
  };
}

function settings(over: Partial<AppScaling> = {}): AppScaling {
  return { min: 0, max: null, concurrency: 10, idleTimeoutMs: 15 * MIN, affinity: false, base: 1, ...over };
}

function setup(opts: { windowMs?: number } = {}) {
  const clock = { t: 1_000_000 };
  const target = new FakeTarget(clock);
  const load = new Map<string, AppTraffic>();
  const events: { app: string; kind: string; message: string }[] = [];
  const logs: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => void logs.push(s) });
  const scaler = new Scaler({
    target,
    traffic: (app) => load.get(app),
    record: (app, kind, message) => events.push({ app, kind, message }),
    logger,
    windowMs: opts.windowMs ?? 60_000,
    now: () => clock.t,
  });
  /** Advances the fake clock by `ms` in 1 s ticks. */
  const run = async (ms: number) => {
    for (let left = ms; left > 0; left -= 1000) {
      clock.t += Math.min(1000, left);
      await scaler.tick();
    }
  };
  return { clock, target, load, events, logs, scaler, run };
}

test('concurrent wakes start the app once, and the event says how long it took', async () => {
  const { target, events, scaler } = setup();
  target.counts.set('sales', 0);
  await scaler.configure('sales', settings());
  const gate = deferred();
  target.gate = gate.promise;
  const waiters = Array.from({ length: 100 }, () => scaler.wake('sales'));
  assert.equal(scaler.state('sales').state, 'waking');
  gate.resolve();
  await Promise.all(waiters);
  assert.deepEqual(target.calls, [{ app: 'sales', n: 1, reason: 'a request arrived' }]);
  assert.deepEqual(events, [
    { app: 'sales', kind: 'wake', message: 'woke up for a request: web.1 serving after 840 ms' },
  ]);
  assert.deepEqual(scaler.state('sales'), { state: 'awake', replicas: 1, desired: 1 });
  await scaler.wake('sales');
  assert.equal(target.calls.length, 1, 'waking an awake app does nothing');
});

test('a failed wake rejects every waiter, and a later wake tries again', async () => {
  const { target, events, scaler } = setup();
  target.counts.set('sales', 0);
  await scaler.configure('sales', settings({ base: 2 }));
  target.fail = new GantryError('GANTRY_HEALTHCHECK_FAILED', 'web.1 exited with status 1');
  const results = await Promise.allSettled([
    scaler.wake('sales'),
    scaler.wake('sales'),
    scaler.wake('sales'),
  ]);
  assert.ok(results.every((r) => r.status === 'rejected' && r.reason === target.fail));
  assert.equal(target.calls.length, 1);
  assert.equal(
    events[0]?.message,
    'failed to wake up for a request after 840 ms: web.1 exited with status 1',
  );
  assert.equal(scaler.state('sales').state, 'asleep');
  target.fail = undefined;
  await scaler.wake('sales');
  assert.deepEqual(
    target.calls.map((c) => c.n),
    [2, 2],
    'fixed app wakes to its formation',
  );
  assert.equal(scaler.state('sales').replicas, 2);
});

test('wake refuses an app that has no deployment', async () => {
  const { scaler, target } = setup();
  await assert.rejects(scaler.wake('ghost'), { code: 'GANTRY_NO_RELEASE' });
  assert.equal(target.calls.length, 0);
  assert.deepEqual(scaler.state('ghost'), { state: 'stopped', replicas: 0, desired: 0 });
});

test('idle sleep happens at exactly the timeout, not before', async () => {
  const { clock, target, events, scaler, load } = setup();
  target.counts.set('sales', 1);
  await scaler.configure('sales', settings());
  const t0 = clock.t;
  load.set('sales', traffic({ lastActive: t0 - 5 * MIN }));
  clock.t = t0 + 15 * MIN - 1;
  await scaler.tick();
  assert.equal(target.calls.length, 0, 'configure restarted the idle clock');
  clock.t = t0 + 15 * MIN;
  await scaler.tick();
  assert.deepEqual(target.calls, [{ app: 'sales', n: 0, reason: 'no requests for 15 min' }]);
  assert.deepEqual(events, [
    { app: 'sales', kind: 'sleep', message: 'went to sleep: no requests for 15 min' },
  ]);
  assert.deepEqual(scaler.state('sales'), { state: 'asleep', replicas: 0, desired: 0 });
  await scaler.tick();
  assert.equal(target.calls.length, 1);
});

test('a silent WebSocket does not keep the app awake; its frames do', async () => {
  const { clock, target, scaler, load } = setup();
  target.counts.set('sales', 1);
  await scaler.configure('sales', settings({ idleTimeoutMs: 10 * MIN }));
  const t0 = clock.t;
  const ws = traffic({ lastActive: t0, webSockets: 1 });
  load.set('sales', ws);
  clock.t = t0 + 8 * MIN;
  ws.lastActive = clock.t; // a frame
  clock.t = t0 + 17 * MIN;
  await scaler.tick();
  assert.equal(target.calls.length, 0, 'a frame 9 minutes ago keeps it awake');
  clock.t = t0 + 18 * MIN;
  await scaler.tick();
  assert.deepEqual(
    target.calls.map((c) => c.n),
    [0],
    'the socket is open but silent for 10 min',
  );
});

test('a request in flight blocks sleep however long it runs', async () => {
  const { clock, target, scaler, load } = setup();
  target.counts.set('sales', 1);
  await scaler.configure('sales', settings({ idleTimeoutMs: MIN }));
  const t = traffic({ lastActive: clock.t, httpInflight: 1 });
  load.set('sales', t);
  clock.t += 30 * MIN;
  await scaler.tick();
  assert.equal(target.calls.length, 0);
  t.httpInflight = 0;
  await scaler.tick();
  assert.deepEqual(target.calls, [{ app: 'sales', n: 0, reason: 'no requests for 30 min' }]);
});

test('touch (a deploy went live) restarts the idle clock', async () => {
  const { clock, target, scaler } = setup();
  target.counts.set('sales', 1);
  await scaler.configure('sales', settings({ idleTimeoutMs: 10 * MIN }));
  clock.t += 9 * MIN;
  scaler.touch('sales');
  clock.t += 9 * MIN;
  await scaler.tick();
  assert.equal(target.calls.length, 0);
  clock.t += MIN;
  await scaler.tick();
  assert.equal(target.calls.length, 1);
});

test('autoscaling: up within three ticks of a burst, down only after the stable window', async () => {
  const { target, events, scaler, load, run, clock } = setup();
  target.counts.set('sales', 1);
  await scaler.configure('sales', settings({ min: 1, max: 5 }));
  const t = traffic({ lastActive: clock.t });
  load.set('sales', t);
  await run(70_000); // a full window of quiet observation
  assert.equal(target.calls.length, 0);
  t.httpInflight = 20;
  t.webSockets = 10;
  // The 6 s panic window still holds quiet samples: its average passes 10 on the third tick.
  await run(3000);
  assert.equal(target.calls.length, 1, 'scaled up within three ticks of the burst');
  assert.equal(
    events[0]?.message,
    'scaled web from 1 to 2: 15.0 requests in flight on average over the last 6 s, target 10 per process',
  );
  let upAt = 0;
  for (let i = 0; i < 10 && target.counts.get('sales') !== 3; i++) {
    await run(1000);
    upAt = clock.t;
  }
  assert.equal(target.counts.get('sales'), 3, 'ceil(30 / 10) once the panic window is mostly burst');
  assert.equal(
    events.at(-1)?.message,
    'scaled web from 2 to 3: 25.0 requests in flight on average over the last 6 s, target 10 per process',
  );
  t.httpInflight = 2;
  t.webSockets = 0;
  for (let i = 0; i < 300 && target.counts.get('sales') === 3; i++) await run(1000);
  assert.equal(clock.t - upAt, 60_000, 'scaled down exactly one stable window after the last scale-up');
  assert.equal(target.counts.get('sales'), 1, 'the whole window was low: straight to the need');
  assert.equal(
    events.at(-1)?.message,
    'scaled web from 3 to 1: 2.0 requests in flight on average over the last 1 min, target 10 per process',
  );
  assert.equal(target.maxActive, 1);
  assert.ok(events.every((e) => e.kind === 'scale'));
});

test('autoscaling never leaves [max(1, min), max]', async () => {
  const { target, scaler, load, run, events } = setup();
  target.counts.set('sales', 1);
  load.set('sales', traffic({ httpInflight: 500 }));
  await scaler.configure('sales', settings({ min: 0, max: 3 }));
  await run(20_000);
  assert.equal(target.counts.get('sales'), 3);
  assert.ok(target.calls.every((c) => c.n >= 1 && c.n <= 3));
  load.set('sales', traffic());
  await scaler.configure('sales', settings({ min: 0, max: 2 }));
  assert.equal(target.counts.get('sales'), 2);
  assert.equal(events.at(-1)?.message, 'scaled web from 3 to 2: maximum is 2');
  await scaler.configure('sales', settings({ min: 4, max: 6 }));
  assert.equal(target.counts.get('sales'), 4);
  assert.equal(events.at(-1)?.message, 'scaled web from 2 to 4: minimum is 4');
  await run(300_000);
  assert.equal(target.counts.get('sales'), 4, 'idle, but never below min');
});

test('configure: min > 0 wakes a sleeping app; a fixed app is left to ps:scale; forget stops management', async () => {
  const { target, scaler, events, run } = setup();
  target.counts.set('sales', 0);
  await scaler.configure('sales', settings({ min: 0 }));
  assert.equal(target.calls.length, 0);
  await scaler.configure('sales', settings({ min: 1 }));
  assert.deepEqual(target.calls, [{ app: 'sales', n: 1, reason: 'min is 1' }]);
  assert.equal(events.at(-1)?.message, 'woke up because min is 1: web.1 serving after 840 ms');
  await scaler.configure('sales', settings({ min: 1, base: 3 }));
  await run(5000);
  assert.equal(target.calls.length, 1, 'fixed app: base follows ps:scale, not the scaler');
  assert.equal(scaler.state('sales').desired, 3);
  await scaler.configure('sales', settings({ idleTimeoutMs: MIN }));
  await scaler.configure('sales', undefined);
  await run(5 * MIN);
  assert.equal(target.calls.length, 1, 'a forgotten app is not put to sleep');
  assert.equal(scaler.state('sales').state, 'awake');
});

test('a failed scaling operation is logged, not thrown, and retried on a later tick', async () => {
  const { target, scaler, logs, run } = setup();
  target.counts.set('sales', 0);
  target.fail = new Error('sandbox unavailable');
  await scaler.configure('sales', settings({ min: 1 }));
  assert.equal(target.calls.length, 1);
  assert.match(logs.join(''), /scaling operation failed; will retry/);
  target.fail = undefined;
  await run(5000);
  assert.equal(target.calls.length, 2);
  assert.equal(target.counts.get('sales'), 1);
});

test('operations on one app are serialized; close waits for the one under way', async () => {
  const { target, scaler, clock } = setup();
  target.counts.set('sales', 1);
  await scaler.configure('sales', settings({ idleTimeoutMs: MIN }));
  const gate = deferred();
  target.gate = gate.promise;
  clock.t += MIN;
  const ticking = scaler.tick();
  await new Promise((r) => setImmediate(r));
  assert.equal(target.calls.length, 1);
  const woken = scaler.wake('sales');
  await scaler.tick();
  assert.equal(target.active, 1, 'the wake waits for the sleep to finish');
  let closed = false;
  const closing = scaler.close().then(() => (closed = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(closed, false);
  target.gate = undefined;
  gate.resolve();
  await Promise.all([ticking, woken, closing]);
  assert.deepEqual(
    target.calls.map((c) => c.n),
    [0, 1],
  );
  assert.equal(target.maxActive, 1);
  await assert.rejects(scaler.wake('other'), { code: 'GANTRY_INTERNAL' });
});

test('sleep() puts an app to sleep now', async () => {
  const { target, scaler, events } = setup();
  target.counts.set('sales', 2);
  await scaler.configure('sales', settings());
  await scaler.sleep('sales', 'requested by alice');
  assert.deepEqual(target.calls, [{ app: 'sales', n: 0, reason: 'requested by alice' }]);
  assert.deepEqual(events, [{ app: 'sales', kind: 'sleep', message: 'went to sleep: requested by alice' }]);
  await scaler.sleep('sales');
  assert.equal(target.calls.length, 1, 'already asleep');
});

test('a fixed app awake below its minimum is brought up to it', async () => {
  const { target, scaler, events, run } = setup();
  target.counts.set('sales', 1);
  await scaler.configure('sales', settings({ min: 3, base: 1 }));
  await run(5000);
  assert.deepEqual(target.calls.at(-1), { app: 'sales', n: 3, reason: 'min is 3' });
  assert.equal(events.at(-1)?.message, 'scaled web from 1 to 3: the minimum is 3');
});
