import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGantryError } from '../errors/index.js';
import { jobId, nextRun, parseSchedule, type CronSchedule } from './cron.js';

const next = (text: string, after: string): string =>
  nextRun(parseSchedule(text), new Date(after)).toISOString().replace(':00.000Z', 'Z');

/** The first `n` runs after `after`. */
const runs = (text: string, after: string, n: number): string[] => {
  const s = parseSchedule(text);
  const out: string[] = [];
  let d = new Date(after);
  for (let i = 0; i < n; i++) {
    d = nextRun(s, d);
    out.push(d.toISOString().replace(':00.000Z', 'Z'));
  }
  return out;
};

const range = (lo: number, hi: number, step = 1): number[] => {
  const out: number[] = [];
  for (let v = lo; v <= hi; v += step) out.push(v);
  return out;
};

void test('fields: stars, lists, ranges, steps, names (any case), 7 is Sunday', () => {
  const s = parseSchedule('*/15 0-6/2 1,15 JAN-MAR,dec Sun,6-7');
  assert.deepEqual(s.minutes, [0, 15, 30, 45]);
  assert.deepEqual(s.hours, [0, 2, 4, 6]);
  assert.deepEqual(s.daysOfMonth, [1, 15]);
  assert.deepEqual(s.months, [1, 2, 3, 12]);
  assert.deepEqual(s.daysOfWeek, [0, 6]);
  assert.equal(s.daysOr, true);

  const t = parseSchedule('1-30/5 * * * mon-fri');
  assert.deepEqual(t.minutes, [1, 6, 11, 16, 21, 26]);
  assert.deepEqual(t.hours, range(0, 23));
  assert.deepEqual(t.daysOfMonth, range(1, 31));
  assert.deepEqual(t.daysOfWeek, [1, 2, 3, 4, 5]);
  assert.equal(t.daysOr, false);

  assert.deepEqual(parseSchedule('0/20 * * * *').minutes, [0, 20, 40], 'cronie: N/step runs to the end');
  assert.deepEqual(parseSchedule('* * * * 0-7').daysOfWeek, range(0, 6));
  assert.deepEqual(parseSchedule('* * * * */2').daysOfWeek, [0, 2, 4, 6]);
  assert.deepEqual(parseSchedule('*/90 * * * *').minutes, [0], 'a step past the end keeps the start');
  assert.deepEqual(parseSchedule('  5\t4  * * *  ').minutes, [5], 'any whitespace separates');
  // Vixie: a day field starting with `*` (even `*/2`) counts as unrestricted.
  assert.equal(parseSchedule('0 0 */2 * 1').daysOr, false);
  assert.equal(parseSchedule('0 0 1-31 * 1').daysOr, true);
});

void test('macros expand like Vixie cron', () => {
  const same = (a: string, b: string): void => {
    const { text: _a, ...x } = parseSchedule(a);
    const { text: _b, ...y } = parseSchedule(b);
    assert.deepEqual(x, y, a);
  };
  same('@yearly', '0 0 1 1 *');
  same('@annually', '0 0 1 1 *');
  same('@monthly', '0 0 1 * *');
  same('@weekly', '0 0 * * 0');
  same('@daily', '0 0 * * *');
  same('@midnight', '0 0 * * *');
  same('@hourly', '0 * * * *');
  same('@Daily', '0 0 * * *');
  assert.equal(parseSchedule('@daily').text, '@daily');
});

void test('bad schedules are refused naming the field and the problem', () => {
  const bad: [string, RegExp][] = [
    ['61 * * * *', /minute 61 is out of range 0-59/],
    ['* 24 * * *', /hour 24 is out of range 0-23/],
    ['* * 0 * *', /day-of-month 0 is out of range 1-31/],
    ['* * 32 * *', /day-of-month 32 is out of range 1-31/],
    ['* * * 13 *', /month 13 is out of range 1-12/],
    ['* * * 0 *', /month 0 is out of range 1-12/],
    ['* * * * 8', /day-of-week 8 is out of range 0-7/],
    ['* * * JANUARY *', /month "JANUARY" is not a number 1-12 or a name JAN-DEC/],
    ['* * * * MONDAY', /day-of-week "MONDAY" is not a number 0-7 or a name SUN-SAT/],
    ['* * * * MON-', /day-of-week "" is not a number/],
    ['a * * * *', /minute "a" is not a number 0-59$/],
    ['-5 * * * *', /minute "" is not a number/],
    ['1.5 * * * *', /minute "1.5" is not a number/],
    ['*/0 * * * *', /minute step "0" in "\*\/0" must be a whole number ≥ 1/],
    ['*/x * * * *', /minute step "x"/],
    ['1/2/3 * * * *', /minute "1\/2\/3" has more than one "\/"/],
    ['5-1 * * * *', /minute range "5-1" goes backwards/],
    ['1-2-3 * * * *', /minute "1-2-3" is not a valid range/],
    ['1,,2 * * * *', /minute "1,,2" has an empty list item/],
    ['* * * *', /must have 5 fields \(minute hour day-of-month month day-of-week\).*got 4 fields/],
    ['* * * * * *', /got 6 fields/],
    ['every day', /got 2 fields/],
    ['', /got nothing/],
    ['@reboot', /@reboot is not supported; use @hourly, @daily/],
    ['@daily 5', /@daily 5 is not supported/],
    ['0 0 30 2 *', /never runs: day-of-month 30 does not occur in February/],
    ['0 0 31 4,jun,9 *', /never runs: day-of-month 31 does not occur in April, June, September/],
  ];
  for (const [text, re] of bad) {
    assert.throws(
      () => parseSchedule(text, 'app.json: cron[0].schedule'),
      (e: unknown) =>
        isGantryError(e, 'GANTRY_INVALID_APP_JSON') &&
        e.message.startsWith(`app.json: cron[0].schedule ${JSON.stringify(text)}: `) &&
        re.test(e.message),
      `${JSON.stringify(text)} should fail with ${re}`,
    );
  }
  // Possible only some years, or through the weekday: accepted.
  parseSchedule('0 0 29 2 *');
  parseSchedule('0 0 30 2 MON');
  parseSchedule('0 0 31 2,3 *');
});

void test('nextRun is strictly after, to the minute, in UTC', () => {
  assert.equal(next('*/15 * * * *', '2024-05-10T10:07:30.500Z'), '2024-05-10T10:15Z');
  assert.equal(next('*/15 * * * *', '2024-05-10T10:15:00.000Z'), '2024-05-10T10:30Z');
  assert.equal(next('*/15 * * * *', '2024-05-10T10:14:59.999Z'), '2024-05-10T10:15Z');
  assert.equal(next('* * * * *', '2024-05-10T10:15:00.000Z'), '2024-05-10T10:16Z');
  assert.equal(next('0 2 * * *', '2024-05-10T02:00:01Z'), '2024-05-11T02:00Z');
  assert.equal(next('5 * * * *', '2024-12-31T23:10Z'), '2025-01-01T00:05Z');
  assert.equal(next('59 23 31 12 *', '2024-12-31T23:59Z'), '2025-12-31T23:59Z');
  assert.equal(next('30 9 * * MON-FRI', '2024-01-05T10:00Z'), '2024-01-08T09:30Z');
  assert.deepEqual(runs('1-30/5 3 * * *', '2024-01-01T03:20Z', 3), [
    '2024-01-01T03:21Z',
    '2024-01-01T03:26Z',
    '2024-01-02T03:01Z',
  ]);
  assert.deepEqual(runs('0 */6 * * *', '2024-02-28T19:00Z', 3), [
    '2024-02-29T00:00Z',
    '2024-02-29T06:00Z',
    '2024-02-29T12:00Z',
  ]);
});

void test('macros fire when they should', () => {
  assert.equal(next('@yearly', '2024-06-01T00:00Z'), '2025-01-01T00:00Z');
  assert.equal(next('@monthly', '2024-01-31T23:59:59.999Z'), '2024-02-01T00:00Z');
  assert.equal(next('@weekly', '2024-01-01T00:00Z'), '2024-01-07T00:00Z'); // a Sunday
  assert.equal(next('@daily', '2024-02-28T00:00Z'), '2024-02-29T00:00Z');
  assert.equal(next('@hourly', '2024-02-29T23:00Z'), '2024-03-01T00:00Z');
});

void test('February 29 and month ends', () => {
  assert.deepEqual(runs('0 0 29 2 *', '2023-03-01T00:00Z', 3), [
    '2024-02-29T00:00Z',
    '2028-02-29T00:00Z',
    '2032-02-29T00:00Z',
  ]);
  // 2100 is not a leap year.
  assert.equal(next('0 0 29 2 *', '2096-03-01T00:00Z'), '2104-02-29T00:00Z');
  // Months without a 31st are skipped, not rolled over.
  assert.deepEqual(runs('0 12 31 * *', '2024-01-31T12:00Z', 4), [
    '2024-03-31T12:00Z',
    '2024-05-31T12:00Z',
    '2024-07-31T12:00Z',
    '2024-08-31T12:00Z',
  ]);
  assert.deepEqual(runs('0 0 30 * *', '2023-01-30T00:00Z', 2), ['2023-03-30T00:00Z', '2023-04-30T00:00Z']);
  assert.equal(next('0 0 31 2,3 *', '2024-01-01T00:00Z'), '2024-03-31T00:00Z');
});

void test('day-of-month and day-of-week: OR when both restricted, AND when one starts with *', () => {
  // 2024-01-01 is a Monday: Fridays are the 5th, 12th, 19th, 26th.
  assert.deepEqual(runs('0 0 13 * FRI', '2024-01-01T00:00Z', 4), [
    '2024-01-05T00:00Z',
    '2024-01-12T00:00Z',
    '2024-01-13T00:00Z',
    '2024-01-19T00:00Z',
  ]);
  // `*/2` (odd days) starts with `*`: odd days that are Fridays.
  assert.deepEqual(runs('0 0 */2 * FRI', '2024-01-01T00:00Z', 3), [
    '2024-01-05T00:00Z',
    '2024-01-19T00:00Z',
    '2024-02-09T00:00Z',
  ]);
  // `1-31/2` is the same set but restricted: odd days or Fridays.
  assert.deepEqual(runs('0 0 1-31/2 * FRI', '2024-01-01T00:00Z', 4), [
    '2024-01-03T00:00Z',
    '2024-01-05T00:00Z',
    '2024-01-07T00:00Z',
    '2024-01-09T00:00Z',
  ]);
  assert.equal(next('0 0 * * 7', '2024-01-01T00:00Z'), '2024-01-07T00:00Z');
  assert.equal(next('0 0 * * 0', '2024-01-01T00:00Z'), '2024-01-07T00:00Z');
  // Weekday alone restricted with a month: Mondays in February.
  assert.deepEqual(runs('0 0 * FEB MON', '2024-01-01T00:00Z', 2), ['2024-02-05T00:00Z', '2024-02-12T00:00Z']);
  // AND that holds only some years: February 1st on a Monday.
  assert.deepEqual(runs('0 0 */31 2 MON', '2024-01-01T00:00Z', 3), [
    '2027-02-01T00:00Z',
    '2038-02-01T00:00Z',
    '2044-02-01T00:00Z',
  ]);
});

void test('nextRun is fast for rare schedules', () => {
  const rare = ['0 0 29 2 *', '0 0 */31 2 MON', '59 23 31 12 *', '0 0 13 * FRI'].map((s) => parseSchedule(s));
  const t0 = performance.now();
  for (let i = 0; i < 250; i++)
    for (const s of rare) nextRun(s, new Date(Date.UTC(2000 + (i % 100), i % 12, 1)));
  // A minute-by-minute scan would need ~1e6 steps per Feb-29 lookup.
  assert.ok(performance.now() - t0 < 2000, `${performance.now() - t0} ms`);
});

/** Reference: day by day, then minute by minute within a matching day. */
function bruteNext(s: CronSchedule, after: Date): Date {
  const start = Math.floor(after.getTime() / 60_000) * 60_000 + 60_000;
  const day0 = Math.floor(start / 86_400_000) * 86_400_000;
  for (let d = day0; d < day0 + 12 * 366 * 86_400_000; d += 86_400_000) {
    const date = new Date(d);
    if (!s.months.includes(date.getUTCMonth() + 1)) continue;
    const dom = s.daysOfMonth.includes(date.getUTCDate());
    const dow = s.daysOfWeek.includes(date.getUTCDay());
    if (!(s.daysOr ? dom || dow : dom && dow)) continue;
    for (let m = 0; m < 1440; m++) {
      const t = d + m * 60_000;
      if (t < start) continue;
      if (s.hours.includes(Math.floor(m / 60)) && s.minutes.includes(m % 60)) return new Date(t);
    }
  }
  throw new Error(`no run for ${s.text}`);
}

void test('nextRun agrees with a brute-force search on random schedules', () => {
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const field = (lo: number, hi: number, names?: string[]): string => {
    const v = (): string => {
      const x = lo + rand(hi - lo + 1);
      return names && rand(3) === 0 ? names[x % names.length]! : String(x);
    };
    switch (rand(6)) {
      case 0:
        return '*';
      case 1:
        return `*/${1 + rand(hi - lo + 1)}`;
      case 2: {
        const a = lo + rand(hi - lo + 1);
        return `${a}-${a + rand(hi - a + 1)}`;
      }
      case 3: {
        const a = lo + rand(hi - lo + 1);
        return `${a}-${a + rand(hi - a + 1)}/${1 + rand(5)}`;
      }
      case 4:
        return [v(), v(), v()].join(',');
      default:
        return v();
    }
  };
  const months = ['DEC', 'JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV'];
  const days = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
  let checked = 0;
  while (checked < 1000) {
    const text = [field(0, 59), field(0, 23), field(1, 31), field(1, 12, months), field(0, 7, days)].join(
      ' ',
    );
    let s: CronSchedule;
    try {
      s = parseSchedule(text);
    } catch (e) {
      assert.match((e as Error).message, /never runs/, text);
      continue;
    }
    const after = new Date(Date.UTC(2020 + rand(10), rand(12), 1 + rand(28), rand(24), rand(60), rand(60)));
    assert.equal(
      nextRun(s, after).toISOString(),
      bruteNext(s, after).toISOString(),
      `${text} after ${after.toISOString()}`,
    );
    checked += 1;
  }
});

void test('jobId is short, stable and depends on schedule and command', () => {
  const id = jobId({ schedule: '@daily', command: 'python3 report.py' });
  assert.equal(id, 'be5b41802b');
  assert.match(id, /^[0-9a-f]{10}$/);
  assert.equal(jobId({ schedule: ' @daily ', command: 'python3 report.py ' }), id);
  assert.equal(
    jobId({ schedule: '0  1 * * *', command: 'x' }),
    jobId({ schedule: '0 1 * * *', command: 'x' }),
  );
  assert.notEqual(jobId({ schedule: '@hourly', command: 'python3 report.py' }), id);
  assert.notEqual(jobId({ schedule: '@daily', command: 'python3 report.py --all' }), id);
});
