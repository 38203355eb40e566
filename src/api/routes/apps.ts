/** App records: list, create, show, destroy. */
import { Type } from '@sinclair/typebox';
import { AppInfoBody, AppName, AppParams, AppSummaryBody, errorResponses } from '../schemas.js';
import type { ApiPlugin } from '../types.js';

export const appsRoutes: ApiPlugin = async (app, { platform }) => {
  app.get(
    '/apps',
    {
      schema: {
        summary: 'List apps',
        tags: ['apps'],
        response: { 200: Type.Object({ apps: Type.Array(AppSummaryBody) }), ...errorResponses },
      },
    },
    async () => ({ apps: await platform.listApps() }),
  );

  app.post(
    '/apps',
    {
      schema: {
        summary: 'Create an app',
        tags: ['apps'],
        body: Type.Object({ name: AppName }, { additionalProperties: false }),
        response: { 201: AppInfoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const info = await platform.createApp(request.body.name);
      return reply.status(201).send(info);
    },
  );

  app.get(
    '/apps/:app',
    {
      schema: {
        summary: 'Show an app',
        tags: ['apps'],
        params: AppParams,
        response: { 200: AppInfoBody, ...errorResponses },
      },
    },
    async (request) => platform.getApp(request.params.app),
  );

  app.delete(
    '/apps/:app',
    {
      schema: {
        summary: 'Destroy an app, its processes, releases and data',
        tags: ['apps'],
        params: AppParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await platform.destroyApp(request.params.app);
      return reply.status(204).send(null);
    },
  );
};
