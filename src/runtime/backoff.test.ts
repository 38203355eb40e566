import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, backoffDelay } from './backoff.js';

void test('backoff doubles from 1 s to a 5 min cap', () => {
  assert.deepEqual(
    [0, 1, 2, 3].map((a) => backoffDelay(a)),
    [1000, 2000, 4000, 8000],
  );
  assert.equal(backoffDelay(8), 256_000);
  assert.equal(backoffDelay(9), 300_000);
  assert.equal(backoffDelay(5000), 300_000);
});

void test('backoff starts over after a long healthy run', () => {
  const b = new Backoff({ initialMs: 10, maxMs: 1000, resetAfterMs: 5000 });
  assert.deepEqual([b.next(0), b.next(100), b.next(100)], [10, 20, 40]);
  assert.equal(b.next(5000), 10);
  assert.equal(b.next(10), 20);
});
