/**
 * Authorization decisions as pure functions of an identity and an app's access
 * settings: the same rules for the API, the router's gate and git (HTTP and SSH).
 *
 * - admin: everything.
 * - owner: everything on the app, including destroying it and managing collaborators.
 * - collaborator (user, or member of a group): deploy, configure, scale, view logs, set access.
 * - viewer: open the app per its visibility.
 * Token scopes narrow what the user may do: `read` allows no changes, `app:NAME`
 * allows only that app (and never anything outside apps).
 */
import type { AppAccess, Identity, Principal } from './types.js';

/** What a caller wants to do to an app. */
export type AppAction =
  /** Open it at /apps/NAME/ (router) or see it in the portal list. */
  | 'view'
  /** Read its settings, config, logs, releases, builds, processes. */
  | 'read'
  /** Deploy, configure, scale, restart, roll back, change access (viewers, visibility). */
  | 'manage'
  /** Destroy it, change its collaborators. */
  | 'own';

function matches(p: Principal, id: Identity): boolean {
  return p.kind === 'user' ? p.name === id.username : id.groups.includes(p.name);
}

/** Is `id` the owner or a collaborator (directly or through a group)? */
export function isCollaborator(id: Identity, app: AppAccess): boolean {
  if (app.owner !== null && app.owner === id.username) return true;
  for (const p of app.collaborators) if (matches(p, id)) return true;
  return false;
}

/** May the token used (if any) touch this app at all, for this action? */
function scopeAllows(id: Identity, app: string, action: AppAction): boolean {
  const scope = id.token?.scope;
  if (scope === undefined || scope.kind === 'full') return true;
  if (scope.kind === 'read') return action === 'view' || action === 'read';
  // app-scoped: its own app only, and never destroying it or changing who collaborates.
  return scope.app === app && action !== 'own';
}

/**
 * The one authorization rule for apps. `id` undefined is an anonymous caller.
 * Cheap and synchronous: the router calls it per request.
 */
export function allows(id: Identity | undefined, app: AppAccess, action: AppAction): boolean {
  if (id === undefined) return action === 'view' && app.visibility === 'public';
  if (!scopeAllows(id, app.app, action)) return false;
  if (id.role === 'admin') return true;
  if (action === 'own') return app.owner !== null && app.owner === id.username;
  if (isCollaborator(id, app)) return true;
  // Viewers (any role) only ever view.
  if (action !== 'view') return false;
  if (app.visibility === 'public' || app.visibility === 'authenticated') return true;
  for (const p of app.viewers) if (matches(p, id)) return true;
  return false;
}

/** May `id` create apps? Developers and admins, with a full-scope token or a session. */
export function canCreateApps(id: Identity): boolean {
  const scope = id.token?.scope.kind;
  if (scope === 'read' || scope === 'app') return false;
  return id.role === 'admin' || id.role === 'developer';
}

/** Admin-only operations (users, groups, audit, key rotation); never with a narrowed token. */
export function isAdmin(id: Identity): boolean {
  const scope = id.token?.scope.kind;
  return id.role === 'admin' && (scope === undefined || scope === 'full');
}
