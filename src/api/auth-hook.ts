/**
 * Authentication and authorization for the whole server, as hooks on the root
 * instance:
 * - `onRoute`: every route must declare `config.access` (or `public: true`);
 *   buildApi throws otherwise, so a new route cannot be left open by mistake.
 * - `onRequest`: resolves the caller from `Authorization: Bearer gty_…` or the
 *   session cookie, enforces CSRF on cookie-authenticated writes, then checks
 *   the route's access level (src/api/access.ts) before any body is read.
 *   Unknown /api paths need a caller too (404s reveal nothing to strangers).
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { GantryError } from '../errors/index.js';
import { safeEqual } from '../auth/index.js';
import { readCookie } from '../identity/cookies.js';
import type { Directory, Identity } from '../identity/types.js';
import { SAFE_METHODS, authorize, routeAccess } from './access.js';

/**
 * Is `url` (path + query) inside the API namespace? Decoded first, as Fastify
 * decodes before matching routes: `/%61pi/apps` is `/api/apps`.
 */
export function isApiPath(url: string): boolean {
  let path = url.split('?', 1)[0]!;
  try {
    path = decodeURIComponent(path);
  } catch {
    // Malformed escapes: treat as API so the request needs a token (it 400s/404s after).
    return true;
  }
  path = path.toLowerCase();
  return path === '/api' || path.startsWith('/api/');
}

/** Extracts the token of an `Authorization: Bearer TOKEN` header. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

export interface AuthHookOptions {
  directory: Directory;
  /** Name of the session cookie (`__Host-gantry_session` over HTTPS). */
  cookieName: string;
  /** Public base URL: cookie-authenticated writes with an Origin header must come from its origin. */
  publicUrl: string;
}

/** Does a cookie-authenticated write carry the session's CSRF token, from our own origin? */
export function checkCsrf(request: FastifyRequest, id: Identity, origin: string): void {
  const sent = request.headers['origin'];
  if (sent !== undefined && sent !== origin) {
    throw new GantryError('GANTRY_FORBIDDEN', `cross-origin request from ${sent} refused`);
  }
  const token = request.headers['x-csrf-token'];
  if (typeof token !== 'string' || !id.session || !safeEqual(token, id.session.csrf)) {
    throw new GantryError('GANTRY_FORBIDDEN', 'missing or invalid CSRF token');
  }
}

/** The caller of `request`: a bearer token first, else the session cookie. Null when anonymous. */
function resolve(request: FastifyRequest, opts: AuthHookOptions): { id: Identity | null; badToken: boolean } {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const token = bearerToken(header);
    const id = token ? opts.directory.resolveToken(token) : undefined;
    return { id: id ?? null, badToken: id === undefined };
  }
  const cookie = readCookie(request.headers.cookie, opts.cookieName);
  const id = cookie ? opts.directory.resolveSession(cookie) : undefined;
  return { id: id ?? null, badToken: false };
}

export function installAuthHook(app: FastifyInstance, opts: AuthHookOptions): void {
  const origin = new URL(opts.publicUrl).origin;

  app.addHook('onRoute', function requireAccess(route: RouteOptions) {
    if (routeAccess(route.config) === undefined) {
      const methods = Array.isArray(route.method) ? route.method.join(',') : route.method;
      throw new Error(
        `route ${methods} ${route.url} declares no config.access (default-deny: say who may call it)`,
      );
    }
  });

  app.decorateRequest('identity', null);
  app.addHook('onRequest', async function authenticate(request: FastifyRequest) {
    const { id, badToken } = resolve(request, opts);
    request.identity = id;
    const access = routeAccess(request.routeOptions.config);
    if (access === 'public') return;
    if (request.routeOptions.url === undefined) {
      // No such route: strangers get 401 under /api (the route map stays private), 404 elsewhere.
      if (id === null && isApiPath(request.url)) throw unauthorized(badToken);
      return;
    }
    if (id === null) throw unauthorized(badToken);
    if (id.via === 'session' && !SAFE_METHODS.has(request.method)) checkCsrf(request, id, origin);
    authorize(
      id,
      access ?? 'admin',
      {
        method: request.method,
        url: request.routeOptions.url,
        params: request.params as Record<string, string | undefined>,
        query: request.query as Record<string, unknown>,
      },
      opts.directory,
    );
  });
}

function unauthorized(badToken: boolean): GantryError {
  return badToken
    ? new GantryError('GANTRY_UNAUTHORIZED', 'invalid or expired token')
    : new GantryError('GANTRY_UNAUTHORIZED', 'authentication required: send Authorization: Bearer TOKEN');
}
