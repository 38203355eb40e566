/** App records: list, create, show, change the portal fields, destroy. */
import { Type } from '@sinclair/typebox';
import { GantryError } from '../../errors/index.js';
import { DESCRIPTION_MAX, TAGS_MAX, TITLE_MAX, normalizeAppMeta } from '../../apps/index.js';
import { allows } from '../../identity/policy.js';
import type { AppAccess, Directory, Identity } from '../../identity/types.js';
import { AppInfoBody, AppName, AppParams, AppSummaryBody, OrNull, errorResponses } from '../schemas.js';
import { actorOf, identityOf, type ApiPlugin } from '../types.js';

/** The caller's highest right on an app, or undefined when they may not even see it. */
export function accessLevel(id: Identity, app: AppAccess): 'view' | 'manage' | 'own' | undefined {
  if (allows(id, app, 'own')) return 'own';
  if (allows(id, app, 'manage')) return 'manage';
  if (allows(id, app, 'view')) return 'view';
  return undefined;
}

/** Owner, visibility and the caller's right, added to an app's summary or info. */
function withAccess<T extends { name: string }>(directory: Directory, id: Identity, app: T) {
  const access = directory.appAccess(app.name);
  const level = access && accessLevel(id, access);
  if (!access || !level) return undefined;
  return { ...app, owner: access.owner, visibility: access.visibility, access: level };
}

/** The access hook already checked the view right; this only narrows the type. */
function visible<T>(app: T | undefined, name: string): T {
  if (!app) throw new GantryError('GANTRY_APP_NOT_FOUND', `app ${name} not found`);
  return app;
}

/**
 * The portal fields a PATCH may change. Loose bounds here (so a title with
 * trailing spaces is trimmed, not refused); normalizeAppMeta applies the real
 * limits with messages that name them.
 */
const AppMetaPatch = Type.Object(
  {
    title: Type.Optional(
      OrNull(
        Type.String({
          maxLength: 4 * TITLE_MAX,
          description: `at most ${TITLE_MAX} characters; "" clears it`,
        }),
      ),
    ),
    description: Type.Optional(
      Type.String({ maxLength: 4 * DESCRIPTION_MAX, description: `at most ${DESCRIPTION_MAX} characters` }),
    ),
    tags: Type.Optional(
      Type.Array(Type.String({ maxLength: 100 }), {
        maxItems: 10 * TAGS_MAX,
        description: `at most ${TAGS_MAX} lower-case words (letters, digits, dashes; up to 30 characters)`,
      }),
    ),
  },
  { additionalProperties: false },
);

export const appsRoutes: ApiPlugin = async (app, { platform, directory }) => {
  app.get(
    '/apps',
    {
      config: { access: 'user' },
      schema: {
        summary: 'List the apps the caller may open or manage',
        tags: ['apps'],
        response: { 200: Type.Object({ apps: Type.Array(AppSummaryBody) }), ...errorResponses },
      },
    },
    async (request) => {
      const id = identityOf(request);
      const apps = [];
      for (const summary of await platform.listApps()) {
        const listed = withAccess(directory, id, summary);
        if (listed) apps.push(listed);
      }
      return { apps };
    },
  );

  app.post(
    '/apps',
    {
      config: { access: 'create-app' },
      schema: {
        summary: 'Create an app (the caller owns it)',
        tags: ['apps'],
        body: Type.Object({ name: AppName }, { additionalProperties: false }),
        response: { 201: AppInfoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const id = identityOf(request);
      const { name } = request.body;
      const info = await platform.createApp(name, id.userId);
      directory.appCreated(name, id.username);
      await directory.audit(actorOf(request), 'app.create', `app:${name}`);
      return reply.status(201).send(visible(withAccess(directory, id, info), name));
    },
  );

  app.get(
    '/apps/:app',
    {
      config: { access: { app: 'read' } },
      schema: {
        summary: 'Show an app',
        tags: ['apps'],
        params: AppParams,
        response: { 200: AppInfoBody, ...errorResponses },
      },
    },
    async (request) => {
      const info = await platform.getApp(request.params.app);
      return visible(withAccess(directory, identityOf(request), info), info.name);
    },
  );

  app.patch(
    '/apps/:app',
    {
      config: { access: { app: 'manage' } },
      schema: {
        summary: "Change an app's title, description or tags (what the portal shows)",
        tags: ['apps'],
        params: AppParams,
        body: AppMetaPatch,
        response: { 200: AppInfoBody, ...errorResponses },
      },
    },
    async (request) => {
      const { app: name } = request.params;
      const change = normalizeAppMeta(request.body);
      const info = await platform.setAppMeta(name, change);
      await directory.audit(actorOf(request), 'app.meta', `app:${name}`, { ...change });
      return visible(withAccess(directory, identityOf(request), info), name);
    },
  );

  app.delete(
    '/apps/:app',
    {
      config: { access: { app: 'own' } },
      schema: {
        summary: 'Destroy an app, its processes, releases and data (owner or admin)',
        tags: ['apps'],
        params: AppParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { app: name } = request.params;
      await platform.destroyApp(name);
      directory.appDestroyed(name);
      await directory.audit(actorOf(request), 'app.destroy', `app:${name}`);
      return reply.status(204).send(null);
    },
  );
};
