import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { testApi, type TestApi } from './testing.js';
import { ROBOTS_TXT } from './routes/meta.js';
import type { FakePlatform } from './fake-platform.js';

const MiB = 1024 ** 2;

let t: TestApi;
let app: FastifyInstance;
let platform: FakePlatform;
let auth: Record<string, string>;

before(async () => {
  t = await testApi();
  ({ app, platform, auth } = t);
  await t.createApp('demo');
  await t.createApp('fresh');
  platform.deployFake('demo', { processTypes: { web: 'python app.py', worker: 'python work.py' } });
});
after(() => t.close());

const audit = async (action: string) =>
  (await t.identity.directory.listAudit({ action, limit: 10 })).map((e) => e.detail);

void describe('scaling', () => {
  void test('GET shows the effective settings, which ones are custom, the state and replicas', async () => {
    const r = await app.inject({ url: '/api/apps/demo/scaling', headers: auth });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), {
      settings: { min: 0, max: null, concurrency: 10, idleTimeoutMs: 900_000, affinity: false },
      custom: [],
      state: 'awake',
      replicas: 1,
      desired: 1,
      maxReplicas: 10,
    });
    const fresh = await app.inject({ url: '/api/apps/fresh/scaling', headers: auth });
    assert.equal(fresh.json().state, 'stopped');
    assert.equal(fresh.json().replicas, 0);
  });

  void test('PATCH passes exactly the given settings; null resets (it is not coerced to 0)', async () => {
    const set = await app.inject({
      method: 'PATCH',
      url: '/api/apps/demo/scaling',
      headers: auth,
      payload: { min: 0, max: 4, concurrency: 20, idleTimeoutMs: 60_000, affinity: true },
    });
    assert.equal(set.statusCode, 200, set.body);
    assert.deepEqual(platform.calls.at(-1), {
      method: 'setScaling',
      args: ['demo', { min: 0, max: 4, concurrency: 20, idleTimeoutMs: 60_000, affinity: true }],
    });
    assert.deepEqual(set.json().custom.sort(), ['affinity', 'concurrency', 'idleTimeoutMs', 'max', 'min']);
    assert.equal(set.json().replicas, 1, 'autoscaled between max(1, min) and max');

    const reset = await app.inject({
      method: 'PATCH',
      url: '/api/apps/demo/scaling',
      headers: auth,
      payload: { max: null, affinity: null, concurrency: null, idleTimeoutMs: null },
    });
    assert.equal(reset.statusCode, 200, reset.body);
    assert.deepEqual(platform.calls.at(-1)!.args[1], {
      max: null,
      affinity: null,
      concurrency: null,
      idleTimeoutMs: null,
    });
    assert.deepEqual(reset.json().custom, ['min']);
    assert.equal(reset.json().settings.max, null);
    // min's lower bound is 0: a union schema would let Ajv coerce this null to 0.
    const min = await app.inject({
      method: 'PATCH',
      url: '/api/apps/demo/scaling',
      headers: auth,
      payload: { min: null },
    });
    assert.deepEqual(platform.calls.at(-1)!.args[1], { min: null });
    assert.deepEqual(min.json().custom, []);
    assert.deepEqual(await audit('app.scaling'), [
      { change: { min: null } },
      { change: { max: null, affinity: null, concurrency: null, idleTimeoutMs: null } },
      { change: { min: 0, max: 4, concurrency: 20, idleTimeoutMs: 60_000, affinity: true } },
    ]);
  });

  void test('PATCH refuses nonsense with 400 before the platform, and the server bounds from it', async () => {
    const before = platform.calls.length;
    for (const payload of [
      {},
      { min: -1 },
      { max: 0 },
      { min: 1.5 },
      { concurrency: 0 },
      { idleTimeoutMs: 10 },
      { idleTimeoutMs: 2 ** 31 },
      { affinity: 'maybe' },
      { min: 5, max: 2 },
    ]) {
      const r = await app.inject({ method: 'PATCH', url: '/api/apps/demo/scaling', headers: auth, payload });
      assert.equal(r.statusCode, 400, `${JSON.stringify(payload)}: ${r.body}`);
      assert.equal(r.json().error.code, 'GANTRY_BAD_REQUEST');
    }
    assert.equal(platform.calls.length, before);
    const big = await app.inject({
      method: 'PATCH',
      url: '/api/apps/demo/scaling',
      headers: auth,
      payload: { max: 50 },
    });
    assert.equal(big.statusCode, 400);
    assert.match(big.json().error.message, /at most 10 web processes/);
  });

  void test('ps:scale of web on an autoscaled app is a 409 that says what to do', async () => {
    await app.inject({ method: 'PATCH', url: '/api/apps/demo/scaling', headers: auth, payload: { max: 3 } });
    const r = await app.inject({
      method: 'PATCH',
      url: '/api/apps/demo/formation',
      headers: auth,
      payload: { web: 2 },
    });
    assert.equal(r.statusCode, 409, r.body);
    assert.equal(r.json().error.code, 'GANTRY_CONFLICT');
    assert.match(r.json().error.message, /autoscaled .*autoscale:set/);
    const worker = await app.inject({
      method: 'PATCH',
      url: '/api/apps/demo/formation',
      headers: auth,
      payload: { worker: 2 },
    });
    assert.equal(worker.statusCode, 200, 'other types still scale by hand');
    await app.inject({
      method: 'PATCH',
      url: '/api/apps/demo/scaling',
      headers: auth,
      payload: { max: null },
    });
  });

  void test('sleep (204) and wake (200, the new state); both need a release; ps and events follow', async () => {
    for (const op of ['sleep', 'wake']) {
      const r = await app.inject({ method: 'POST', url: `/api/apps/fresh/${op}`, headers: auth });
      assert.equal(r.statusCode, 409, r.body);
      assert.equal(r.json().error.code, 'GANTRY_NO_RELEASE');
    }
    const slept = await app.inject({ method: 'POST', url: '/api/apps/demo/sleep', headers: auth });
    assert.equal(slept.statusCode, 204, slept.body);
    assert.equal(slept.body, '');
    const state = (await app.inject({ url: '/api/apps/demo/scaling', headers: auth })).json();
    assert.equal(state.state, 'asleep');
    assert.equal(state.replicas, 0);
    const ps = (await app.inject({ url: '/api/apps/demo/ps', headers: auth })).json();
    assert.deepEqual(
      ps.processes.map((p: { name: string }) => p.name),
      ['demo.worker.1', 'demo.worker.2'],
    );

    const woke = await app.inject({ method: 'POST', url: '/api/apps/demo/wake', headers: auth });
    assert.equal(woke.statusCode, 200, woke.body);
    assert.equal(woke.json().state, 'awake');
    assert.equal(woke.json().replicas, 1);
    const events = (await app.inject({ url: '/api/apps/demo/events?limit=2', headers: auth })).json().events;
    assert.deepEqual(
      events.map((e: { kind: string }) => e.kind),
      ['wake', 'sleep'],
      'newest first',
    );
    assert.equal((await audit('app.sleep')).length, 1);
    assert.equal((await audit('app.wake')).length, 1);
  });
});

void describe('limits', () => {
  void test('GET: effective limits per Procfile type, defaults, maxima, enforcement', async () => {
    const r = await app.inject({ url: '/api/apps/demo/limits', headers: auth });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), {
      types: {
        web: { memoryBytes: 1024 * MiB, pids: 1024 },
        worker: { memoryBytes: 1024 * MiB, pids: 1024 },
      },
      custom: {},
      defaults: { memoryBytes: 1024 * MiB, pids: 1024 },
      maxima: { memoryBytes: 8192 * MiB, pids: 4096 },
      enforced: true,
      cgroup: 'v2',
    });
  });

  void test('PUT sets a type, DELETE resets it; ps reports limits and usage', async () => {
    const put = await app.inject({
      method: 'PUT',
      url: '/api/apps/demo/limits/web',
      headers: auth,
      payload: { memoryBytes: 512 * MiB, cpu: 0.5 },
    });
    assert.equal(put.statusCode, 200, put.body);
    assert.deepEqual(platform.calls.at(-1), {
      method: 'setLimits',
      args: ['demo', 'web', { memoryBytes: 512 * MiB, cpu: 0.5 }],
    });
    assert.deepEqual(put.json().custom, { web: { memoryBytes: 512 * MiB, cpu: 0.5 } });
    assert.deepEqual(put.json().types.web, { memoryBytes: 512 * MiB, cpu: 0.5, pids: 1024 });

    platform.setUsage('demo', 'demo.web.1', { cpuPercent: 12.5, memoryBytes: 84 * MiB });
    const [web] = (await app.inject({ url: '/api/apps/demo/ps', headers: auth })).json().processes;
    assert.deepEqual(web.limits, { memoryBytes: 512 * MiB, cpu: 0.5, pids: 1024 });
    assert.equal(web.usage.cpuPercent, 12.5);
    assert.equal(web.usage.memoryBytes, 84 * MiB);
    assert.ok(Number.isFinite(Date.parse(web.usage.at)));
    assert.equal(web.oomKills, 0);

    const del = await app.inject({ method: 'DELETE', url: '/api/apps/demo/limits/web', headers: auth });
    assert.equal(del.statusCode, 200, del.body);
    assert.deepEqual(platform.calls.at(-1), { method: 'setLimits', args: ['demo', 'web', null] });
    assert.deepEqual(del.json().custom, {});
    assert.deepEqual(await audit('app.limits'), [
      { type: 'web', limits: null },
      { type: 'web', limits: { memoryBytes: 512 * MiB, cpu: 0.5 } },
    ]);
  });

  void test('PUT refuses an empty body, tiny memory, bad types and values over the maxima', async () => {
    const put = (type: string, payload: object) =>
      app.inject({ method: 'PUT', url: `/api/apps/demo/limits/${type}`, headers: auth, payload });
    for (const [type, body] of [
      ['web', {}],
      ['web', { memoryBytes: 512 }],
      ['web', { cpu: 0 }],
      ['web', { pids: 0 }],
      ['Bad_Type', { cpu: 1 }],
      ['web;id', { cpu: 1 }],
    ] as const) {
      const r = await put(type, body);
      assert.equal(r.statusCode, 400, `${type} ${JSON.stringify(body)}: ${r.body}`);
    }
    const over = await put('web', { memoryBytes: 16 * 1024 * MiB });
    assert.equal(over.statusCode, 400);
    assert.match(over.json().error.message, /maximum of 8 GB/);
  });
});

void describe('events and metrics', () => {
  void test('events: limit is bounded; messages as recorded', async () => {
    platform.event('demo', 'oom', 'demo.web.1', 'out of memory: web.1 exceeded its 512 MB limit');
    const r = await app.inject({ url: '/api/apps/demo/events?limit=1', headers: auth });
    assert.deepEqual(
      r
        .json()
        .events.map((e: { kind: string; process: string; message: string }) => [
          e.kind,
          e.process,
          e.message,
        ]),
      [['oom', 'demo.web.1', 'out of memory: web.1 exceeded its 512 MB limit']],
    );
    for (const q of ['limit=0', 'limit=1001', 'limit=x']) {
      assert.equal(
        (await app.inject({ url: `/api/apps/demo/events?${q}`, headers: auth })).statusCode,
        400,
        q,
      );
    }
  });

  void test('metrics: 1h by default, 24h on request, anything else refused', async () => {
    const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    platform.addMetric('demo', {
      t: t0,
      rps: 2.5,
      p50Ms: 12,
      p95Ms: 40,
      errors: 1,
      cpuPercent: 7,
      memoryBytes: 90 * MiB,
      replicas: 1,
    });
    const hour = (await app.inject({ url: '/api/apps/demo/metrics', headers: auth })).json();
    assert.equal(hour.range, '1h');
    assert.equal(hour.stepSeconds, 60);
    assert.equal(hour.points.length, 60);
    assert.deepEqual(
      hour.points.find((p: { t: number }) => p.t === t0),
      { t: t0, rps: 2.5, p50Ms: 12, p95Ms: 40, errors: 1, cpuPercent: 7, memoryBytes: 90 * MiB, replicas: 1 },
    );
    const day = (await app.inject({ url: '/api/apps/demo/metrics?range=24h', headers: auth })).json();
    assert.equal(day.points.length, 288);
    assert.equal(
      (await app.inject({ url: '/api/apps/demo/metrics?range=7d', headers: auth })).statusCode,
      400,
    );
  });
});

void describe('server-root routes', () => {
  void test('/metrics: Prometheus text for an admin token; 401 without one, 403 for others', async () => {
    const r = await app.inject({ url: '/metrics', headers: auth });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(r.body, /^# HELP gantry_app_replicas .*\n# TYPE gantry_app_replicas gauge\n/);
    assert.match(r.body, /^gantry_app_replicas\{app="demo"\} 1$/m);
    assert.equal((await app.inject({ url: '/metrics' })).statusCode, 401);
    await t.identity.user('dev', 'developer');
    const dev = { authorization: `Bearer ${await t.identity.token('dev')}` };
    assert.equal((await app.inject({ url: '/metrics', headers: dev })).statusCode, 403);
    const readOnly = { authorization: `Bearer ${await t.identity.token('admin', 'read')}` };
    assert.equal((await app.inject({ url: '/metrics', headers: readOnly })).statusCode, 403);
    assert.equal(
      (await app.inject({ url: '/api/metrics', headers: auth })).statusCode,
      404,
      'not under /api',
    );
  });

  void test('/robots.txt keeps crawlers out of apps and the control plane, for anyone', async () => {
    const r = await app.inject({ url: '/robots.txt' });
    assert.equal(r.statusCode, 200);
    assert.match(r.headers['content-type'] as string, /^text\/plain/);
    assert.equal(r.body, ROBOTS_TXT);
    const rules = r.body.split('\n');
    assert.equal(rules[0], 'User-agent: *');
    for (const path of ['/apps/', '/api/', '/git/', '/login'])
      assert.ok(rules.includes(`Disallow: ${path}`), path);
  });
});
