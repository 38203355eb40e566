import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RuntimeEvent } from '../runtime/types.js';
import { describeRuntimeEvent, formatDelay } from './describe.js';

const ev = (kind: RuntimeEvent['kind'], detail?: string, process = 'sales.web.1'): RuntimeEvent => ({
  app: 'sales',
  deployment: 'sales@v3',
  process,
  kind,
  detail,
  time: new Date(),
});

test('runtime events become sentences with TYPE.N, the full name in process', () => {
  assert.deepEqual(describeRuntimeEvent(ev('start', 'pid 4242')), {
    kind: 'start',
    process: 'sales.web.1',
    message: 'web.1 started',
  });
  assert.deepEqual(describeRuntimeEvent(ev('crash', 'Process exited with status 1; restarting in 2000 ms')), {
    kind: 'crash',
    process: 'sales.web.1',
    message: 'web.1 crashed: Process exited with status 1; restarting in 2 s',
  });
  assert.deepEqual(describeRuntimeEvent(ev('oom', 'out of memory: web.1 exceeded its 512 MB limit')), {
    kind: 'oom',
    process: 'sales.web.1',
    message: 'out of memory: web.1 exceeded its 512 MB limit',
  });
  assert.equal(describeRuntimeEvent(ev('restart', 'attempt 2'))?.message, 'web.1 restarting (attempt 2)');
  assert.equal(describeRuntimeEvent(ev('stop', undefined, 'sales.worker.3'))?.message, 'worker.3 stopped');
  assert.equal(describeRuntimeEvent(ev('stop', undefined, 'sales.worker.3'))?.process, 'sales.worker.3');
});

test('exit is dropped: crash or stop says it better', () => {
  assert.equal(describeRuntimeEvent(ev('exit', 'Process exited with status 0')), undefined);
});

test('missing or unexpected details still read well', () => {
  assert.equal(describeRuntimeEvent(ev('crash'))?.message, 'web.1 crashed');
  assert.equal(
    describeRuntimeEvent(ev('crash', 'Process exited by signal SIGSEGV; restarting in 500 ms'))?.message,
    'web.1 crashed: Process exited by signal SIGSEGV; restarting in 0.5 s',
  );
  assert.equal(describeRuntimeEvent(ev('restart'))?.message, 'web.1 restarting');
  assert.equal(describeRuntimeEvent(ev('oom'))?.message, 'out of memory: web.1 exceeded its memory limit');
  // A process of another naming scheme is shown as is.
  assert.equal(describeRuntimeEvent(ev('start', undefined, 'other.web.1'))?.message, 'other.web.1 started');
});

test('delays read in seconds', () => {
  assert.equal(formatDelay(2000), '2 s');
  assert.equal(formatDelay(1500), '1.5 s');
  assert.equal(formatDelay(30_000), '30 s');
  assert.equal(formatDelay(12_400), '12 s');
  assert.equal(formatDelay(100), '0.1 s');
});
