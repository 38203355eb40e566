/**
 * Cron expressions as Vixie cron (Debian's `cron`, which Dokku's scheduler
 * uses) reads them: five fields, `*`, lists, ranges, steps, month and weekday
 * names, 7 = Sunday, and the @-macros. Schedules are in UTC, like Dokku on a
 * server left at its default time zone: `0 2 * * *` runs at 02:00 UTC.
 */
import { createHash } from 'node:crypto';
import { GantryError } from '../errors/index.js';

/** A parsed schedule. Every list is sorted and free of duplicates. */
export interface CronSchedule {
  /** The text as written (a macro stays a macro). */
  readonly text: string;
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: readonly number[];
  readonly months: readonly number[];
  /** 0 = Sunday … 6 = Saturday (7 in the text is folded into 0). */
  readonly daysOfWeek: readonly number[];
  /**
   * Vixie cron's day rule: when both day fields are restricted, a day matches
   * if either does; when either starts with `*` (even `*\/2`), both must.
   */
  readonly daysOr: boolean;
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** Where name index 0 lands (JAN = 1, SUN = 0). */
  nameBase?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
    nameBase: 1,
  },
  {
    name: 'day-of-week',
    min: 0,
    max: 7,
    names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
    nameBase: 0,
  },
];

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
/** Longest each month can be (February in a leap year). */
const MAX_MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

class FieldError extends Error {}

function parseValue(token: string, spec: FieldSpec): number {
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    if (n < spec.min || n > spec.max)
      throw new FieldError(`${spec.name} ${token} is out of range ${spec.min}-${spec.max}`);
    return n;
  }
  const i = spec.names?.indexOf(token.toUpperCase()) ?? -1;
  if (i >= 0) return i + (spec.nameBase ?? 0);
  const hint = spec.names ? ` or a name ${spec.names[0]}-${spec.names.at(-1)}` : '';
  throw new FieldError(`${spec.name} "${token}" is not a number ${spec.min}-${spec.max}${hint}`);
}

/** Expands one field into the set of values it selects. */
function parseField(text: string, spec: FieldSpec): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    if (part === '') throw new FieldError(`${spec.name} "${text}" has an empty list item`);
    const slash = part.split('/');
    if (slash.length > 2) throw new FieldError(`${spec.name} "${part}" has more than one "/"`);
    const [range = '', stepText] = slash;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0)
        throw new FieldError(`${spec.name} step "${stepText}" in "${part}" must be a whole number ≥ 1`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = spec.min;
      // `*` in day-of-week is 0-6: 7 would only repeat Sunday.
      hi = spec.name === 'day-of-week' ? 6 : spec.max;
    } else {
      const dash = range.split('-');
      if (dash.length > 2) throw new FieldError(`${spec.name} "${part}" is not a valid range`);
      lo = parseValue(dash[0] ?? '', spec);
      // cronie's `N/step`: from N to the end of the field.
      hi = dash[1] !== undefined ? parseValue(dash[1], spec) : stepText !== undefined ? spec.max : lo;
      if (hi < lo) throw new FieldError(`${spec.name} range "${range}" goes backwards`);
    }
    for (let v = lo; v <= hi; v += step) out.add(spec.name === 'day-of-week' && v === 7 ? 0 : v);
  }
  return out;
}

const sorted = (s: Set<number>): number[] => [...s].sort((a, b) => a - b);

/**
 * Parses a cron expression (5 fields or an @-macro). Throws
 * GANTRY_INVALID_APP_JSON naming the bad field; `where` starts the message
 * (e.g. `app.json: cron[0].schedule`).
 */
export function parseSchedule(text: string, where = 'cron schedule'): CronSchedule {
  const fail = (why: string): never => {
    throw new GantryError('GANTRY_INVALID_APP_JSON', `${where} ${JSON.stringify(text)}: ${why}`);
  };
  const trimmed = text.trim();
  let expanded = trimmed;
  if (trimmed.startsWith('@')) {
    const macro = MACROS[trimmed.toLowerCase()];
    if (macro === undefined)
      fail(`${trimmed} is not supported; use @hourly, @daily, @weekly, @monthly or @yearly`);
    expanded = macro!;
  }
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5)
    fail(
      `must have 5 fields (minute hour day-of-month month day-of-week) or be @hourly/@daily/@weekly/@monthly/@yearly, got ${trimmed === '' ? 'nothing' : `${parts.length} field${parts.length === 1 ? '' : 's'}`}`,
    );
  const sets: Set<number>[] = [];
  try {
    parts.forEach((p, i) => sets.push(parseField(p, FIELDS[i]!)));
  } catch (e) {
    if (e instanceof FieldError) fail(e.message);
    throw e;
  }
  const [minutes, hours, dom, months, dow] = sets.map(sorted) as [
    number[],
    number[],
    number[],
    number[],
    number[],
  ];
  const domStar = parts[2]!.startsWith('*');
  const dowStar = parts[4]!.startsWith('*');
  // With the weekday unrestricted, the days of the month alone decide: they must exist in some chosen month.
  if (!domStar && dowStar && !months.some((m) => dom[0]! <= MAX_MONTH_DAYS[m - 1]!)) {
    const names = months.map((m) => MONTH_NAMES[m - 1]).join(', ');
    fail(`never runs: day-of-month ${parts[2]} does not occur in ${names}`);
  }
  return {
    text: trimmed,
    minutes,
    hours,
    daysOfMonth: dom,
    months,
    daysOfWeek: dow,
    daysOr: !domStar && !dowStar,
  };
}

/** First value in `list` ≥ `v`, or undefined. */
function atOrAfter(list: readonly number[], v: number): number | undefined {
  for (const x of list) if (x >= v) return x;
  return undefined;
}

const daysIn = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

function dayMatches(s: CronSchedule, year: number, month: number, day: number): boolean {
  const domHit = s.daysOfMonth.includes(day);
  const dowHit = s.daysOfWeek.includes(new Date(Date.UTC(year, month - 1, day)).getUTCDay());
  return s.daysOr ? domHit || dowHit : domHit && dowHit;
}

/** How far ahead to look: the weekday/leap-year pattern repeats every 400 years. */
const HORIZON_YEARS = 400;

/**
 * The first time strictly after `after` (to the minute, UTC) when `schedule`
 * fires. Skips whole months, days and hours that cannot match, so a yearly
 * or Feb-29 schedule costs a few hundred steps at most.
 */
export function nextRun(schedule: CronSchedule, after: Date): Date {
  const start = new Date(Math.floor(after.getTime() / 60_000) * 60_000 + 60_000);
  let year = start.getUTCFullYear();
  let month = start.getUTCMonth() + 1;
  let day = start.getUTCDate();
  let hour = start.getUTCHours();
  let minute = start.getUTCMinutes();
  const nextMonth = (): void => {
    month += 1;
    if (month > 12) {
      month = 1;
      year += 1;
    }
    day = 1;
    hour = 0;
    minute = 0;
  };
  const nextDay = (): void => {
    day += 1;
    hour = 0;
    minute = 0;
    if (day > daysIn(year, month)) nextMonth();
  };
  const limit = year + HORIZON_YEARS;
  while (year <= limit) {
    if (!schedule.months.includes(month)) {
      const m = atOrAfter(schedule.months, month);
      if (m === undefined) {
        month = 12;
        nextMonth();
      } else {
        month = m - 1;
        nextMonth();
      }
      continue;
    }
    if (!dayMatches(schedule, year, month, day)) {
      nextDay();
      continue;
    }
    const h = atOrAfter(schedule.hours, hour);
    if (h === undefined) {
      nextDay();
      continue;
    }
    if (h !== hour) {
      hour = h;
      minute = 0;
    }
    const m = atOrAfter(schedule.minutes, minute);
    if (m === undefined) {
      hour += 1;
      minute = 0;
      if (hour > 23) nextDay();
      continue;
    }
    return new Date(Date.UTC(year, month - 1, day, hour, m));
  }
  // parseSchedule refuses schedules that never fire; reaching here is a bug.
  throw new GantryError(
    'GANTRY_INTERNAL',
    `cron schedule "${schedule.text}" has no run in ${HORIZON_YEARS} years`,
  );
}

/**
 * Stable short id of an app.json cron entry (what `gantry cron:run` takes):
 * 10 hex digits of sha256 over the schedule (whitespace normalised) and command.
 */
export function jobId(entry: { schedule: string; command: string }): string {
  const schedule = entry.schedule.trim().split(/\s+/).join(' ');
  return createHash('sha256').update(`${schedule}\n${entry.command.trim()}`).digest('hex').slice(0, 10);
}
