import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LATENCY_BUCKETS_MS } from '../router/types.js';
import { bucketDeltas, counterDelta, quantile } from './histogram.js';

const B = LATENCY_BUCKETS_MS;
const counts = (entries: Record<number, number>): number[] => {
  const c = new Array<number>(B.length + 1).fill(0);
  for (const [i, n] of Object.entries(entries)) c[Number(i)] = n;
  return c;
};

test('percentiles interpolate inside the bucket holding the rank', () => {
  // 100 requests, all in (10, 25]: spread evenly over that bucket.
  assert.equal(quantile(counts({ 2: 100 }), B, 0.5), 17.5);
  assert.equal(quantile(counts({ 2: 100 }), B, 0.95), 24.25);
  // Half in (0, 5], half in (100, 250].
  assert.equal(quantile(counts({ 0: 50, 5: 50 }), B, 0.5), 5);
  assert.equal(quantile(counts({ 0: 50, 5: 50 }), B, 0.95), 235);
  assert.equal(quantile(counts({ 0: 50, 5: 50 }), B, 0.25), 2.5);
});

test('a uniform distribution over 0–1000 ms comes out close to the truth', () => {
  const c = new Array<number>(B.length + 1).fill(0);
  for (let ms = 0.5; ms < 1000; ms++) c[B.findIndex((b) => ms <= b)]!++;
  assert.ok(Math.abs(quantile(c, B, 0.5)! - 500) < 1);
  assert.ok(Math.abs(quantile(c, B, 0.95)! - 950) < 1);
});

test('no requests: null; everything slower than the last bound: the last bound', () => {
  assert.equal(quantile(counts({}), B, 0.5), null);
  assert.equal(quantile(counts({ [B.length]: 7 }), B, 0.5), 10_000);
  assert.equal(quantile(counts({ 0: 90, [B.length]: 10 }), B, 0.95), 10_000);
});

test('deltas of cumulative counters survive a reset of their source', () => {
  const out = new Float64Array(3);
  bucketDeltas([5, 7, 9], [1, 2, 3], out);
  assert.deepEqual([...out], [4, 5, 6]);
  // One bucket went down: the router restarted, everything counted since is new.
  bucketDeltas([2, 9, 9], [5, 7, 9], out);
  assert.deepEqual([...out], [2, 9, 9]);
  assert.equal(counterDelta(10, 4), 6);
  assert.equal(counterDelta(3, 10), 3);
});
