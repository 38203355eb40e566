import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summaries, tables, type Round } from './report.js';

const round = (i: number, r: Partial<Round>): Round => ({ round: i, order: '', errors: [], ...r });

test('costs are paired per round, so a slow round does not leak into another', () => {
  const rounds = [
    round(0, { ttfbMs: 120, ownListenMs: 100, sandboxListenMs: 105, cgroupListenMs: 115 }),
    round(1, { ttfbMs: 420, ownListenMs: 400, sandboxListenMs: 405, cgroupListenMs: 415 }),
    round(2, { ttfbMs: 220, sandboxListenMs: 205, errors: ['own: boom'] }),
  ];
  const s = summaries(rounds);
  assert.equal(s.sandboxCost!.p50, 5);
  assert.equal(s.cgroupCost!.p50, 10);
  assert.equal(s.rest!.p50, 5);
  assert.equal(s.overhead!.n, 2, 'a round without its own boot has no overhead');
  assert.equal(s.ttfb!.n, 3);

  const lines = tables([{ name: 'a', label: 'App A', rounds }], new Map([['a', s]]));
  const row = lines.find((l) => l.startsWith('| App A | 3 |'));
  assert.ok(row, lines.join('\n'));
  assert.match(row, /\| 1 \|$/, 'one error counted');
  assert.ok(lines.includes('error a round 2: own: boom'));
  const where = lines.filter((l) => l.startsWith('| App A |'))[1]!;
  assert.match(where, /\| \+5 ms \| \+10 ms \|/);
});
