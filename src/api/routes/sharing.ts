/**
 * Who shares an app: collaborators (deploy and configure; changed by the
 * owner or an admin) and viewers and visibility (who may open it; changed by
 * anyone who manages it).
 */
import { Type } from '@sinclair/typebox';
import { GantryError } from '../../errors/index.js';
import { formatPrincipal, parsePrincipal, type AppAccess, type Principal } from '../../identity/types.js';
import { AppName, Nullable, PrincipalString, VisibilityBody, errorResponses } from '../schemas.js';
import { actorOf, type ApiPlugin } from '../types.js';

function principal(s: string): Principal {
  const p = parsePrincipal(s);
  if (!p) {
    throw new GantryError('GANTRY_BAD_REQUEST', `invalid principal "${s}": use user:NAME or group:NAME`);
  }
  return p;
}

const Collaborators = Type.Object({
  owner: Nullable(Type.String()),
  collaborators: Type.Array(Type.String()),
});
const Access = Type.Object({
  visibility: VisibilityBody,
  viewers: Type.Array(Type.String()),
  owner: Nullable(Type.String()),
  collaborators: Type.Array(Type.String()),
});

const collaborators = (a: AppAccess) => ({
  owner: a.owner,
  collaborators: a.collaborators.map(formatPrincipal),
});
const access = (a: AppAccess) => ({
  visibility: a.visibility,
  viewers: a.viewers.map(formatPrincipal),
  ...collaborators(a),
});

const AppParams = Type.Object({ app: AppName });
const PrincipalParams = Type.Object({ app: AppName, principal: PrincipalString });
const PrincipalBody = Type.Object({ principal: PrincipalString }, { additionalProperties: false });

export const sharingRoutes: ApiPlugin = async (app, { directory }) => {
  /** The app's settings as the directory holds them (the access hook made sure the app exists). */
  const settings = (name: string): AppAccess => {
    const a = directory.appAccess(name);
    if (!a) throw new GantryError('GANTRY_APP_NOT_FOUND', `app ${name} not found`);
    return a;
  };

  app.get(
    '/apps/:app/collaborators',
    {
      config: { access: { app: 'manage' } },
      schema: {
        summary: "An app's owner and collaborators",
        tags: ['sharing'],
        params: AppParams,
        response: { 200: Collaborators, ...errorResponses },
      },
    },
    async (request) => collaborators(settings(request.params.app)),
  );

  app.post(
    '/apps/:app/collaborators',
    {
      config: { access: { app: 'own' } },
      schema: {
        summary: 'Add a collaborator (user:NAME or group:NAME): may deploy and configure the app',
        tags: ['sharing'],
        params: AppParams,
        body: PrincipalBody,
        response: { 200: Collaborators, ...errorResponses },
      },
    },
    async (request) =>
      collaborators(
        await directory.addCollaborator(
          actorOf(request),
          request.params.app,
          principal(request.body.principal),
        ),
      ),
  );

  app.delete(
    '/apps/:app/collaborators/:principal',
    {
      config: { access: { app: 'own' } },
      schema: {
        summary: 'Remove a collaborator',
        tags: ['sharing'],
        params: PrincipalParams,
        response: { 200: Collaborators, ...errorResponses },
      },
    },
    async (request) =>
      collaborators(
        await directory.removeCollaborator(
          actorOf(request),
          request.params.app,
          principal(request.params.principal),
        ),
      ),
  );

  app.get(
    '/apps/:app/access',
    {
      config: { access: { app: 'manage' } },
      schema: {
        summary: 'Who may open the app: visibility, viewers, owner and collaborators',
        tags: ['sharing'],
        params: AppParams,
        response: { 200: Access, ...errorResponses },
      },
    },
    async (request) => access(settings(request.params.app)),
  );

  app.put(
    '/apps/:app/access/visibility',
    {
      config: { access: { app: 'manage' } },
      schema: {
        summary: 'public (no login), authenticated (any user) or restricted (viewers, collaborators, owner)',
        tags: ['sharing'],
        params: AppParams,
        body: Type.Object({ visibility: VisibilityBody }, { additionalProperties: false }),
        response: { 200: Access, ...errorResponses },
      },
    },
    async (request) =>
      access(await directory.setVisibility(actorOf(request), request.params.app, request.body.visibility)),
  );

  app.post(
    '/apps/:app/access',
    {
      config: { access: { app: 'manage' } },
      schema: {
        summary: 'Let a user or group open the app when it is restricted',
        tags: ['sharing'],
        params: AppParams,
        body: PrincipalBody,
        response: { 200: Access, ...errorResponses },
      },
    },
    async (request) =>
      access(
        await directory.addViewer(actorOf(request), request.params.app, principal(request.body.principal)),
      ),
  );

  app.delete(
    '/apps/:app/access/:principal',
    {
      config: { access: { app: 'manage' } },
      schema: {
        summary: 'Stop letting a user or group open the app',
        tags: ['sharing'],
        params: PrincipalParams,
        response: { 200: Access, ...errorResponses },
      },
    },
    async (request) =>
      access(
        await directory.removeViewer(
          actorOf(request),
          request.params.app,
          principal(request.params.principal),
        ),
      ),
  );
};
