/**
 * TypeBox schemas of the API's request and response bodies. The same objects
 * validate input (Ajv), serialize output (fast-json-stringify drops any field
 * not listed here, so internals never leak) and document the OpenAPI spec.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { APP_NAME_MAX, APP_NAME_PATTERN, PROCESS_NAME_MAX, PROCESS_NAME_PATTERN } from '../apps/index.js';

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** Dates leave as ISO strings; the platform may hand us Date objects. */
export const DateTime = Type.Unsafe<Date | string>({ type: 'string', format: 'date-time' });

export const ErrorBody = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }) },
  { $id: 'ErrorBody', description: 'Every error: a stable code and a one-line message.' },
);

/** Error replies documented on every route. */
export const errorResponses = {
  '4xx': Type.Ref('ErrorBody'),
  '5xx': Type.Ref('ErrorBody'),
} as const;

/** The apps module's naming rule, checked at the edge so hostile names never reach a handler. */
export const AppName = Type.String({
  pattern: APP_NAME_PATTERN.source,
  minLength: 1,
  maxLength: APP_NAME_MAX,
});
export const AppParams = Type.Object({ app: AppName });

/** A Procfile process type (RFC 1123 label, lowercase): types end up in hostnames, labels and unit names. */
export const ProcessType = Type.String({ pattern: PROCESS_NAME_PATTERN.source, maxLength: PROCESS_NAME_MAX });

/**
 * `T` or null, as one JSON-schema type list. Not `Nullable` in request bodies: Fastify's Ajv
 * coerces types, and inside an anyOf it would turn null into 0 (or 0 into null).
 */
export const OrNull = <T extends TSchema>(t: T) =>
  // Object.entries leaves TypeBox's symbol keys behind: this is plain JSON schema.
  Type.Unsafe<Static<T> | null>({ ...Object.fromEntries(Object.entries(t)), type: [t.type, 'null'] });

/** Resource limits of a process (a field left out: unlimited). */
export const LimitsBody = Type.Object({
  memoryBytes: Type.Optional(Type.Integer({ description: 'bytes' })),
  cpu: Type.Optional(Type.Number({ description: 'cores, e.g. 0.5' })),
  pids: Type.Optional(Type.Integer({ description: 'most tasks (processes + threads)' })),
});

export const RoleBody = Type.Union([
  Type.Literal('admin'),
  Type.Literal('developer'),
  Type.Literal('viewer'),
]);
export const VisibilityBody = Type.Union([
  Type.Literal('public'),
  Type.Literal('authenticated'),
  Type.Literal('restricted'),
]);

/** An app's portal picture. */
export const ThumbnailBody = Type.Object({
  url: Type.String({ description: '/api/apps/NAME/thumbnail?v=VERSION (the version busts caches)' }),
  source: Type.Union([Type.Literal('auto'), Type.Literal('upload')]),
  updatedAt: Type.String(),
});

export const AppSummaryBody = Type.Object({
  name: Type.String(),
  /** Display name; null shows the name. */
  title: Nullable(Type.String()),
  description: Type.String(),
  tags: Type.Array(Type.String()),
  currentVersion: Nullable(Type.Integer()),
  status: Type.String(),
  url: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  lastDeployAt: Nullable(Type.String()),
  thumbnail: Nullable(ThumbnailBody),
  /** Owner's username; null when the owner was deleted. */
  owner: Nullable(Type.String()),
  visibility: VisibilityBody,
  /** The caller's highest right on the app. */
  access: Type.Union([Type.Literal('view'), Type.Literal('manage'), Type.Literal('own')]),
});

export const ProcessBody = Type.Object({
  deployment: Type.String(),
  app: Type.String(),
  release: Type.Integer(),
  type: Type.String(),
  index: Type.Integer(),
  name: Type.String(),
  state: Type.String(),
  pid: Type.Optional(Type.Integer()),
  host: Type.String(),
  port: Type.Optional(Type.Integer()),
  restarts: Type.Integer(),
  startedAt: Type.Optional(DateTime),
  lastExit: Type.Optional(
    Type.Object({
      code: Nullable(Type.Integer()),
      signal: Nullable(Type.String()),
      at: DateTime,
    }),
  ),
  nextRestartAt: Type.Optional(DateTime),
  limits: Type.Optional(LimitsBody),
  usage: Type.Optional(
    Type.Object({
      cpuPercent: Type.Number({ description: 'percent of one core over the last sample interval' }),
      memoryBytes: Type.Integer(),
      at: DateTime,
    }),
  ),
  oomKills: Type.Optional(Type.Integer()),
});

export const Formation = Type.Record(Type.String(), Type.Integer({ minimum: 0 }));

export const AppInfoBody = Type.Composite([
  AppSummaryBody,
  Type.Object({
    gitUrl: Type.String(),
    formation: Formation,
    processTypes: Type.Record(Type.String(), Type.String()),
    buildpack: Nullable(Type.String()),
    framework: Nullable(Type.String()),
    commit: Nullable(Type.String()),
    processes: Type.Array(ProcessBody),
  }),
]);

export const ReleaseBody = Type.Object({
  version: Type.Integer(),
  description: Type.String(),
  commit: Nullable(Type.String()),
  createdAt: Type.String(),
  current: Type.Boolean(),
  configKeys: Type.Array(Type.String()),
});

export const BuildBody = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed')]),
  commit: Nullable(Type.String()),
  error: Nullable(Type.String()),
  releaseVersion: Nullable(Type.Integer()),
  startedAt: Type.String(),
  finishedAt: Nullable(Type.String()),
});

/** Plain-text replies (logs, build output, deploy stream). */
export const TextBody = Type.String({ description: 'text/plain' });

/** A username or group name (the rule of parsePrincipal in src/identity/types.ts). */
export const PrincipalName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$' });
/** `user:NAME`, `group:NAME` or a bare NAME (a user). */
export const PrincipalString = Type.String({ minLength: 1, maxLength: 106 });

export const UserInfoBody = Type.Object({
  username: Type.String(),
  email: Nullable(Type.String()),
  role: RoleBody,
  groups: Type.Array(Type.String()),
  /** `local` or the SSO provider that created the user. */
  source: Type.String(),
  createdAt: Type.String(),
});

export const GroupInfoBody = Type.Object({
  name: Type.String(),
  source: Type.String(),
  members: Type.Array(Type.String()),
  createdAt: Type.String(),
});

export const TokenInfoBody = Type.Object({
  id: Type.String(),
  name: Type.String(),
  /** `full`, `read` or `app:NAME`. */
  scope: Type.String(),
  createdAt: Type.String(),
  lastUsedAt: Nullable(Type.String()),
  expiresAt: Nullable(Type.String()),
});

export const SshKeyBody = Type.Object({
  id: Type.String(),
  name: Type.String(),
  fingerprint: Type.String(),
  type: Type.String(),
  createdAt: Type.String(),
  lastUsedAt: Nullable(Type.String()),
});

export const AuditEventBody = Type.Object({
  id: Type.String(),
  at: Type.String(),
  actor: Nullable(Type.String()),
  action: Type.String(),
  target: Nullable(Type.String()),
  ip: Nullable(Type.String()),
  detail: Type.Record(Type.String(), Type.Unknown()),
});

/** `?user=NAME`: someone else's tokens or keys (admins only). */
export const ForUserQuery = Type.Object({
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
});

/** One app's line in the admin resource overview. */
export const AppUsageBody = Type.Object({
  name: Type.String(),
  owner: Nullable(Type.String()),
  status: Type.String(),
  processes: Type.Integer(),
  webReplicas: Type.Integer(),
  cpuPercent: Type.Number(),
  memoryBytes: Type.Integer(),
  rps: Type.Number({ description: 'average over the last 5 minutes' }),
  p95Ms: Nullable(Type.Number()),
  errors: Type.Integer({ description: '5xx responses over the last hour' }),
});

export const ResourceOverviewBody = Type.Object({
  totals: Type.Object({
    apps: Type.Integer(),
    running: Type.Integer(),
    sleeping: Type.Integer(),
    stopped: Type.Integer(),
    processes: Type.Integer(),
    cpuPercent: Type.Number(),
    memoryBytes: Type.Integer(),
  }),
  /** Busiest first. */
  apps: Type.Array(AppUsageBody),
  at: Type.String(),
});

/** How one SSO provider is doing. */
export const SsoStatusBody = Type.Object({
  name: Type.String(),
  type: Type.Union([Type.Literal('oidc'), Type.Literal('saml'), Type.Literal('ldap')]),
  label: Type.String(),
  defaultRole: RoleBody,
  status: Type.Union([Type.Literal('ok'), Type.Literal('error'), Type.Literal('unknown')]),
  detail: Type.String(),
  checkedAt: Nullable(Type.String()),
  logins: Type.Integer(),
  failures: Type.Integer(),
  lastLoginAt: Nullable(Type.String()),
  lastFailureAt: Nullable(Type.String()),
  lastError: Nullable(Type.String()),
});

/** Release, build and event records as the live streams send them. */
export const AppEventBody = Type.Object({
  at: Type.String(),
  kind: Type.String({
    description: 'start, stop, crash, oom, restart, wake, sleep, scale, deploy, release, cron…',
  }),
  process: Nullable(Type.String({ description: 'APP.TYPE.N; null for app-wide events' })),
  message: Type.String(),
});
