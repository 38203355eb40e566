import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickLeastOutstanding, type Cursor } from './balancer.js';

const mk = (...counts: number[]) => counts.map((inflight, i) => ({ id: i, inflight }));

void test('empty and single lists', () => {
  const c: Cursor = { next: 0 };
  assert.equal(pickLeastOutstanding([], c), undefined);
  const one = mk(7);
  assert.equal(pickLeastOutstanding(one, c), one[0]);
});

void test('picks the least outstanding', () => {
  const c: Cursor = { next: 0 };
  const items = mk(3, 1, 2);
  assert.equal(pickLeastOutstanding(items, c)?.id, 1);
  items[2]!.inflight = 0;
  assert.equal(pickLeastOutstanding(items, c)?.id, 2);
});

void test('ties rotate round-robin', () => {
  const c: Cursor = { next: 0 };
  const items = mk(0, 0, 0);
  const seen = [0, 1, 2, 3, 4, 5].map(() => pickLeastOutstanding(items, c)!.id);
  assert.deepEqual(seen, [0, 1, 2, 0, 1, 2]);
  const busy = mk(2, 5, 2);
  const picks = [0, 1, 2, 3].map(() => pickLeastOutstanding(busy, c)!.id);
  assert.deepEqual(picks.sort(), [0, 0, 2, 2]);
});

void test('simulated load stays balanced when counts change', () => {
  const c: Cursor = { next: 0 };
  const items = mk(0, 0);
  for (let i = 0; i < 10; i++) pickLeastOutstanding(items, c)!.inflight++;
  assert.deepEqual(
    items.map((x) => x.inflight),
    [5, 5],
  );
});

void test('a cursor past the end (route shrank) wraps', () => {
  const c: Cursor = { next: 9 };
  const items = mk(0, 0);
  assert.equal(pickLeastOutstanding(items, c)?.id, 0);
  assert.equal(c.next, 1);
});
