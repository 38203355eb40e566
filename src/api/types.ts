/**
 * Shared types of the API layer: the TypeBox type provider (so route handlers
 * get typed params/body/replies from their schemas), the plugin shape every
 * domain plugin has, route access levels and `request.identity`.
 */
import type { SsoStatus } from '../sso/index.js';
import type {
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  FastifyTypeProvider,
  RawServerDefault,
} from 'fastify';
import type { Static, TSchema } from '@sinclair/typebox';
import type { Logger } from '../log/index.js';
import type { Platform } from './platform.js';
import type { AppAction } from '../identity/policy.js';
import type { Actor, Directory, ExternalIdentity, Identity, Role } from '../identity/types.js';
import { GantryError } from '../errors/index.js';

/** Infers request and reply types from TypeBox schemas (what @fastify/type-provider-typebox does). */
export interface TypeBoxTypeProvider extends FastifyTypeProvider {
  readonly validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  readonly serializer: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
}

/** What every domain plugin receives. */
export interface ApiPluginOptions {
  platform: Platform;
  directory: Directory;
  logger: Logger;
}

export type ApiPlugin<Extra = object> = FastifyPluginAsync<
  ApiPluginOptions & Extra,
  RawServerDefault,
  TypeBoxTypeProvider
>;

/**
 * Who may call a route. Declared on every route (`config: { access }`) and
 * enforced by one hook; a route without it makes buildApi throw.
 * - `public`: anyone, no credentials needed;
 * - `user`: any authenticated caller;
 * - `admin`: admins with a full-scope token or a session;
 * - `create-app`: developers and admins;
 * - `self`: any authenticated caller for their own things; `?user=NAME` (someone else's) needs an admin;
 * - `{ app }`: the right named on the app in the `:app` param (see allows() in src/identity/policy.ts).
 *   Callers without even the view right get the same 404 as for a missing app.
 */
export type RouteAccess = 'public' | 'user' | 'admin' | 'create-app' | 'self' | { app: AppAction };

/** The login outcome of a username and password (local users first, then LDAP providers). */
export type PasswordLoginResult =
  { identity: Identity } | { refused: true; retryAfterMs: number } | { failed: true };

/** What the API needs of the LoginService (src/identity/login.ts): rate limited password logins. */
export interface PasswordLogin {
  passwordLogin(username: string, password: string, ctx: { ip: string }): Promise<PasswordLoginResult>;
}

/** An SSO provider as the login page and /api/auth/providers list it. */
export interface ProviderListing {
  name: string;
  type: 'ldap' | 'oidc' | 'saml';
  label: string;
}

/** How one SSO provider is doing (GET /api/admin/sso): defined beside its tracker. */
export type { SsoStatus };

/**
 * The SSO providers' health, for admins (implemented by the SSO plugin).
 * `list` is cheap and synchronous (counters in memory); `check` contacts the
 * identity provider now (OIDC discovery, LDAP bind, SAML certificate) and
 * resolves with the updated status, never rejecting for the provider's own
 * failure (that is `status: 'error'`); it throws GANTRY_NOT_FOUND for an
 * unknown name.
 */
export interface SsoStatusSource {
  list(): SsoStatus[];
  check(name: string): Promise<SsoStatus>;
}

/**
 * Finishes a browser SSO login: creates or updates the user, starts a session,
 * sets the cookie and sends the redirect (303) to `next` if it is a safe local
 * path, else to `/`. Fits the SSO plugin's `onLogin` as it is.
 * Throws GantryError (e.g. GANTRY_CONFLICT when a local user has that name).
 */
export type CompleteSsoLogin = (
  ext: ExternalIdentity,
  provider: { name: string; defaultRole: Role },
  request: FastifyRequest,
  reply: FastifyReply,
  next: unknown,
) => Promise<void>;

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller, or null (anonymous; only on public routes). Set by the auth hook. */
    identity: Identity | null;
  }
  interface FastifyContextConfig {
    /** Who may call the route; required on every route. */
    access?: RouteAccess;
    /** Same as `access: 'public'` (kept for plugins that declare it so). */
    public?: boolean;
  }
  interface FastifyInstance {
    /** See CompleteSsoLogin; for the SSO plugin registered through `extraRoutes`. */
    completeSsoLogin: CompleteSsoLogin;
  }
}

/** The caller of an authenticated route (the auth hook guarantees it is set). */
export function identityOf(request: FastifyRequest): Identity {
  if (!request.identity) throw new GantryError('GANTRY_UNAUTHORIZED', 'authentication required');
  return request.identity;
}

/** Who did it and from where, for the audit log. */
export function actorOf(request: FastifyRequest): Actor {
  return { username: request.identity?.username ?? null, ip: request.ip };
}

/**
 * `preValidation` for routes whose JSON body is optional: a request without
 * a body validates as `{}` (Fastify would validate `undefined` and fail).
 */
export async function emptyBodyIsObject(request: FastifyRequest): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {};
}
