import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppActivity, BuildInfo } from '../api/platform.js';
import { silentLogger } from '../log/index.js';
import { BoundedLog, LiveHub } from './live.js';

const build = (id: string, over: Partial<BuildInfo> = {}): BuildInfo => ({
  id,
  status: 'running',
  commit: null,
  error: null,
  releaseVersion: null,
  startedAt: new Date().toISOString(),
  finishedAt: null,
  ...over,
});

test('a build watch gets the output so far, then each chunk, then the end; late watchers get nothing', () => {
  const hub = new LiveHub({ logger: silentLogger });
  hub.buildStarted('sales', build('b1'));
  hub.buildOutput('b1', 'one\n');
  hub.buildOutput('b1', 'two\n');
  const chunks: string[] = [];
  const ends: BuildInfo[] = [];
  const w = hub.watchBuild(
    'b1',
    (c) => chunks.push(c),
    (b) => ends.push(b),
  );
  assert.equal(w?.backlog, 'one\ntwo\n');
  assert.equal(w.app, 'sales');
  assert.equal(w.build.status, 'running');
  hub.buildOutput('b1', 'three\n');
  hub.buildOutput('other', 'not mine\n');
  const final = build('b1', { status: 'succeeded', releaseVersion: 4, finishedAt: new Date().toISOString() });
  hub.buildEnded('sales', final);
  assert.deepEqual(chunks, ['three\n']);
  assert.deepEqual(ends, [final]);
  hub.buildOutput('b1', 'after the end\n');
  assert.deepEqual(chunks, ['three\n'], 'an ended build sends nothing more');
  assert.equal(
    hub.watchBuild(
      'b1',
      () => undefined,
      () => undefined,
    ),
    undefined,
  );
});

test('stop ends a build watch; a throwing listener does not keep others from their chunks', () => {
  const hub = new LiveHub({ logger: silentLogger });
  hub.buildStarted('sales', build('b2'));
  const seen: string[] = [];
  hub.watchBuild(
    'b2',
    () => {
      throw new Error('client gone');
    },
    () => undefined,
  );
  const w = hub.watchBuild(
    'b2',
    (c) => seen.push(c),
    () => seen.push('end'),
  );
  hub.buildOutput('b2', 'x');
  w?.stop();
  hub.buildOutput('b2', 'y');
  hub.buildEnded('sales', build('b2', { status: 'failed', error: 'boom' }));
  assert.deepEqual(seen, ['x']);
});

test('app activity reaches the watchers of that app only, and the all-apps listeners, until stopped', () => {
  const hub = new LiveHub({ logger: silentLogger });
  const sales: AppActivity[] = [];
  const hr: AppActivity[] = [];
  const all: string[] = [];
  const stopSales = hub.watchApp('sales', (a) => sales.push(a));
  hub.watchApp('hr', (a) => hr.push(a));
  hub.watchApp('sales', () => {
    throw new Error('broken listener');
  });
  hub.onActivity((app, a) => all.push(`${app}:${a.type}`));
  hub.buildStarted('sales', build('b3'));
  hub.emit('sales', { type: 'thumbnail', thumbnail: null });
  hub.buildEnded('sales', build('b3', { status: 'succeeded' }));
  stopSales();
  hub.emit('sales', { type: 'thumbnail', thumbnail: null });
  assert.deepEqual(
    sales.map((a) => (a.type === 'build' ? `build:${a.build.status}` : a.type)),
    ['build:running', 'thumbnail', 'build:succeeded'],
  );
  assert.deepEqual(hr, []);
  assert.deepEqual(all, ['sales:build', 'sales:thumbnail', 'sales:build', 'sales:thumbnail']);
});

test('the backlog of a chatty build is bounded: head and tail kept, the middle counted', () => {
  const hub = new LiveHub({ logger: silentLogger });
  hub.buildStarted('sales', build('b4'));
  const line = `${'x'.repeat(1023)}\n`;
  hub.buildOutput('b4', 'FIRST\n');
  for (let i = 0; i < 3000; i++) hub.buildOutput('b4', line);
  hub.buildOutput('b4', 'LAST\n');
  const backlog =
    hub.watchBuild(
      'b4',
      () => undefined,
      () => undefined,
    )?.backlog ?? '';
  assert.ok(backlog.length <= BoundedLog.MAX + 200, `backlog ${backlog.length} chars`);
  assert.ok(backlog.startsWith('FIRST\n'));
  assert.ok(backlog.endsWith('LAST\n'));
  assert.match(backlog, /\[… \d+ bytes of output omitted …\]/);
});
