/**
 * The HTTP API: a Fastify instance with one plugin per domain under /api
 * (plus /metrics and /robots.txt at the root, see routes/meta.ts),
 * authentication as one hook, errors mapped in one handler, and the OpenAPI
 * document generated from the route schemas. The caller owns the server
 * (it passes `serverFactory` or uses `app.routing`); we never listen here.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerFactory } from 'fastify';
import swagger from '@fastify/swagger';
import { Type } from '@sinclair/typebox';
import type { Logger } from '../log/index.js';
import type { Directory } from '../identity/types.js';
import type { Platform } from './platform.js';
import { installAuthHook } from './auth-hook.js';
import { installErrorHandling } from './errors.js';
import { ErrorBody, errorResponses } from './schemas.js';
import type { PasswordLogin, ProviderListing, SsoStatusSource, TypeBoxTypeProvider } from './types.js';
import { authRoutes } from './routes/auth.js';
import { appsRoutes } from './routes/apps.js';
import { configRoutes } from './routes/config.js';
import { psRoutes } from './routes/ps.js';
import { logsRoutes } from './routes/logs.js';
import { releasesRoutes } from './routes/releases.js';
import { buildsRoutes } from './routes/builds.js';
import { deployRoutes } from './routes/deploy.js';
import { usersRoutes } from './routes/users.js';
import { credentialsRoutes } from './routes/credentials.js';
import { sharingRoutes } from './routes/sharing.js';
import { adminRoutes } from './routes/admin.js';
import { sessionRoutes, ssoLoginCompleter, type SessionSettings } from './routes/session.js';
import { scalingRoutes } from './routes/scaling.js';
import { limitsRoutes } from './routes/limits.js';
import { eventsRoutes } from './routes/events.js';
import { cronRoutes } from './routes/cron.js';
import { runRoutes } from './routes/run.js';
import { metaRoutes } from './routes/meta.js';
import { thumbnailsRoutes } from './routes/thumbnails.js';
import { streamsRoutes } from './routes/streams.js';

export type {
  Platform,
  User,
  AppSummary,
  AppInfo,
  ReleaseInfo,
  BuildInfo,
  OutputSink,
  ScalingInfo,
  LimitsInfo,
  AppEvent,
  CronJobInfo,
  CronRunInfo,
  MetricPoint,
  MetricSeries,
  AppMeta,
  ThumbnailInfo,
  AppActivity,
  BuildWatch,
  AppUsage,
  ResourceOverview,
} from './platform.js';
export type {
  RouteAccess,
  PasswordLogin,
  PasswordLoginResult,
  ProviderListing,
  CompleteSsoLogin,
  SsoStatus,
  SsoStatusSource,
} from './types.js';
export { formatLogLine } from './routes/logs.js';
export { DEPLOY_OK, DEPLOY_FAILED, TARBALL_TYPES } from './routes/deploy.js';
export { configKeyProblem } from './routes/config.js';
export { PROCESS_TYPE } from './routes/ps.js';
export { NDJSON_TYPE } from './ndjson.js';
export { MAX_ARGS, MAX_ARGV_BYTES } from './routes/run.js';
export { THUMBNAIL_TYPES } from './routes/thumbnails.js';
export { STREAM_LINES_DEFAULT, STREAM_LINES_MAX, METRICS_REFRESH_MS } from './routes/streams.js';
export { openSse, type SseStream } from './sse.js';
export { MIN_IDLE_TIMEOUT_MS, MAX_IDLE_TIMEOUT_MS } from './routes/scaling.js';
export { MIN_MEMORY_BYTES } from './routes/limits.js';
export { ROBOTS_TXT, PROMETHEUS_TYPE } from './routes/meta.js';
export { isApiPath, bearerToken } from './auth-hook.js';
export { ssoLoginCompleter, startSession, type SessionSettings } from './routes/session.js';
export { renderLoginPage, escapeHtml, securePageHeaders } from './login-page.js';
export type { ErrorReply } from './errors.js';

/** Routes reachable without credentials (besides the sign-in pages and what `extraRoutes` adds). */
export const PUBLIC_ROUTES = [
  'GET /api/health',
  'GET /api/openapi.json',
  'POST /api/login',
  'GET /api/auth/providers',
  'GET /robots.txt',
] as const;

export interface BuildApiOptions {
  /** App operations (records, deploys, processes, logs). */
  platform: Platform;
  /** Users, groups, tokens, sessions, keys, app access, audit: every per-request check reads it. */
  directory: Directory;
  /** Password logins (local users, then LDAP providers), rate limited: the LoginService. */
  login: PasswordLogin;
  logger: Logger;
  version: string;
  /** Public base URL of this server (the OpenAPI server; cookie-authenticated writes must come from its origin). */
  publicUrl: string;
  /** Session cookie name: sessionCookieName(publicUrl) from src/identity/cookies.ts. */
  cookieName: string;
  /** Set the Secure flag on the session cookie (publicUrl is https). */
  secureCookies: boolean;
  /** Browser session lifetime. */
  sessionTtlMs: number;
  /** SSO providers, for the sign-in page and GET /api/auth/providers. */
  providers?: readonly ProviderListing[];
  /** JWKS of the Gantry-Identity signing keys, served at GET /.well-known/jwks.json. */
  jwks?: () => object;
  /** Re-encrypts all secrets under a new master key (POST /api/admin/master-key/rotate); audited here, not there. */
  rotateMasterKey?: () => Promise<{ keyId: string; reencrypted: number }>;
  /** SSO providers' health for GET /api/admin/sso (without it: no providers, and checks 404). */
  sso?: SsoStatusSource;
  /**
   * Registers more routes (the SSO plugin's /auth/NAME/…) after the API's own.
   * Each must declare `config.access`; `app.completeSsoLogin` finishes a login.
   */
  extraRoutes?: (app: FastifyInstance) => Promise<void>;
  /** HTML for `GET /` (a small status/landing page), if the server has one. */
  statusPage?: () => Promise<string>;
  /** Passed to Fastify: lets the caller own the HTTP server (one port for API, git and router). */
  serverFactory?: FastifyServerFactory;
  /** Largest deploy upload in bytes (default 512 MiB). */
  maxUploadBytes?: number;
}

export async function buildApi(opts: BuildApiOptions): Promise<FastifyInstance> {
  const { platform, directory, logger } = opts;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    ...(opts.serverFactory ? { serverFactory: opts.serverFactory } : {}),
    // JSON bodies are small; the tarball route raises its own limit.
    bodyLimit: 1024 * 1024,
  });
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const providers = opts.providers ?? [];
  const session: SessionSettings = {
    directory,
    cookieName: opts.cookieName,
    secureCookies: opts.secureCookies,
    sessionTtlMs: opts.sessionTtlMs,
  };

  installErrorHandling(app);
  installAuthHook(app, { directory, cookieName: opts.cookieName, publicUrl: opts.publicUrl });
  app.decorate('completeSsoLogin', ssoLoginCompleter(session));
  app.addSchema(ErrorBody);

  // Registered before the routes: swagger collects them with an onRoute hook.
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gantry API',
        version: opts.version,
        description:
          'Deploy, run and manage data apps. Authenticate with `Authorization: Bearer TOKEN` (POST /api/login, ' +
          'or POST /api/tokens). Browsers use the session cookie and send X-CSRF-Token (GET /api/session) on writes.',
      },
      servers: [{ url: opts.publicUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          session: { type: 'apiKey', in: 'cookie', name: opts.cookieName },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });

  typed.get(
    '/api/health',
    {
      config: { access: 'public' },
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
      config: { access: 'public' },
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
    app.get('/', { schema: { hide: true }, config: { access: 'public' } }, async (_request, reply) =>
      reply.type('text/html; charset=utf-8').send(await render()),
    );
  }

  if (opts.jwks) {
    const jwks = opts.jwks;
    app.get(
      '/.well-known/jwks.json',
      { schema: { hide: true }, config: { access: 'public' } },
      async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(jwks()),
    );
  }

  const base = { platform, directory, logger, prefix: '/api' };
  await app.register(authRoutes, { ...base, login: opts.login, providers });
  await app.register(appsRoutes, base);
  await app.register(configRoutes, base);
  await app.register(psRoutes, base);
  await app.register(logsRoutes, base);
  await app.register(releasesRoutes, base);
  await app.register(buildsRoutes, base);
  await app.register(deployRoutes, { ...base, maxUploadBytes: opts.maxUploadBytes });
  await app.register(usersRoutes, base);
  await app.register(credentialsRoutes, base);
  await app.register(sharingRoutes, base);
  await app.register(adminRoutes, { ...base, rotateMasterKey: opts.rotateMasterKey, sso: opts.sso });
  await app.register(scalingRoutes, base);
  await app.register(limitsRoutes, base);
  await app.register(eventsRoutes, base);
  await app.register(cronRoutes, base);
  await app.register(runRoutes, base);
  await app.register(thumbnailsRoutes, base);
  await app.register(streamsRoutes, base);
  // At the server root: Prometheus scrapes /metrics, crawlers read /robots.txt.
  await app.register(metaRoutes, { platform, directory, logger });
  await app.register(sessionRoutes, {
    ...session,
    platform,
    logger,
    login: opts.login,
    providers,
    origin: new URL(opts.publicUrl).origin,
  });
  if (opts.extraRoutes) await opts.extraRoutes(app);

  return app;
}
