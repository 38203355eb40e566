/**
 * Jobs: app.json cron entries run on schedule (UTC) in the app's sandbox, their
 * history, and quoting for one-off `gantry run` commands.
 */
export { parseSchedule, nextRun, jobId, type CronSchedule } from './cron.js';
export {
  CronHistory,
  tailBytes,
  OUTPUT_TAIL_BYTES,
  KEEP_RUNS_PER_JOB,
  INTERRUPTED_MESSAGE,
  type CronRunStart,
  type CronRunEnd,
} from './history.js';
export {
  CronScheduler,
  DEFAULT_RUN_TIMEOUT_MS,
  MAX_TIMER_DELAY_MS,
  type CronSchedulerOptions,
} from './scheduler.js';
export {
  judgeRun,
  type JobRunner,
  type JobRunRequest,
  type JobRunResult,
  type RunVerdict,
} from './runner.js';
export { shellCommand } from './run.js';
