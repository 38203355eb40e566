/**
 * The web UI, server side: serves the Vite build of web/ (index.html and
 * assets/*) from the API's Fastify instance, so the UI needs no second server.
 *
 * - `/assets/*`: content-hashed file names, cached for a year; compressed
 *   copies made once at startup and chosen by Accept-Encoding.
 * - The SPA's pages (`/`, `/manage…`, `/admin…`, `/account`): index.html,
 *   never cached without revalidation, under a strict CSP. A browser without a
 *   signed-in user is sent to `/login?next=…` first; the API still checks
 *   every call the UI makes.
 *
 * Every route is public to the auth hook (it only reads `request.identity`,
 * which the hook sets on every request) and hidden from the OpenAPI document.
 * The build is read once at registration: rebuild, then restart Gantry.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../log/index.js';
import { safeNext } from '../identity/index.js';
import { THEME_CSS, themeDocument } from '../ui/theme.js';
import { etagMatches, loadAssetDir, loadAssetFile, pickEncoding, type Asset } from './assets.js';

export { pickEncoding, etagMatches, assetType, type Asset, type Encoding } from './assets.js';

export interface WebUiOptions {
  /** The Vite output (index.html, assets/). Default: web/dist of this checkout or package. */
  distDir?: string;
  logger: Logger;
}

/** web/dist, two levels up from this file: the same from src/web (tsx) and dist/web (built). */
export const DEFAULT_DIST_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** The SPA's client-side routes: each answers with index.html. */
export const SPA_ROUTES = ['/', '/manage', '/manage/*', '/admin', '/admin/*', '/account'] as const;

/** The policy of index.html: the bundle's own scripts and styles, API calls to this origin only. */
export const WEB_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; " +
  "form-action 'self'";

const IMMUTABLE = 'public, max-age=31536000, immutable';
const ROUTE = { config: { access: 'public' as const }, schema: { hide: true } };

const sha256 = (s: string): string => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

const NOT_BUILT = themeDocument({
  title: 'Web UI not built · Gantry',
  main:
    '<div class="code">Error 503</div><h1>The web UI is not built</h1>' +
    '<p>The web UI is not built: run <code>npm run build</code>, then restart Gantry.</p>' +
    '<p>The API, the <code>gantry</code> CLI and the apps work without it.</p>',
});
/** The page's one inline style is the theme (themeDocument's default). */
const NOT_BUILT_CSP = `default-src 'none'; style-src ${sha256(THEME_CSS)}; base-uri 'none'; form-action 'none'`;

/** Sends `asset` in the best encoding the client accepts, or 304 when it has it already. */
function sendAsset(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  void reply.type(asset.type).header('etag', asset.etag).header('x-content-type-options', 'nosniff');
  if (asset.gzip || asset.br) void reply.header('vary', 'accept-encoding');
  if (etagMatches(request.headers['if-none-match'], asset.etag)) return reply.code(304).send();
  const encoding = pickEncoding(request.headers['accept-encoding'], asset);
  if (encoding === 'identity') return reply.send(asset.identity);
  return reply.header('content-encoding', encoding).send(asset[encoding]);
}

export const webUi: FastifyPluginAsync<WebUiOptions> = async (app, opts) => {
  const distDir = opts.distDir ?? DEFAULT_DIST_DIR;
  const [index, assets] = await Promise.all([
    loadAssetFile(join(distDir, 'index.html')),
    loadAssetDir(join(distDir, 'assets')),
  ]);
  if (!index) {
    opts.logger.warn(
      { distDir },
      'the web UI is not built (no index.html): run npm run build; / answers 503 until then',
    );
  }

  app.get('/assets/*', ROUTE, async (request, reply) => {
    const name = (request.params as { '*': string })['*'];
    const asset = assets.get(name);
    if (!asset) {
      return reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .header('cache-control', 'no-store')
        .send('No such file in the web UI.\n');
    }
    void reply.header('cache-control', IMMUTABLE);
    return sendAsset(request, reply, asset);
  });

  const page = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    if (!index) {
      return reply
        .code(503)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('content-security-policy', NOT_BUILT_CSP)
        .header('x-content-type-options', 'nosniff')
        .send(NOT_BUILT);
    }
    if (request.identity === null || request.identity === undefined) {
      const next = safeNext(request.url);
      return reply
        .header('cache-control', 'no-store')
        .redirect(`/login?next=${encodeURIComponent(next)}`, 302);
    }
    void reply
      .header('cache-control', 'no-cache')
      .header('content-security-policy', WEB_CSP)
      .header('referrer-policy', 'same-origin')
      .header('x-frame-options', 'DENY');
    return sendAsset(request, reply, index);
  };
  for (const url of SPA_ROUTES) app.get(url, ROUTE, page);
};
