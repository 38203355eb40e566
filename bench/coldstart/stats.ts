/** Percentiles of the cold-start rounds, and reading a wake's milestones from Gantry's own records. */

/** Linear interpolation between closest ranks (numpy's default); NaN for no samples. */
export function percentile(xs: readonly number[], p: number): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const rank = (p / 100) * (v.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return v[lo]! + (v[hi]! - v[lo]!) * (rank - lo);
}

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  min: number;
  max: number;
}

/** Summary of the finite values (rounds that failed or lack a figure are left out). */
export function summarize(xs: readonly (number | undefined)[]): Summary {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
  return {
    n: v.length,
    p50: percentile(v, 50),
    p95: percentile(v, 95),
    min: v.length ? Math.min(...v) : NaN,
    max: v.length ? Math.max(...v) : NaN,
  };
}

/** Milliseconds from a scaler wake event ("woke up for a request: web.1 serving after 312 ms"). */
export function wakeEventMs(message: string): number | undefined {
  const m = /serving after (\d+(?:\.\d+)?) (ms|s)\b/.exec(message);
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

export interface LogEntry {
  /** Epoch ms. */
  at: number;
  process: string;
  text: string;
}

/** Parses `gantry logs` text: `ISO-TIME APP.TYPE.N: text` per line; other lines are skipped. */
export function parseLogs(text: string): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) ([^\s:]+): (.*)$/.exec(line);
    if (!m) continue;
    const at = Date.parse(m[1]!);
    if (Number.isFinite(at)) out.push({ at, process: m[2]!, text: m[3]! });
  }
  return out;
}

export interface WakeMarks {
  /** Gantry logged "Starting process" for the web process. */
  spawnAt?: number;
  /** The app's own "listening" line reached Gantry. */
  listenAt?: number;
}

/** The first web process start at or after `since` (epoch ms), and the app's listening line after it. */
export function wakeMarks(
  entries: readonly LogEntry[],
  app: string,
  since: number,
  listen: RegExp,
): WakeMarks {
  const web = entries.filter((e) => e.process.startsWith(`${app}.web.`) && e.at >= since);
  const start = web.find((e) => e.text.startsWith('Starting process'));
  if (!start) return {};
  const up = web.find((e) => e.at >= start.at && e.process === start.process && listen.test(e.text));
  return { spawnAt: start.at, listenAt: up?.at };
}
