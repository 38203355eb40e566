/** cron [--runs [ID]], cron:run ID: scheduled jobs from app.json, their history, running one now. */
import type { Command } from 'commander';
import type { CronJobInfo, CronRunInfo } from '../client.js';
import { appCommand, type AppOptions, type Context } from '../context.js';
import { ago, ExitStatus, heading, json, table, UsageError } from '../io.js';
import { formatDuration, inTime, parseWhole } from '../units.js';
import { followStream } from './run.js';

const RUNS_MAX = 500;
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function jobId(arg: string): string {
  if (!JOB_ID.test(arg)) throw new UsageError(`not a cron job id: "${arg}" (see gantry cron)`);
  return arg;
}

/** `succeeded (exit 0) 3h ago`, `running since 2m`, `failed (exit 4) 1d ago`. */
export function runOutcome(r: CronRunInfo | null): string {
  if (!r) return '—';
  if (r.status === 'running') return `running since ${ago(r.startedAt).replace(/ ago$/, '')}`;
  const exit = r.exitCode === null ? '' : ` (exit ${r.exitCode})`;
  return `${r.status}${exit} ${ago(r.finishedAt ?? r.startedAt)}`;
}

const duration = (r: CronRunInfo): string =>
  r.finishedAt === null ? '' : formatDuration(Date.parse(r.finishedAt) - Date.parse(r.startedAt));

export function jobsTable(jobs: CronJobInfo[]): string {
  return table(
    jobs.map((j) => [j.id, j.schedule, j.command, inTime(j.nextRunAt), runOutcome(j.lastRun)]),
    ['ID', 'Schedule', 'Command', 'Next run', 'Last run'],
  );
}

export function runsTable(runs: CronRunInfo[]): string {
  return table(
    runs.map((r) => [
      r.id,
      r.jobId,
      r.trigger,
      r.status,
      r.exitCode === null ? '' : String(r.exitCode),
      ago(r.startedAt),
      duration(r),
      r.command,
    ]),
    ['Run', 'Job', 'Trigger', 'Status', 'Exit', 'Started', 'Took', 'Command'],
  );
}

export function registerCron(program: Command, ctx: Context): void {
  appCommand(program, 'cron', 'list an app\'s cron jobs (app.json "cron"), or with --runs their history')
    .option('--runs [id]', 'show past runs (of one job)')
    .option('-n, --num <n>', `how many runs (1–${RUNS_MAX})`, '20')
    .option('--json', 'output JSON')
    .action(async (opts: AppOptions & { runs?: string | boolean; num: string }) => {
      const app = await ctx.app(opts);
      const client = await ctx.client();
      if (opts.runs !== undefined) {
        const job = typeof opts.runs === 'string' ? jobId(opts.runs) : undefined;
        const runs = await client.listCronRuns(app, { job, limit: parseWhole('-n', opts.num, 1, RUNS_MAX) });
        if (opts.json) return ctx.out(json(runs));
        if (runs.length === 0) return ctx.out(`No cron runs of ${job ?? app} yet\n`);
        ctx.out(heading(`${app} Cron Runs${job ? ` of ${job}` : ''}`));
        return ctx.out(runsTable(runs));
      }
      const jobs = await client.listCronJobs(app);
      if (opts.json) return ctx.out(json(jobs));
      if (jobs.length === 0) return ctx.out(`${app} has no cron jobs (add a "cron" list to app.json)\n`);
      ctx.out(heading(`${app} Cron Jobs`));
      ctx.out(jobsTable(jobs));
    });

  appCommand(program, 'cron:run', 'run a cron job now; streams its output and exits with its exit code')
    .argument('<id>', 'job id (see gantry cron)')
    .action(async (idArg: string, opts: AppOptions) => {
      const id = jobId(idArg);
      const app = await ctx.app(opts);
      const client = await ctx.client();
      const final = await followStream(ctx, client.runCronJob(app, id, ctx.io.signal));
      if (!('run' in final)) throw new Error('unexpected reply from the server: no run record');
      const { run } = final;
      if (run.status === 'succeeded') return;
      if (run.exitCode !== null && run.exitCode !== 0) throw new ExitStatus(run.exitCode);
      throw new Error(
        run.status === 'skipped'
          ? `cron job ${id} was skipped`
          : `cron job ${id} failed without an exit code (stopped or killed)`,
      );
    });
}
