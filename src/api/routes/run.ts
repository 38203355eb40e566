/**
 * One-off commands (`gantry run`) and cron jobs run by hand (`gantry
 * cron:run`): output streamed as NDJSON (see ../ndjson.ts), the exit status or
 * the run record as the last line. A client that goes away stops the command.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { GantryError } from '../../errors/index.js';
import type { Platform } from '../platform.js';
import { NDJSON_TYPE, streamNdjson } from '../ndjson.js';
import { AppParams, Nullable, errorResponses } from '../schemas.js';
import { actorOf, type ApiPlugin } from '../types.js';

export const MAX_ARGS = 256;
export const MAX_ARGV_BYTES = 64 * 1024;

/** What `:id` of a cron job may look like (ids are derived from schedule + command by the platform). */
export const CronJobId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' });

export const CronRunBody = Type.Object({
  id: Type.String(),
  jobId: Type.String(),
  schedule: Type.String(),
  command: Type.String(),
  trigger: Type.Union([Type.Literal('schedule'), Type.Literal('manual')]),
  status: Type.Union([
    Type.Literal('running'),
    Type.Literal('succeeded'),
    Type.Literal('failed'),
    Type.Literal('skipped'),
  ]),
  startedAt: Type.String(),
  finishedAt: Nullable(Type.String()),
  exitCode: Nullable(Type.Integer()),
  output: Type.Optional(Type.String()),
});

const StreamReply = Type.String({
  description:
    'application/x-ndjson: {"output": TEXT} lines, then {"exit": {"code", "signal"}} (run), ' +
    '{"run": CronRun} (cron run) or {"error": {"code", "message"}}',
});

/** Refuses with a real status what would only fail once streaming. */
async function requireRelease(platform: Platform, app: string): Promise<void> {
  const info = await platform.getApp(app);
  if (info.currentVersion === null) {
    throw new GantryError('GANTRY_NO_RELEASE', `${app} has not been deployed yet: nothing to run`);
  }
}

/** The argv checks JSON schema cannot express. */
function checkArgv(argv: string[]): void {
  if (argv[0] === '') throw new GantryError('GANTRY_BAD_REQUEST', 'invalid command: the first word is empty');
  let bytes = 0;
  for (const arg of argv) {
    // NUL cannot travel in an argv: refuse rather than let it truncate an argument.
    if (arg.includes('\0'))
      throw new GantryError('GANTRY_BAD_REQUEST', 'invalid command: NUL in an argument');
    bytes += Buffer.byteLength(arg) + 1;
  }
  if (bytes > MAX_ARGV_BYTES) {
    throw new GantryError('GANTRY_BAD_REQUEST', `invalid command: longer than ${MAX_ARGV_BYTES} bytes`);
  }
}

/**
 * `preValidation`: Fastify's Ajv turns a lone string into a one-item array, so
 * `"command": "ls -la"` would run a program named `ls -la`; refuse it instead.
 */
async function commandIsArray(request: FastifyRequest): Promise<void> {
  const body = request.body as { command?: unknown } | null | undefined;
  if (body?.command !== undefined && !Array.isArray(body.command)) {
    throw new GantryError('GANTRY_BAD_REQUEST', 'invalid command: give the argv as an array of strings');
  }
}

export const runRoutes: ApiPlugin = async (app, { platform, directory }) => {
  app.post(
    '/apps/:app/run',
    {
      config: { access: { app: 'manage' } },
      preValidation: commandIsArray,
      schema: {
        summary: "Run a one-off command with the app's release and config; streams its output",
        description: 'The status is sent before the outcome is known: the last NDJSON line tells it.',
        tags: ['run'],
        params: AppParams,
        body: Type.Object(
          {
            command: Type.Array(Type.String({ maxLength: MAX_ARGV_BYTES }), {
              minItems: 1,
              maxItems: MAX_ARGS,
              description: 'argv: the command and its arguments, each quoted for the shell by the platform',
            }),
          },
          { additionalProperties: false },
        ),
        produces: [NDJSON_TYPE],
        response: { 200: StreamReply, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { app: name } = request.params;
      const argv = request.body.command;
      checkArgv(argv);
      await requireRelease(platform, name);
      // Only the program: arguments may hold secrets (passwords, tokens).
      await directory.audit(actorOf(request), 'app.run', `app:${name}`, { command: argv[0] });
      return streamNdjson(request, reply, {
        run: (output, signal) => platform.runCommand(name, argv, output, signal),
        final: (r) => ({ exit: { code: r.exitCode, signal: r.signal } }),
      });
    },
  );

  app.post(
    '/apps/:app/cron/:id/run',
    {
      config: { access: { app: 'manage' } },
      schema: {
        summary: 'Run a cron job now; streams its output',
        description: 'The status is sent before the outcome is known: the last NDJSON line tells it.',
        tags: ['cron'],
        params: Type.Object({ app: AppParams.properties.app, id: CronJobId }),
        produces: [NDJSON_TYPE],
        response: { 200: StreamReply, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { app: name, id } = request.params;
      await requireRelease(platform, name);
      const job = (await platform.listCronJobs(name)).find((j) => j.id === id);
      if (!job) throw new GantryError('GANTRY_NOT_FOUND', `${name} has no cron job ${id} (see gantry cron)`);
      if (job.lastRun?.status === 'running') {
        throw new GantryError(
          'GANTRY_CONFLICT',
          `cron job ${id} is running already (started ${job.lastRun.startedAt})`,
        );
      }
      await directory.audit(actorOf(request), 'app.cron.run', `app:${name}`, { job: id });
      return streamNdjson(request, reply, {
        run: (output, signal) => platform.runCronJob(name, id, output, signal),
        // The output was streamed already; the record travels without its tail.
        final: ({ output: _tail, ...run }) => ({ run }),
      });
    },
  );
};
