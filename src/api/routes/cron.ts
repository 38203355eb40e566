/** Scheduled jobs (app.json `cron`) and their run history. Running one by hand is in ./run.ts. */
import { Type } from '@sinclair/typebox';
import { AppParams, Nullable, errorResponses } from '../schemas.js';
import type { ApiPlugin } from '../types.js';
import { CronJobId, CronRunBody } from './run.js';

export const CRON_RUNS_MAX = 500;

const CronJobBody = Type.Object({
  id: Type.String(),
  schedule: Type.String(),
  command: Type.String(),
  nextRunAt: Nullable(Type.String()),
  lastRun: Nullable(CronRunBody),
});

export const cronRoutes: ApiPlugin = async (app, { platform }) => {
  app.get(
    '/apps/:app/cron',
    {
      config: { access: { app: 'read' } },
      schema: {
        summary: "An app's cron jobs with their next and last run",
        tags: ['cron'],
        params: AppParams,
        response: { 200: Type.Object({ jobs: Type.Array(CronJobBody) }), ...errorResponses },
      },
    },
    async (request) => ({ jobs: await platform.listCronJobs(request.params.app) }),
  );

  app.get(
    '/apps/:app/cron/runs',
    {
      config: { access: { app: 'read' } },
      schema: {
        summary: 'Cron run history, newest first (optionally of one job)',
        tags: ['cron'],
        params: AppParams,
        querystring: Type.Object({
          job: Type.Optional(CronJobId),
          limit: Type.Integer({ minimum: 1, maximum: CRON_RUNS_MAX, default: 20 }),
        }),
        response: { 200: Type.Object({ runs: Type.Array(CronRunBody) }), ...errorResponses },
      },
    },
    async (request) => {
      const { job, limit } = request.query;
      const runs = await platform.listCronRuns(request.params.app, { ...(job ? { jobId: job } : {}), limit });
      // History lists leave the output out (the platform should not send it; make sure).
      return { runs: runs.map(({ output: _tail, ...run }) => run) };
    },
  );
};
