/**
 * Authentication for the whole API, as one `onRequest` hook on the root
 * instance: every route under /api needs `Authorization: Bearer TOKEN`
 * unless it is declared `config: { public: true }`. Default-deny, so a new
 * route is protected without anyone remembering to protect it. Unknown /api
 * paths also need a token (404s don't reveal the route map to strangers).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GantryError } from '../errors/index.js';
import type { Platform } from './platform.js';

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

export function installAuthHook(app: FastifyInstance, platform: Platform): void {
  app.decorateRequest('user', null);
  app.addHook('onRequest', async function authenticate(request: FastifyRequest) {
    // Every matched route needs a token unless it is declared public; unmatched paths
    // need one too when they look like the API, so 404s reveal nothing to strangers.
    if (request.routeOptions.config.public === true) return;
    if (request.routeOptions.url === undefined && !isApiPath(request.url)) return;
    const token = bearerToken(request.headers.authorization);
    if (!token) {
      throw new GantryError(
        'GANTRY_UNAUTHORIZED',
        'authentication required: send Authorization: Bearer TOKEN',
      );
    }
    const user = await platform.authenticateToken(token);
    if (!user) throw new GantryError('GANTRY_UNAUTHORIZED', 'invalid or expired token');
    // Only admins exist in this iteration; role checks per route come later and read request.user.
    request.user = user;
  });
}
