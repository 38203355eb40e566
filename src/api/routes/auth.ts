/** Login (password → API token, for the CLI), whoami and the list of sign-in providers. */
import { Type } from '@sinclair/typebox';
import { GantryError } from '../../errors/index.js';
import { formatScope } from '../../identity/types.js';
import { Nullable, RoleBody, errorResponses } from '../schemas.js';
import { identityOf, type ApiPlugin, type PasswordLogin, type ProviderListing } from '../types.js';

const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 200 }),
    password: Type.String({ minLength: 1, maxLength: 1000 }),
    tokenName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);

const WhoamiBody = Type.Object({
  username: Type.String(),
  email: Nullable(Type.String()),
  role: RoleBody,
  groups: Type.Array(Type.String()),
  token: Type.Optional(
    Type.Object({
      id: Type.String(),
      name: Type.Optional(Type.String()),
      scope: Type.String(),
      expiresAt: Nullable(Type.String()),
    }),
  ),
  /** How the caller authenticated: `token` or `session`. */
  via: Type.String(),
});

const ProvidersBody = Type.Object({
  providers: Type.Array(
    Type.Object({
      name: Type.String(),
      type: Type.Union([Type.Literal('ldap'), Type.Literal('oidc'), Type.Literal('saml')]),
      label: Type.String(),
      /** Where a browser starts the login (redirect providers only; LDAP users use the password form). */
      loginUrl: Type.Optional(Type.String()),
    }),
  ),
});

export interface AuthRoutesOptions {
  login: PasswordLogin;
  providers: readonly ProviderListing[];
}

/** Seconds for a Retry-After header (at least 1). */
export const retryAfterSeconds = (ms: number): string => String(Math.max(1, Math.ceil(ms / 1000)));

export const authRoutes: ApiPlugin<AuthRoutesOptions> = async (app, { directory, login, providers }) => {
  app.post(
    '/login',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Exchange a username and password for an API token (local or LDAP users)',
        tags: ['auth'],
        security: [],
        body: LoginBody,
        response: {
          200: Type.Object({ token: Type.String(), username: Type.String() }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { username, password, tokenName } = request.body;
      const outcome = await login.passwordLogin(username, password, { ip: request.ip });
      if ('refused' in outcome) {
        void reply.header('retry-after', retryAfterSeconds(outcome.retryAfterMs));
        throw new GantryError('GANTRY_TOO_MANY_REQUESTS', 'too many failed logins; try again later');
      }
      if ('failed' in outcome) {
        // Same message whether the user exists or not.
        throw new GantryError('GANTRY_UNAUTHORIZED', 'invalid username or password');
      }
      const user = outcome.identity.username;
      const { token } = await directory.createToken({ username: user, ip: request.ip }, user, {
        name: tokenName ?? 'api',
        scope: { kind: 'full' },
        expiresAt: null,
      });
      return { token, username: user };
    },
  );

  app.get(
    '/whoami',
    {
      config: { access: 'user' },
      schema: {
        summary: 'The caller: user, groups and the token used',
        tags: ['auth'],
        response: { 200: WhoamiBody, ...errorResponses },
      },
    },
    async (request) => {
      const id = identityOf(request);
      const info = id.token && directory.listTokens(id.username).find((t) => t.id === id.token!.id);
      return {
        username: id.username,
        email: id.email,
        role: id.role,
        groups: [...id.groups],
        via: id.via,
        ...(id.token
          ? {
              token: {
                id: id.token.id,
                ...(info ? { name: info.name } : {}),
                scope: formatScope(id.token.scope),
                expiresAt: info?.expiresAt ?? null,
              },
            }
          : {}),
      };
    },
  );

  app.get(
    '/auth/providers',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Sign-in providers (for login pages)',
        tags: ['auth'],
        security: [],
        response: { 200: ProvidersBody, ...errorResponses },
      },
    },
    async () => ({
      providers: providers.map((p) => ({
        name: p.name,
        type: p.type,
        label: p.label,
        ...(p.type === 'ldap' ? {} : { loginUrl: `/auth/${encodeURIComponent(p.name)}/start` }),
      })),
    }),
  );
};
