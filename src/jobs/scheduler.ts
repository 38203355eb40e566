/**
 * Runs apps' app.json cron entries on schedule (UTC), one run per job at a
 * time, and records every run in CronHistory. One timer serves every app: it
 * wakes for the earliest due job, at least once a minute, so a wall-clock
 * jump either way is noticed within a minute.
 */
import type { Logger } from '../log/index.js';
import type { CronEntry } from '../apps/index.js';
import type { CronJobInfo, CronRunInfo } from '../api/platform.js';
import { GantryError } from '../errors/index.js';
import { jobId, nextRun, parseSchedule, type CronSchedule } from './cron.js';
import type { CronHistory } from './history.js';
import { formatDuration, judgeRun, type JobRunner, type JobRunResult } from './runner.js';

export interface CronSchedulerOptions {
  history: CronHistory;
  runner: JobRunner;
  logger: Logger;
  /** Clock, ms since the epoch (tests drive it). */
  now?: () => number;
  /** Per run; a run still going then is stopped and recorded as failed. Default 1 h. */
  timeoutMs?: number;
  /** Things worth an app event: failures, timeouts, OOM kills, skipped runs. Must not throw. */
  onEvent?: (app: string, message: string) => void;
}

export const DEFAULT_RUN_TIMEOUT_MS = 60 * 60_000;
/** Longest the timer sleeps, so clock jumps and late timers are caught up with. */
export const MAX_TIMER_DELAY_MS = 60_000;

interface Job {
  id: string;
  entry: CronEntry;
  schedule: CronSchedule;
  /** Next due time, ms. */
  nextAt: number;
}

interface AppJobs {
  appId: string;
  jobs: Map<string, Job>;
}

interface Running {
  controller: AbortController;
  startedAt: number;
  runId?: string;
  /** Why it was stopped, if it was (first reason wins). */
  stopped?: string;
  done: Promise<unknown>;
}

interface LaunchOptions {
  trigger: CronRunInfo['trigger'];
  onOutput?: (text: string) => void;
  signal?: AbortSignal;
  /** Called once the run's row exists. */
  onRecorded?: () => void;
}

const keyOf = (app: string, id: string): string => `${app}\0${id}`;

export class CronScheduler {
  readonly #o: CronSchedulerOptions;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #apps = new Map<string, AppJobs>();
  readonly #running = new Map<string, Running>();
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  #closed = false;
  #lastNow: number;

  constructor(o: CronSchedulerOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#timeoutMs = o.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
    this.#lastNow = this.#now();
  }

  /**
   * Marks runs a crash left `running` as failed, then starts the timer. Call
   * once, before jobs can run (before the API listens).
   */
  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.#started = true;
    const ours = [...this.#running.values()].flatMap((r) => (r.runId ? [r.runId] : []));
    const n = await this.#o.history.recover(ours);
    if (n > 0) this.#o.logger.warn({ runs: n }, 'cron runs interrupted by the last stop marked failed');
    this.#arm();
  }

  /**
   * Replaces an app's jobs: call when a release goes live (its manifest's
   * `cron`), and with `undefined` when the app is destroyed or stops being
   * deployed. Runs under way finish; unchanged jobs keep their next run time.
   */
  setJobs(app: string, appId: string, entries: readonly CronEntry[] | undefined): void {
    if (this.#closed) return;
    const prev = this.#apps.get(app);
    const jobs = new Map<string, Job>();
    const now = new Date(this.#read());
    for (const entry of entries ?? []) {
      const id = jobId(entry);
      if (jobs.has(id)) continue;
      const kept = prev?.appId === appId ? prev.jobs.get(id) : undefined;
      if (kept) {
        jobs.set(id, { ...kept, entry });
        continue;
      }
      try {
        const schedule = parseSchedule(entry.schedule);
        jobs.set(id, { id, entry, schedule, nextAt: nextRun(schedule, now).getTime() });
      } catch (err) {
        // A slug built before schedules were fully checked: skip the entry, say so, keep the rest.
        const message = `cron entry "${entry.schedule} ${entry.command}" ignored: ${(err as Error).message}`;
        this.#o.logger.warn({ app, err }, message);
        this.#event(app, message);
      }
    }
    if (jobs.size === 0) this.#apps.delete(app);
    else this.#apps.set(app, { appId, jobs });
    this.#arm();
  }

  /** The app's jobs with their next run and last (non-skipped) run; empty when it has none or is not deployed. */
  async jobs(app: string): Promise<CronJobInfo[]> {
    const state = this.#apps.get(app);
    if (!state) return [];
    const jobs = [...state.jobs.values()];
    const last = await this.#o.history.lastRuns(
      state.appId,
      jobs.map((j) => j.id),
    );
    return jobs.map((j) => ({
      id: j.id,
      schedule: j.entry.schedule,
      command: j.entry.command,
      nextRunAt: new Date(j.nextAt).toISOString(),
      lastRun: last.get(j.id) ?? null,
    }));
  }

  /** An app's run history, newest first, without output (by app id: it outlives deploys). */
  runs(appId: string, opts: { jobId?: string; limit: number }): Promise<CronRunInfo[]> {
    return this.#o.history.list(appId, opts);
  }

  /**
   * Runs a job now and resolves with the finished run (output included).
   * GANTRY_NOT_FOUND for an unknown job, GANTRY_CONFLICT while it runs.
   */
  async run(
    app: string,
    id: string,
    opts: { trigger: 'manual'; onOutput?: (text: string) => void; signal?: AbortSignal },
  ): Promise<CronRunInfo> {
    if (this.#closed) throw new GantryError('GANTRY_CONFLICT', 'Gantry is shutting down; try again shortly');
    const state = this.#apps.get(app);
    const job = state?.jobs.get(id);
    if (!state || !job)
      throw new GantryError(
        'GANTRY_NOT_FOUND',
        `app ${app} has no cron job "${id}": \`gantry cron -a ${app}\` lists its jobs`,
      );
    const busy = this.#running.get(keyOf(app, id));
    if (busy)
      throw new GantryError(
        'GANTRY_CONFLICT',
        `cron job ${id} of ${app} is already running (since ${new Date(busy.startedAt).toISOString()})`,
      );
    return this.#launch(app, state.appId, job, opts);
  }

  /**
   * Fires every job due by now, then re-arms the timer. Resolves once each
   * fired run is recorded (started or skipped), not when it finishes.
   */
  tick(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const now = this.#read();
    const recorded: Promise<void>[] = [];
    for (const [app, state] of this.#apps) {
      for (const job of state.jobs.values()) {
        if (job.nextAt > now) continue;
        // Runs missed while the server was down or asleep are not caught up: once, now.
        job.nextAt = nextRun(job.schedule, new Date(now)).getTime();
        recorded.push(this.#fire(app, state.appId, job));
      }
    }
    this.#arm();
    return Promise.all(recorded).then(() => undefined);
  }

  /** Stops the timer, stops runs under way (recorded as failed) and waits for them. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const runs = [...this.#running.values()];
    for (const r of runs) this.#stop(r, 'Gantry stopped during the run');
    await Promise.all(runs.map((r) => r.done));
  }

  /** Reads the clock; when it went back (NTP fixing a wrong boot time), pulls in times planned from the future. */
  #read(): number {
    const now = this.#now();
    if (now < this.#lastNow) {
      for (const state of this.#apps.values())
        for (const job of state.jobs.values())
          job.nextAt = Math.min(job.nextAt, nextRun(job.schedule, new Date(now)).getTime());
    }
    this.#lastNow = now;
    return now;
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#started || this.#closed) return;
    let earliest = Infinity;
    for (const state of this.#apps.values())
      for (const job of state.jobs.values()) earliest = Math.min(earliest, job.nextAt);
    if (earliest === Infinity) return;
    const delay = Math.min(Math.max(earliest - this.#now(), 0), MAX_TIMER_DELAY_MS);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.tick().catch((err: unknown) => this.#o.logger.error({ err }, 'cron tick failed'));
    }, delay);
    this.#timer.unref();
  }

  /** A scheduled firing: runs the job, or records a skip while it still runs. Never rejects. */
  #fire(app: string, appId: string, job: Job): Promise<void> {
    const busy = this.#running.get(keyOf(app, job.id));
    if (busy) {
      const since = new Date(busy.startedAt).toISOString();
      return this.#o.history
        .skip({
          ...this.#runFields(appId, job),
          trigger: 'schedule',
          reason: `previous run still going (since ${since})`,
        })
        .then(
          () =>
            this.#event(app, `cron job ${job.id} skipped: its previous run (since ${since}) is still going`),
          (err: unknown) => this.#o.logger.error({ err, app, job: job.id }, 'cannot record skipped cron run'),
        );
    }
    return new Promise<void>((recorded) => {
      this.#launch(app, appId, job, { trigger: 'schedule', onRecorded: recorded }).then(
        () => recorded(),
        (err: unknown) => {
          this.#o.logger.error({ err, app, job: job.id }, 'cron run could not start');
          recorded();
        },
      );
    });
  }

  #runFields(appId: string, job: Job) {
    return { appId, jobId: job.id, schedule: job.entry.schedule, command: job.entry.command };
  }

  /** Claims the job's slot synchronously (so no second run slips in), then runs it. */
  #launch(app: string, appId: string, job: Job, opts: LaunchOptions): Promise<CronRunInfo> {
    const key = keyOf(app, job.id);
    const r: Running = { controller: new AbortController(), startedAt: this.#now(), done: Promise.resolve() };
    this.#running.set(key, r);
    const done = this.#execute(app, appId, job, r, opts).finally(() => this.#running.delete(key));
    r.done = done.then(
      () => undefined,
      () => undefined, // reported by whoever awaits `done`
    );
    return done;
  }

  #stop(r: Running, reason: string): void {
    r.stopped ??= reason;
    r.controller.abort(new Error(reason));
  }

  async #execute(
    app: string,
    appId: string,
    job: Job,
    r: Running,
    opts: LaunchOptions,
  ): Promise<CronRunInfo> {
    const cancel = (): void => this.#stop(r, 'cancelled');
    if (opts.signal?.aborted) cancel();
    opts.signal?.addEventListener('abort', cancel, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      const started = await this.#o.history.start({
        ...this.#runFields(appId, job),
        trigger: opts.trigger,
        at: new Date(r.startedAt),
      });
      r.runId = started.id;
      opts.onRecorded?.();
      this.#o.logger.info({ app, job: job.id, run: started.id, trigger: opts.trigger }, 'cron run started');
      timer = setTimeout(
        () => this.#stop(r, `timed out after ${formatDuration(this.#timeoutMs)}`),
        this.#timeoutMs,
      );
      timer.unref();
      let result: JobRunResult | undefined;
      let error: unknown;
      try {
        result = await this.#o.runner({
          app,
          appId,
          command: job.entry.command,
          name: `${app}.cron.${job.id}`,
          onOutput: (text) => opts.onOutput?.(text),
          signal: r.controller.signal,
        });
      } catch (err) {
        error = err;
      }
      clearTimeout(timer);
      return await this.#record(app, job, r, started, result, error);
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', cancel);
    }
  }

  async #record(
    app: string,
    job: Job,
    r: Running,
    started: CronRunInfo,
    result: JobRunResult | undefined,
    error: unknown,
  ): Promise<CronRunInfo> {
    const { status, exitCode, output, why } = judgeRun({ result, error, stopped: r.stopped });
    let finished: CronRunInfo;
    try {
      finished = await this.#o.history.finish(started.id, { status, exitCode, output });
    } catch (err) {
      this.#o.logger.error({ err, app, job: job.id, run: started.id }, 'cannot record finished cron run');
      finished = { ...started, status, exitCode, output, finishedAt: new Date(this.#now()).toISOString() };
    }
    this.#o.logger.info({ app, job: job.id, run: started.id, status, exitCode }, 'cron run finished');
    if (why !== undefined) this.#event(app, `cron job ${job.id} failed (${why}): ${job.entry.command}`);
    return finished;
  }

  #event(app: string, message: string): void {
    try {
      this.#o.onEvent?.(app, message);
    } catch (err) {
      this.#o.logger.error({ err, app }, 'cron event listener failed');
    }
  }
}
