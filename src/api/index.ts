/**
 * The HTTP API: a Fastify instance with one plugin per domain under /api,
 * authentication as one hook, errors mapped in one handler, and the OpenAPI
 * document generated from the route schemas. The caller owns the server
 * (it passes `serverFactory` or uses `app.routing`); we never listen here.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerFactory } from 'fastify';
import swagger from '@fastify/swagger';
import { Type } from '@sinclair/typebox';
import type { Logger } from '../log/index.js';
import type { Platform } from './platform.js';
import type { LoginLimiter } from '../auth/rate-limit.js';
import { installAuthHook } from './auth-hook.js';
import { installErrorHandling } from './errors.js';
import { ErrorBody, errorResponses } from './schemas.js';
import type { TypeBoxTypeProvider } from './types.js';
import { authRoutes } from './routes/auth.js';
import { appsRoutes } from './routes/apps.js';
import { configRoutes } from './routes/config.js';
import { psRoutes } from './routes/ps.js';
import { logsRoutes } from './routes/logs.js';
import { releasesRoutes } from './routes/releases.js';
import { buildsRoutes } from './routes/builds.js';
import { deployRoutes } from './routes/deploy.js';

export type { Platform, User, AppSummary, AppInfo, ReleaseInfo, BuildInfo, OutputSink } from './platform.js';
export { formatLogLine } from './routes/logs.js';
export { DEPLOY_OK, DEPLOY_FAILED, TARBALL_TYPES } from './routes/deploy.js';
export { configKeyProblem } from './routes/config.js';
export { PROCESS_TYPE } from './routes/ps.js';
export { isApiPath, bearerToken } from './auth-hook.js';
export type { ErrorReply } from './errors.js';

/** Routes reachable without a token. Everything else under /api needs one. */
export const PUBLIC_ROUTES = ['GET /api/health', 'GET /api/openapi.json', 'POST /api/login'] as const;

export interface BuildApiOptions {
  platform: Platform;
  logger: Logger;
  version: string;
  /** Public base URL of this server (listed as the OpenAPI server). */
  publicUrl: string;
  /** HTML for `GET /` (a small status/landing page), if the server has one. */
  statusPage?: () => Promise<string>;
  /** Passed to Fastify: lets the caller own the HTTP server (one port for API, git and router). */
  serverFactory?: FastifyServerFactory;
  /** Largest deploy upload in bytes (default 512 MiB). */
  maxUploadBytes?: number;
  /** Password-guessing limiter, shared with git basic auth (one per server). */
  loginLimiter?: LoginLimiter;
  /** Without `loginLimiter`: failed logins per client address per window before 429 (default 10 per 15 minutes). */
  maxLoginFailures?: number;
  loginWindowMs?: number;
}

export async function buildApi(opts: BuildApiOptions): Promise<FastifyInstance> {
  const { platform, logger } = opts;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    ...(opts.serverFactory ? { serverFactory: opts.serverFactory } : {}),
    // JSON bodies are small; the tarball route raises its own limit.
    bodyLimit: 1024 * 1024,
  });
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();

  installErrorHandling(app);
  installAuthHook(app, platform);
  app.addSchema(ErrorBody);

  // Registered before the routes: swagger collects them with an onRoute hook.
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gantry API',
        version: opts.version,
        description:
          'Deploy, run and manage data apps. Authenticate with `Authorization: Bearer TOKEN` (POST /api/login).',
      },
      servers: [{ url: opts.publicUrl }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });

  typed.get(
    '/api/health',
    {
      config: { public: true },
      schema: {
        summary: 'Liveness and version',
        tags: ['meta'],
        security: [],
        response: { 200: Type.Object({ status: Type.Literal('ok'), version: Type.String() }) },
      },
    },
    async () => ({ status: 'ok' as const, version: opts.version }),
  );

  app.get(
    '/api/openapi.json',
    {
      config: { public: true },
      schema: {
        summary: 'This document (OpenAPI 3.1)',
        tags: ['meta'],
        security: [],
        response: errorResponses,
      },
    },
    async () => app.swagger(),
  );

  if (opts.statusPage) {
    const render = opts.statusPage;
    app.get('/', { schema: { hide: true }, config: { public: true } }, async (_request, reply) =>
      reply.type('text/html; charset=utf-8').send(await render()),
    );
  }

  const base = { platform, logger, prefix: '/api' };
  await app.register(authRoutes, {
    ...base,
    loginLimiter: opts.loginLimiter,
    maxLoginFailures: opts.maxLoginFailures,
    loginWindowMs: opts.loginWindowMs,
  });
  await app.register(appsRoutes, base);
  await app.register(configRoutes, base);
  await app.register(psRoutes, base);
  await app.register(logsRoutes, base);
  await app.register(releasesRoutes, base);
  await app.register(buildsRoutes, base);
  await app.register(deployRoutes, { ...base, maxUploadBytes: opts.maxUploadBytes });

  return app;
}
