import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLogs, percentile, summarize, wakeEventMs, wakeMarks } from './stats.js';

test('percentiles interpolate between ranks and ignore non-finite values', () => {
  const xs = [10, 1, 5, 3, NaN, 7];
  assert.equal(percentile(xs, 50), 5);
  assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
  assert.equal(
    percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], 95),
    19.05,
  );
  assert.ok(Number.isNaN(percentile([], 50)));
  const s = summarize([4, undefined, 2, 9]);
  assert.deepEqual(s, { n: 3, p50: 4, p95: 8.5, min: 2, max: 9 });
});

test('wake event durations in ms and s', () => {
  assert.equal(wakeEventMs('woke up for a request: web.1 serving after 312 ms'), 312);
  assert.equal(wakeEventMs('woke up because min is 1: web.1 serving after 1.5 s'), 1500);
  assert.equal(wakeEventMs('failed to wake up for a request after 2 s: boom'), undefined);
});

test('wake marks: the web start after the request and the app line after it', () => {
  const text = [
    '2026-11-22T10:00:00.000Z cs-flask.web.1: coldstart app listening',
    '2026-11-22T10:00:01.000Z cs-flask.web.1: Starting process with command `python3 app.py`',
    '2026-11-22T10:00:05.010Z cs-flask.worker.1: Running on nothing',
    '2026-11-22T10:00:05.020Z cs-flask.web.1: Starting process with command `python3 app.py`',
    '2026-11-22T10:00:05.030Z cs-flask.web.1: State changed from starting to running',
    'garbage line',
    '2026-11-22T10:00:05.250Z cs-flask.web.1:  * Running on http://127.0.0.1:4000',
    '',
  ].join('\n');
  const entries = parseLogs(text);
  assert.equal(entries.length, 6);
  const since = Date.parse('2026-11-22T10:00:05.000Z');
  assert.deepEqual(wakeMarks(entries, 'cs-flask', since, /Running on/), {
    spawnAt: since + 20,
    listenAt: since + 250,
  });
  assert.deepEqual(wakeMarks(entries, 'cs-flask', since + 1000, /Running on/), {});
});
