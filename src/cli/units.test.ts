import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from './io.js';
import {
  formatDuration,
  formatMemory,
  inTime,
  parseBytes,
  parseCpu,
  parseDuration,
  parseWhole,
} from './units.js';

test('durations: 30s, 15m, 1h30m in; the two largest units out', () => {
  assert.equal(parseDuration('--t', '30s'), 30_000);
  assert.equal(parseDuration('--t', '15m'), 900_000);
  assert.equal(parseDuration('--t', '1h30m'), 5_400_000);
  assert.equal(parseDuration('--t', '1.5h'), 5_400_000);
  assert.equal(parseDuration('--t', '250ms'), 250);
  for (const bad of ['15', 'm', '1x', '-5m', '1h 30m', '']) {
    assert.throws(() => parseDuration('--idle-timeout', bad), UsageError, bad);
  }
  assert.throws(() => parseDuration('--idle-timeout', '15'), /--idle-timeout expects a duration like 30s/);
  assert.equal(formatDuration(900_000), '15m');
  assert.equal(formatDuration(5_400_000), '1h30m');
  assert.equal(formatDuration(3_600_000), '1h');
  assert.equal(formatDuration(3_601_000), '1h');
  assert.equal(formatDuration(90_061_000), '1d1h');
  assert.equal(formatDuration(45_000), '45s');
  assert.equal(formatDuration(500), '500ms');
});

test('sizes need a unit (binary); CPU and whole numbers are bounded', () => {
  assert.equal(parseBytes('--memory', '512M'), 512 * 1024 ** 2);
  assert.equal(parseBytes('--memory', '1.5G'), 1.5 * 1024 ** 3);
  assert.equal(parseBytes('--memory', '2GiB'), 2 * 1024 ** 3);
  assert.equal(parseBytes('--memory', '256mb'), 256 * 1024 ** 2);
  for (const bad of ['512', '1.5', 'M', '512X', '-1G'])
    assert.throws(() => parseBytes('--memory', bad), UsageError, bad);
  assert.equal(parseCpu('--cpu', '0.5'), 0.5);
  assert.equal(parseCpu('--cpu', '2'), 2);
  for (const bad of ['0', '-1', 'one', '1e3', ''])
    assert.throws(() => parseCpu('--cpu', bad), UsageError, bad);
  assert.equal(parseWhole('--min', '0', 0, 10), 0);
  for (const bad of ['-1', '11', '1.5', 'x'])
    assert.throws(() => parseWhole('--min', bad, 0, 10), UsageError, bad);
});

test('memory reads "used / limit"; next runs read "in 12m" or "due"', () => {
  assert.equal(formatMemory(84 * 1024 ** 2, 512 * 1024 ** 2), '84 MB / 512 MB');
  assert.equal(formatMemory(84 * 1024 ** 2, undefined), '84 MB');
  assert.equal(formatMemory(undefined, 1024 ** 3), '— / 1 GB');
  assert.equal(formatMemory(undefined, undefined), '');
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(inTime('2026-01-01T00:12:00Z', now), 'in 12m');
  assert.equal(inTime('2025-12-31T23:59:00Z', now), 'due');
  assert.equal(inTime(null, now), '—');
});
