/** Releases: history and rollback. */
import { Type } from '@sinclair/typebox';
import { AppParams, ReleaseBody, errorResponses } from '../schemas.js';
import { emptyBodyIsObject, type ApiPlugin } from '../types.js';

export const releasesRoutes: ApiPlugin = async (app, { platform }) => {
  app.get(
    '/apps/:app/releases',
    {
      schema: {
        summary: "An app's releases, newest first",
        tags: ['releases'],
        params: AppParams,
        response: { 200: Type.Object({ releases: Type.Array(ReleaseBody) }), ...errorResponses },
      },
    },
    async (request) => ({ releases: await platform.listReleases(request.params.app) }),
  );

  app.post(
    '/apps/:app/rollback',
    {
      preValidation: emptyBodyIsObject,
      schema: {
        summary: 'Re-activate an earlier release (default: the one before the current) as a new release',
        tags: ['releases'],
        params: AppParams,
        body: Type.Object(
          { version: Type.Optional(Type.Integer({ minimum: 1 })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ release: ReleaseBody }), ...errorResponses },
      },
    },
    async (request) => ({
      release: await platform.rollback(request.params.app, request.body.version),
    }),
  );
};
