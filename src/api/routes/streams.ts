/**
 * Live views as Server-Sent Events (see ../sse.ts): a build's output, what
 * happens to an app, its logs and its metrics. Each route subscribes first
 * (so an unknown app or build still gets a real 404), queues what arrives
 * meanwhile, then opens the stream. Payloads go through their schemas
 * (Value.Clean) so, as with JSON replies, fields not documented never leave.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { FastifyReply } from 'fastify';
import { PROCESS_NAME_PATTERN } from '../../apps/index.js';
import type { LogLine } from '../../runtime/types.js';
import type { AppActivity, BuildInfo } from '../platform.js';
import {
  AppEventBody,
  AppName,
  AppParams,
  BuildBody,
  Nullable,
  ReleaseBody,
  ThumbnailBody,
  errorResponses,
} from '../schemas.js';
import { openSse, type SseStream } from '../sse.js';
import type { ApiPlugin } from '../types.js';

/** Lines of backlog a log stream starts with, by default and at most. */
export const STREAM_LINES_DEFAULT = 200;
export const STREAM_LINES_MAX = 2000;
/** How often a metrics stream sends the series again, per range. */
export const METRICS_REFRESH_MS = { '1h': 10_000, '24h': 60_000 } as const;
/** Lines read to fill a filtered backlog (other processes' lines are dropped from it). */
const FILTERED_TAIL = 10_000;

const clean = <T>(schema: TSchema, value: T): unknown => Value.Clean(schema, Value.Clone(value));

const ThumbnailOrNull = Nullable(ThumbnailBody);

/** The `data` of an activity event: the record, through its schema. */
function activityData(a: AppActivity): unknown {
  switch (a.type) {
    case 'build':
      return clean(BuildBody, a.build);
    case 'release':
      return clean(ReleaseBody, a.release);
    case 'event':
      return clean(AppEventBody, a.event);
    case 'thumbnail':
      return clean(ThumbnailOrNull, a.thumbnail);
  }
}

/**
 * A sink for events that may arrive while the route still awaits the
 * platform: queued until `open`, then sent as they come. `finish` sends a
 * last event and ends the stream (once it is open).
 */
function deferredStream(): {
  send: (event: string, data: unknown) => void;
  finish: (event: string, data: unknown) => void;
  open: (reply: FastifyReply, first?: [string, unknown]) => SseStream;
} {
  const queue: [string, unknown][] = [];
  let last: [string, unknown] | undefined;
  let stream: SseStream | undefined;
  return {
    send(event, data) {
      if (stream) stream.send(event, data);
      else if (!last) queue.push([event, data]);
    },
    finish(event, data) {
      if (last) return;
      last = [event, data];
      if (!stream) return;
      stream.send(event, data);
      stream.close();
    },
    open(reply, first) {
      const s = openSse(reply);
      if (first) s.send(...first);
      for (const [event, data] of queue.splice(0)) s.send(event, data);
      stream = s;
      if (last) {
        s.send(...last);
        s.close();
      }
      return s;
    },
  };
}

/** `web` (every process of the type) or `web.1` (that process); see matchesProcess. */
const ProcessFilter = Type.String({
  pattern: `^${PROCESS_NAME_PATTERN.source.replace(/^\^|\$$/g, '')}(\\.[1-9][0-9]{0,3})?$`,
  maxLength: 70,
});

/** Does a log line's process (`APP.TYPE.N`, or `gantry` for the platform's own) match the filter? */
export function matchesProcess(app: string, process: string, filter: string | undefined): boolean {
  if (filter === undefined) return true;
  const name = `${app}.${filter}`;
  return filter.includes('.') ? process === name : process.startsWith(`${name}.`);
}

const lineKey = (l: LogLine): string => `${l.time.getTime()} ${l.process} ${l.text}`;
const lineData = (l: LogLine) => ({
  time: l.time.toISOString(),
  process: l.process,
  text: l.text.replace(/\r?\n$/, ''),
});

/** What every stream route documents besides its summary and parameters. */
const STREAM_DOC = {
  tags: ['streams'],
  produces: ['text/event-stream'],
  response: { 200: Type.String({ description: 'text/event-stream' }), ...errorResponses },
};

export const streamsRoutes: ApiPlugin = async (app, { platform, logger }) => {
  // A HEAD of an endless stream means nothing; EventSource only GETs.
  const base = { exposeHeadRoute: false, config: { access: { app: 'read' as const } } };

  app.get(
    '/apps/:app/builds/:id/stream',
    {
      ...base,
      schema: {
        ...STREAM_DOC,
        summary: 'Output of a build as it runs, then `end` with the build',
        params: Type.Object({
          app: AppName,
          id: Type.String({ pattern: '^[A-Za-z0-9_-]+$', maxLength: 100 }),
        }),
      },
    },
    async (request, reply) => {
      const { app: name, id } = request.params;
      const out = deferredStream();
      const end = (build: BuildInfo): void => out.finish('end', clean(BuildBody, build));
      const watch = await platform.watchBuild(name, id, (chunk) => out.send('output', chunk), end);
      // A build that ended before the watch began may not call onEnd: its record says so.
      if (watch.build.status !== 'running') end(watch.build);
      out.open(reply, ['output', watch.backlog]).onClose(watch.stop);
      return reply;
    },
  );

  app.get(
    '/apps/:app/activity',
    {
      ...base,
      schema: {
        ...STREAM_DOC,
        summary: 'Builds, releases, events and thumbnail changes of an app as they happen',
        params: AppParams,
      },
    },
    async (request, reply) => {
      const out = deferredStream();
      const stop = await platform.watchApp(request.params.app, (a) => out.send(a.type, activityData(a)));
      out.open(reply, ['ready', {}]).onClose(stop);
      return reply;
    },
  );

  app.get(
    '/apps/:app/logs/stream',
    {
      ...base,
      schema: {
        ...STREAM_DOC,
        summary: 'The last lines of the logs, then new lines as they are written',
        params: AppParams,
        querystring: Type.Object({
          lines: Type.Integer({ minimum: 0, maximum: STREAM_LINES_MAX, default: STREAM_LINES_DEFAULT }),
          process: Type.Optional(ProcessFilter),
        }),
      },
    },
    async (request, reply) => {
      const { app: name } = request.params;
      const { lines, process: filter } = request.query;
      const wanted = (l: LogLine): boolean => matchesProcess(name, l.process, filter);
      // Subscribe before reading the tail so nothing falls between the two;
      // lines that arrive meanwhile are queued and de-duplicated against the tail.
      const queue: LogLine[] = [];
      let deliver = (line: LogLine): void => void queue.push(line);
      const unsubscribe = await platform.followLogs(name, (line) => {
        if (wanted(line)) deliver(line);
      });
      let tail: LogLine[];
      try {
        const all = await platform.tailLogs(name, filter === undefined ? lines : FILTERED_TAIL);
        tail = lines === 0 ? [] : all.filter(wanted).slice(-lines);
      } catch (e) {
        unsubscribe();
        throw e;
      }
      const stream = openSse(reply);
      stream.onClose(unsubscribe);
      const send = (line: LogLine): void => stream.send('line', lineData(line));
      const seen = new Set(tail.map(lineKey));
      for (const line of tail) send(line);
      for (const line of queue.splice(0)) if (!seen.has(lineKey(line))) send(line);
      deliver = send;
      return reply;
    },
  );

  app.get(
    '/apps/:app/metrics/stream',
    {
      ...base,
      schema: {
        ...STREAM_DOC,
        summary: 'The metrics series now, then again every 10 s (1h) or 60 s (24h)',
        params: AppParams,
        querystring: Type.Object({
          range: Type.Union([Type.Literal('1h'), Type.Literal('24h')], { default: '1h' }),
        }),
      },
    },
    async (request, reply) => {
      const { app: name } = request.params;
      const { range } = request.query;
      const first = await platform.getMetrics(name, range);
      const stream = openSse(reply);
      stream.send('series', first);
      let timer: NodeJS.Timeout | undefined;
      const tick = async (): Promise<void> => {
        try {
          const series = await platform.getMetrics(name, range);
          stream.send('series', series);
        } catch (err) {
          // The next tick may succeed (a store hiccup); the stream stays open.
          logger.warn({ err, app: name }, 'metrics stream: reading the series failed');
        }
        if (!stream.closed) timer = setTimeout(() => void tick(), METRICS_REFRESH_MS[range]);
      };
      timer = setTimeout(() => void tick(), METRICS_REFRESH_MS[range]);
      stream.onClose(() => clearTimeout(timer));
      return reply;
    },
  );
};
