/**
 * FakePlatform's cron jobs, one-off runs (through fakeShell), metrics and
 * Prometheus text, in memory, over the per-app state of ./fake-elastic.ts.
 */
import { GantryError } from '../errors/index.js';
import { jobId, nextRun, parseSchedule } from '../jobs/index.js';
import type { CronJobInfo, CronRunInfo, MetricPoint, MetricSeries, OutputSink } from './platform.js';
import type { ElasticApp, FakeElastic } from './fake-elastic.js';
import { fakeShell, type FakeExit } from './fake-shell.js';

/** A cron job's id, as the real scheduler makes it. */
export const cronJobId = (schedule: string, command: string): string => jobId({ schedule, command });

const HOUR = 3600_000;
/** The next run of a schedule, by the real cron parser. */
const nextRunAt = (schedule: string): string => nextRun(parseSchedule(schedule), new Date()).toISOString();

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

export class FakeJobs {
  readonly #elastic: FakeElastic;
  readonly #find: (name: string) => ElasticApp;
  readonly #all: () => Iterable<ElasticApp>;
  /** One-off runs and cron runs in progress. */
  running = 0;
  /** How the last one-off run ended (tests check that a disconnect stopped it). */
  lastRunExit: FakeExit | undefined;

  constructor(elastic: FakeElastic, find: (name: string) => ElasticApp, all: () => Iterable<ElasticApp>) {
    this.#elastic = elastic;
    this.#find = find;
    this.#all = all;
  }

  listCronJobs(name: string): CronJobInfo[] {
    const a = this.#find(name);
    return a.elastic.cron.map(({ schedule, command }) => {
      const id = cronJobId(schedule, command);
      const last = a.elastic.runs.find((r) => r.jobId === id);
      const lastRun = last ? (({ output: _output, ...r }) => r)(last) : null;
      return {
        id,
        schedule,
        command,
        nextRunAt: a.info.currentVersion === null ? null : nextRunAt(schedule),
        lastRun,
      };
    });
  }

  listCronRuns(name: string, opts: { jobId?: string; limit: number }): CronRunInfo[] {
    return this.#find(name)
      .elastic.runs.filter((r) => opts.jobId === undefined || r.jobId === opts.jobId)
      .slice(0, opts.limit)
      .map(({ output: _output, ...r }) => r);
  }

  async runCronJob(
    name: string,
    jobId: string,
    output: OutputSink,
    signal?: AbortSignal,
  ): Promise<CronRunInfo> {
    const a = this.#elastic.deployed(name);
    const job = a.elastic.cron.find((j) => cronJobId(j.schedule, j.command) === jobId);
    if (!job) throw new GantryError('GANTRY_NOT_FOUND', `${name} has no cron job ${jobId}`);
    if (a.elastic.runs.some((r) => r.jobId === jobId && r.status === 'running')) {
      throw new GantryError('GANTRY_CONFLICT', `cron job ${jobId} is running already`);
    }
    const run: CronRunInfo = {
      id: `r${a.elastic.runs.length + 1}`,
      jobId,
      schedule: job.schedule,
      command: job.command,
      trigger: 'manual',
      status: 'running',
      startedAt: new Date().toISOString(),
      finishedAt: null,
      exitCode: null,
      output: '',
    };
    a.elastic.runs.unshift(run);
    const exit = await this.#shell(
      a,
      job.command.split(/\s+/).filter(Boolean),
      (text) => {
        run.output = (run.output + text).slice(-64 * 1024);
        output(text);
      },
      signal,
    );
    run.status = exit.exitCode === 0 ? 'succeeded' : 'failed';
    run.exitCode = exit.exitCode;
    run.finishedAt = new Date().toISOString();
    this.#elastic.event(
      a,
      'cron',
      null,
      `cron ${jobId} (${job.command}) ${run.status}, exit ${exit.exitCode ?? exit.signal}`,
    );
    return { ...run };
  }

  async runCommand(
    name: string,
    argv: string[],
    output: OutputSink,
    signal?: AbortSignal,
  ): Promise<FakeExit> {
    const a = this.#elastic.deployed(name);
    const exit = await this.#shell(a, argv, output, signal);
    this.lastRunExit = exit;
    return exit;
  }

  async #shell(a: ElasticApp, argv: string[], output: OutputSink, signal?: AbortSignal): Promise<FakeExit> {
    this.running++;
    try {
      return await fakeShell(argv, a.config, output, signal);
    } finally {
      this.running--;
    }
  }

  getMetrics(name: string, range: '1h' | '24h'): MetricSeries {
    const a = this.#find(name);
    const stepSeconds = range === '1h' ? 60 : 300;
    const step = stepSeconds * 1000;
    const end = Math.floor(Date.now() / step) * step;
    const start = end - (range === '1h' ? HOUR : 24 * HOUR);
    const byT = new Map(a.elastic.metrics.map((p) => [Math.floor(p.t / step) * step, p]));
    const points: MetricPoint[] = [];
    for (let t = start + step; t <= end; t += step) {
      points.push(
        byT.get(t) ?? {
          t,
          rps: 0,
          p50Ms: null,
          p95Ms: null,
          errors: 0,
          cpuPercent: 0,
          memoryBytes: 0,
          replicas: this.#elastic.webCount(a),
        },
      );
    }
    return { app: name, range, stepSeconds, points };
  }

  prometheus(): string {
    const apps = [...this.#all()];
    const lines: string[] = [];
    const gauge = (metric: string, help: string, value: (a: ElasticApp) => number, type = 'gauge'): void => {
      lines.push(`# HELP ${metric} ${help}`, `# TYPE ${metric} ${type}`);
      for (const a of apps) lines.push(`${metric}{app="${a.info.name}"} ${value(a)}`);
    };
    gauge('gantry_app_replicas', 'Web processes running.', (a) => this.#elastic.webCount(a));
    gauge('gantry_app_asleep', '1 when the app is scaled to zero.', (a) => (a.elastic.asleep ? 1 : 0));
    gauge(
      'gantry_app_errors_total',
      '5xx responses.',
      (a) => sum(a.elastic.metrics.map((p) => p.errors)),
      'counter',
    );
    return `${lines.join('\n')}\n`;
  }
}
