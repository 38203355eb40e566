/** Releases: history and rollback. */
import { Type } from '@sinclair/typebox';
import { AppParams, ReleaseBody, errorResponses } from '../schemas.js';
import { actorOf, emptyBodyIsObject, type ApiPlugin } from '../types.js';

export const releasesRoutes: ApiPlugin = async (app, { platform, directory }) => {
  app.get(
    '/apps/:app/releases',
    {
      config: { access: { app: 'read' } },
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
      config: { access: { app: 'manage' } },
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
    async (request) => {
      const release = await platform.rollback(request.params.app, request.body.version);
      await directory.audit(actorOf(request), 'app.rollback', `app:${request.params.app}`, {
        ...(request.body.version === undefined ? {} : { to: request.body.version }),
        version: release.version,
      });
      return { release };
    },
  );
};
