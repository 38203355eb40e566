import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedLock } from './lock.js';
import { platformEnv } from './env.js';
import { effectiveFormation } from './rollout.js';

test('the lock runs one operation per key at a time, in order, and survives failures', async () => {
  const lock = new KeyedLock();
  const order: string[] = [];
  const slow = lock.run('a', async () => {
    order.push('a1 start');
    await new Promise((r) => setTimeout(r, 50));
    order.push('a1 end');
    throw new Error('boom');
  });
  const next = lock.run('a', async () => {
    order.push('a2');
    return 2;
  });
  const other = lock.run('b', async () => {
    order.push('b');
  });
  assert.ok(lock.isLocked('a'));
  await assert.rejects(slow, /boom/);
  assert.equal(await next, 2);
  await other;
  assert.deepEqual(order, ['a1 start', 'b', 'a1 end', 'a2']);
  assert.equal(lock.isLocked('a'), false);
});

test('apps learn their prefix; Dash gets no SCRIPT_NAME (it routes the full path itself)', () => {
  const flask = platformEnv({ app: 'sales', version: 3, framework: 'flask', publicUrl: 'http://h' });
  assert.equal(flask.GANTRY_BASE_PATH, '/apps/sales/');
  assert.equal(flask.SCRIPT_NAME, '/apps/sales');
  assert.equal(flask.GANTRY_RELEASE, 'v3');
  const dash = platformEnv({ app: 'sales', version: 3, framework: 'dash', publicUrl: 'http://h' });
  assert.equal(dash.DASH_REQUESTS_PATHNAME_PREFIX, '/apps/sales/');
  assert.equal(dash.DASH_ROUTES_PATHNAME_PREFIX, '/apps/sales/');
  assert.equal(dash.SCRIPT_NAME, undefined);
});

test('formation: ps:scale wins, then app.json, then web=1 and others 0', () => {
  const procs = { web: 'a', worker: 'b', clock: 'c' };
  assert.deepEqual(effectiveFormation(procs, {}, {}), { web: 1, worker: 0, clock: 0 });
  assert.deepEqual(effectiveFormation(procs, { worker: 2 }, { web: 3, clock: 1 }), {
    web: 3,
    worker: 2,
    clock: 1,
  });
  assert.deepEqual(effectiveFormation(procs, { web: 0 }, { web: 3 }), { web: 0, worker: 0, clock: 0 });
});
