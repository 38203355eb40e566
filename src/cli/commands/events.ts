/** events, metrics: what happened to an app and how it is doing. */
import type { Command } from 'commander';
import type { MetricSeries } from '../client.js';
import { appCommand, type AppOptions, type Context } from '../context.js';
import { heading, json, table, UsageError } from '../io.js';
import { formatBytes, parseWhole, shortTime } from '../units.js';

export const EVENTS_MAX = 1000;
/** Rows of the metrics table, whatever the range. */
const METRIC_ROWS = 12;

/** `sales.web.1` → `web.1` (the app is in the heading). */
export const shortProcess = (app: string, process: string | null): string =>
  process === null ? '—' : process.startsWith(`${app}.`) ? process.slice(app.length + 1) : process;

type Point = MetricSeries['points'][number];

const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
const maxOf = (xs: (number | null)[]): number | null => {
  const known = xs.filter((x): x is number => x !== null);
  return known.length === 0 ? null : Math.max(...known);
};

/** Points folded into at most `rows` buckets: rates and CPU averaged, latency, memory and replicas at their worst. */
export function bucketPoints(points: Point[], rows = METRIC_ROWS): Point[] {
  const size = Math.max(1, Math.ceil(points.length / rows));
  const out: Point[] = [];
  for (let i = 0; i < points.length; i += size) {
    const b = points.slice(i, i + size);
    out.push({
      t: b[0]!.t,
      rps: mean(b.map((p) => p.rps)),
      p50Ms: maxOf(b.map((p) => p.p50Ms)),
      p95Ms: maxOf(b.map((p) => p.p95Ms)),
      errors: b.reduce((n, p) => n + p.errors, 0),
      cpuPercent: mean(b.map((p) => p.cpuPercent)),
      memoryBytes: Math.max(...b.map((p) => p.memoryBytes)),
      replicas: Math.max(...b.map((p) => p.replicas)),
    });
  }
  return out;
}

const ms = (v: number | null): string => (v === null ? '—' : `${Math.round(v)} ms`);
const num = (v: number): string => (v >= 10 ? v.toFixed(0) : v.toFixed(1));

export function metricsText(app: string, s: MetricSeries): string {
  const title = `${app} Metrics (last ${s.range === '1h' ? 'hour' : '24 hours'})`;
  const last = s.points.at(-1);
  if (!last) return heading(title) + 'No samples yet\n';
  const latest =
    `Latest (${shortTime(new Date(last.t).toISOString())}): ${num(last.rps)} req/s, p50 ${ms(last.p50Ms)}, ` +
    `p95 ${ms(last.p95Ms)}, ${last.errors} error${last.errors === 1 ? '' : 's'}, CPU ${num(last.cpuPercent)}%, ` +
    `memory ${formatBytes(last.memoryBytes)}, ${last.replicas} web process${last.replicas === 1 ? '' : 'es'}\n`;
  const rows = bucketPoints(s.points).map((p) => [
    new Date(p.t).toISOString().slice(11, 16),
    num(p.rps),
    ms(p.p50Ms),
    ms(p.p95Ms),
    String(p.errors),
    `${num(p.cpuPercent)}%`,
    formatBytes(p.memoryBytes),
    String(p.replicas),
  ]);
  return (
    heading(title) +
    latest +
    '\n' +
    table(rows, ['From (UTC)', 'Req/s', 'p50', 'p95', 'Errors', 'CPU', 'Memory', 'Web'])
  );
}

export function registerEvents(program: Command, ctx: Context): void {
  appCommand(
    program,
    'events',
    'list starts, stops, crashes, OOM kills, wakes, sleeps and scaling, newest first',
  )
    .option('-n, --num <n>', `how many events (1–${EVENTS_MAX})`, '50')
    .option('--json', 'output JSON')
    .action(async (opts: AppOptions & { num: string }) => {
      const limit = parseWhole('-n', opts.num, 1, EVENTS_MAX);
      const app = await ctx.app(opts);
      const events = await (await ctx.client()).listEvents(app, limit);
      if (opts.json) return ctx.out(json(events));
      if (events.length === 0) return ctx.out(`${app} has no events yet\n`);
      ctx.out(heading(`${app} Events`));
      ctx.out(
        table(
          events.map((e) => [shortTime(e.at), shortProcess(app, e.process), e.message]),
          ['Time', 'Process', 'Message'],
        ),
      );
    });

  appCommand(program, 'metrics', "show an app's requests, latency, errors, CPU, memory and replicas")
    .option('--range <range>', '1h or 24h', '1h')
    .option('--json', 'output JSON')
    .addHelpText(
      'after',
      '\nEach row covers a twelfth of the range: req/s and CPU averaged; latency, memory and replicas at their peak; errors summed.',
    )
    .action(async (opts: AppOptions & { range: string }) => {
      if (opts.range !== '1h' && opts.range !== '24h') {
        throw new UsageError(`--range expects 1h or 24h; got "${opts.range}"`);
      }
      const app = await ctx.app(opts);
      const series = await (await ctx.client()).getMetrics(app, opts.range);
      ctx.out(opts.json ? json(series) : metricsText(app, series));
    });
}
