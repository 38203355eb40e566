/** Builds: history and full output. */
import { Type } from '@sinclair/typebox';
import { AppName, BuildBody, TextBody, errorResponses } from '../schemas.js';
import type { ApiPlugin } from '../types.js';

export const buildsRoutes: ApiPlugin = async (app, { platform }) => {
  app.get(
    '/apps/:app/builds',
    {
      config: { access: { app: 'read' } },
      schema: {
        summary: "An app's builds, newest first",
        tags: ['builds'],
        params: Type.Object({ app: AppName }),
        response: { 200: Type.Object({ builds: Type.Array(BuildBody) }), ...errorResponses },
      },
    },
    async (request) => ({ builds: await platform.listBuilds(request.params.app) }),
  );

  app.get(
    '/apps/:app/builds/:id/log',
    {
      config: { access: { app: 'read' } },
      schema: {
        summary: 'Full output of one build',
        tags: ['builds'],
        params: Type.Object({
          app: AppName,
          id: Type.String({ pattern: '^[A-Za-z0-9_-]+$', maxLength: 100 }),
        }),
        produces: ['text/plain'],
        response: { 200: TextBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const log = await platform.getBuildLog(request.params.app, request.params.id);
      return reply.type('text/plain; charset=utf-8').send(log);
    },
  );
};
