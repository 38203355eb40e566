/** What happened to an app (events) and how it is doing (time series). */
import { Type } from '@sinclair/typebox';
import { AppEventBody, AppParams, Nullable, errorResponses } from '../schemas.js';
import type { ApiPlugin } from '../types.js';

export const EVENTS_MAX = 1000;

const MetricPointBody = Type.Object({
  t: Type.Integer({ description: 'start of the interval, ms since the epoch' }),
  rps: Type.Number(),
  p50Ms: Nullable(Type.Number()),
  p95Ms: Nullable(Type.Number()),
  errors: Type.Integer(),
  cpuPercent: Type.Number(),
  memoryBytes: Type.Integer(),
  replicas: Type.Integer(),
});

const Range = Type.Union([Type.Literal('1h'), Type.Literal('24h')], { default: '1h' });

export const eventsRoutes: ApiPlugin = async (app, { platform }) => {
  app.get(
    '/apps/:app/events',
    {
      config: { access: { app: 'read' } },
      schema: {
        summary: 'Starts, stops, crashes, OOM kills, wakes, sleeps and scaling decisions, newest first',
        tags: ['events'],
        params: AppParams,
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: EVENTS_MAX, default: 100 }) }),
        response: { 200: Type.Object({ events: Type.Array(AppEventBody) }), ...errorResponses },
      },
    },
    async (request) => ({
      events: await platform.listEvents(request.params.app, { limit: request.query.limit }),
    }),
  );

  app.get(
    '/apps/:app/metrics',
    {
      config: { access: { app: 'read' } },
      schema: {
        summary: 'Requests/s, latency, errors, CPU, memory and replicas over the last hour or day',
        tags: ['events'],
        params: AppParams,
        querystring: Type.Object({ range: Range }),
        response: {
          200: Type.Object({
            app: Type.String(),
            range: Type.Union([Type.Literal('1h'), Type.Literal('24h')]),
            stepSeconds: Type.Integer(),
            points: Type.Array(MetricPointBody),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => platform.getMetrics(request.params.app, request.query.range),
  );
};
