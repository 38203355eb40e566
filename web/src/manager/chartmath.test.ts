import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lastIndex, linePath, maxOf, niceCeil } from './chartmath.js';

test('niceCeil rounds up to 1, 2, 2.5 or 5 times a power of ten', () => {
  assert.equal(niceCeil(0), 1);
  assert.equal(niceCeil(0.7), 1);
  assert.equal(niceCeil(1), 1);
  assert.equal(niceCeil(1.2), 2);
  assert.equal(niceCeil(2.2), 2.5);
  assert.equal(niceCeil(3), 5);
  assert.equal(niceCeil(7), 10);
  assert.equal(niceCeil(420), 500);
  assert.equal(niceCeil(0.013), 0.02);
  assert.equal(niceCeil(600 * 1024 ** 2), 1e9);
});

test('maxOf skips nulls', () => {
  assert.equal(
    maxOf([
      [1, null, 3],
      [null, 7],
    ]),
    7,
  );
  assert.equal(maxOf([[null], []]), 0);
});

test('linePath breaks at nulls', () => {
  const d = linePath(
    [1, 2, null, 4],
    (i) => i * 10,
    (v) => 100 - v,
  );
  assert.equal(d, 'M0 99L10 98M30 96');
  assert.equal(
    linePath(
      [null, null],
      (i) => i,
      (v) => v,
    ),
    '',
  );
});

test('lastIndex finds the newest sample', () => {
  assert.equal(lastIndex([1, 2, null]), 1);
  assert.equal(lastIndex([null]), -1);
});
