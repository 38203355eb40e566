/**
 * Routes at the server root, outside /api: Prometheus metrics (scraped with
 * an admin token) and robots.txt (crawlers must not wake sleeping apps).
 */
import { TextBody, errorResponses } from '../schemas.js';
import type { ApiPlugin } from '../types.js';

/** Prometheus text exposition format. */
export const PROMETHEUS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Apps are under /apps/ (a crawler's request would wake a sleeping app; the
 * router also refuses known crawlers); the rest is the control plane.
 */
export const ROBOTS_TXT = [
  'User-agent: *',
  'Disallow: /apps/',
  'Disallow: /api/',
  'Disallow: /git/',
  'Disallow: /login',
  '',
].join('\n');

export const metaRoutes: ApiPlugin = async (app, { platform }) => {
  app.get(
    '/metrics',
    {
      config: { access: 'admin' },
      schema: {
        summary: "Every app's metrics in Prometheus text format (admin token as Bearer)",
        tags: ['meta'],
        produces: ['text/plain'],
        response: { 200: TextBody, ...errorResponses },
      },
    },
    async (_request, reply) => {
      const text = await platform.prometheus();
      return reply.type(PROMETHEUS_TYPE).header('cache-control', 'no-store').send(text);
    },
  );

  app.get(
    '/robots.txt',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Keeps crawlers out of apps (they would wake sleeping ones) and the control plane',
        tags: ['meta'],
        security: [],
        produces: ['text/plain'],
        response: { 200: TextBody, ...errorResponses },
      },
    },
    async (_request, reply) =>
      reply
        .type('text/plain; charset=utf-8')
        .header('cache-control', 'public, max-age=86400')
        .send(ROBOTS_TXT),
  );
};
