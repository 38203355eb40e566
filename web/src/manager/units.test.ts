import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatBytesInput,
  formatDuration,
  parseBytes,
  parseCpu,
  parseDuration,
  parseWhole,
} from './units.js';

describe('parseBytes', () => {
  test('binary units, case-insensitive, with optional B/iB', () => {
    assert.equal(parseBytes('web memory', '512M'), 512 * 1024 ** 2);
    assert.equal(parseBytes('web memory', '1G'), 1024 ** 3);
    assert.equal(parseBytes('web memory', '1.5g'), 1.5 * 1024 ** 3);
    assert.equal(parseBytes('web memory', '2GiB'), 2 * 1024 ** 3);
    assert.equal(parseBytes('web memory', ' 256mb '), 256 * 1024 ** 2);
    assert.equal(parseBytes('web memory', '64 K'), 64 * 1024);
  });
  test('refuses bare numbers and nonsense, naming the field', () => {
    assert.throws(
      () => parseBytes('web memory', '512'),
      /web memory expects a size like 512M or 2G; got "512"/,
    );
    assert.throws(() => parseBytes('web memory', 'lots'), /got "lots"/);
    assert.throws(() => parseBytes('web memory', '-1G'), /expects a size/);
  });
});

test('formatBytesInput round-trips through parseBytes', () => {
  assert.equal(formatBytesInput(512 * 1024 ** 2), '512M');
  assert.equal(formatBytesInput(1024 ** 3), '1G');
  assert.equal(formatBytesInput(1536 * 1024 ** 2), '1536M');
  assert.equal(formatBytesInput(2 * 1024 ** 4), '2T');
  for (const n of [4 * 1024 ** 2, 768 * 1024 ** 2, 3 * 1024 ** 3, 100 * 1024]) {
    assert.equal(parseBytes('m', formatBytesInput(n)), n);
  }
});

describe('durations', () => {
  test('parse the CLI forms', () => {
    assert.equal(parseDuration('Idle timeout', '15m'), 15 * 60_000);
    assert.equal(parseDuration('Idle timeout', '1h30m'), 90 * 60_000);
    assert.equal(parseDuration('Idle timeout', '30S'), 30_000);
    assert.equal(parseDuration('Idle timeout', '2d'), 2 * 86_400_000);
    assert.equal(parseDuration('Idle timeout', '500ms'), 500);
  });
  test('refuse a duration without a unit', () => {
    assert.throws(() => parseDuration('Idle timeout', '15'), /Idle timeout expects a duration like 30s/);
    assert.throws(() => parseDuration('Idle timeout', ''), /expects a duration/);
  });
  test('format with the two largest units', () => {
    assert.equal(formatDuration(15 * 60_000), '15m');
    assert.equal(formatDuration(90 * 60_000), '1h30m');
    assert.equal(formatDuration(3_600_000), '1h');
    assert.equal(formatDuration(45_000), '45s');
    assert.equal(formatDuration(2 * 86_400_000 + 3 * 3_600_000 + 60_000), '2d3h');
    assert.equal(formatDuration(250), '250ms');
  });
});

test('parseCpu takes positive decimals only', () => {
  assert.equal(parseCpu('web CPU', '0.5'), 0.5);
  assert.equal(parseCpu('web CPU', '2'), 2);
  assert.throws(() => parseCpu('web CPU', '0'), /web CPU expects a number of CPU cores/);
  assert.throws(() => parseCpu('web CPU', '1 core'), /got "1 core"/);
});

test('parseWhole keeps to its bounds', () => {
  assert.equal(parseWhole('Minimum', '3', 0, 10), 3);
  assert.throws(() => parseWhole('Minimum', '11', 0, 10), /Minimum expects a whole number from 0 to 10/);
  assert.throws(() => parseWhole('Minimum', '1.5', 0, 10), /whole number/);
});
