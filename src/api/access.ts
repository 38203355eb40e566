/**
 * Authorization of one request against the route's declared access level:
 * a pure function of the caller, the route and the directory's in-memory
 * state, called by the auth hook for every matched route.
 */
import { GantryError } from '../errors/index.js';
import { allows, canCreateApps, isAdmin, type AppAction } from '../identity/policy.js';
import type { Directory, Identity } from '../identity/types.js';
import type { RouteAccess } from './types.js';

/** Methods that change nothing; the only ones a `read` token (or a cookie without CSRF token) may use. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Routes an app-scoped token may reach besides its app's own (`METHOD url`). */
const APP_TOKEN_ROUTES: ReadonlySet<string> = new Set([
  'GET /api/whoami',
  'HEAD /api/whoami',
  'GET /api/session',
  'HEAD /api/session',
]);

export interface RouteContext {
  method: string;
  /** The route's URL pattern, e.g. `/api/apps/:app`. */
  url: string;
  params: Record<string, string | undefined>;
  query: Record<string, unknown>;
}

/** The access level of a route's config; undefined when it declares none. */
export function routeAccess(
  config: { access?: RouteAccess; public?: boolean } | undefined,
): RouteAccess | undefined {
  if (config?.access !== undefined) return config.access;
  return config?.public === true ? 'public' : undefined;
}

const appNotFound = (app: string): GantryError =>
  new GantryError('GANTRY_APP_NOT_FOUND', `app ${app} not found`);

const VERB: Record<AppAction, string> = {
  view: 'open',
  read: 'read the settings of',
  manage: 'change',
  own: 'do this to (owner or admin only)',
};

/** Throws the token-scope refusal for `id` on this route, if any. */
function checkScope(id: Identity, route: RouteContext): void {
  const scope = id.token?.scope;
  if (scope === undefined || scope.kind === 'full') return;
  if (scope.kind === 'read') {
    if (!SAFE_METHODS.has(route.method)) {
      throw new GantryError(
        'GANTRY_FORBIDDEN',
        'this token is read-only: use a full-scope token to make changes',
      );
    }
    return;
  }
  if (route.params.app === scope.app || APP_TOKEN_ROUTES.has(`${route.method} ${route.url}`)) return;
  throw new GantryError('GANTRY_FORBIDDEN', `this token may only be used for app ${scope.app}`);
}

/**
 * Throws GANTRY_UNAUTHORIZED (no caller), GANTRY_FORBIDDEN (not allowed) or
 * GANTRY_APP_NOT_FOUND (app unknown or not even visible to the caller).
 */
export function authorize(
  id: Identity | null,
  access: RouteAccess,
  route: RouteContext,
  directory: Directory,
): void {
  if (access === 'public') return;
  if (!id) {
    throw new GantryError('GANTRY_UNAUTHORIZED', 'authentication required: send Authorization: Bearer TOKEN');
  }
  checkScope(id, route);
  if (access === 'user') return;
  if (access === 'admin') {
    if (isAdmin(id)) return;
    throw new GantryError(
      'GANTRY_FORBIDDEN',
      id.role === 'admin'
        ? 'admin operations need a full-scope token or a login session'
        : 'only admins may do this',
    );
  }
  if (access === 'create-app') {
    if (canCreateApps(id)) return;
    throw new GantryError('GANTRY_FORBIDDEN', 'only developers and admins may create apps');
  }
  if (access === 'self') {
    const user = route.query.user;
    if (typeof user !== 'string' || user === id.username || isAdmin(id)) return;
    throw new GantryError('GANTRY_FORBIDDEN', "only admins may manage other users' tokens and keys");
  }
  const name = route.params.app;
  if (name === undefined)
    throw new Error(`route ${route.method} ${route.url} declares app access but has no :app`);
  const app = directory.appAccess(name);
  if (!app || !allows(id, app, 'view')) throw appNotFound(name);
  if (!allows(id, app, access.app)) {
    throw new GantryError('GANTRY_FORBIDDEN', `you may not ${VERB[access.app]} app ${name}`);
  }
}
