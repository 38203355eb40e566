/**
 * Browser sessions: the sign-in page (GET/POST /login), sign-out (POST
 * /logout), GET /api/session for the portal (who, and the CSRF token its
 * writes must send), and the helper that finishes SSO logins.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GantryError } from '../../errors/index.js';
import { safeEqual } from '../../auth/index.js';
import { clearSessionCookie, sessionSetCookie } from '../../identity/cookies.js';
import { safeNext } from '../../identity/next.js';
import type { Directory, Identity } from '../../identity/types.js';
import { renderLoginPage, securePageHeaders } from '../login-page.js';
import { Nullable, RoleBody, errorResponses } from '../schemas.js';
import {
  identityOf,
  type ApiPlugin,
  type CompleteSsoLogin,
  type PasswordLogin,
  type ProviderListing,
} from '../types.js';
import { retryAfterSeconds } from './auth.js';

/** How sessions are started and their cookie is set. */
export interface SessionSettings {
  directory: Directory;
  cookieName: string;
  /** Mark the cookie Secure (the public URL is https). */
  secureCookies: boolean;
  sessionTtlMs: number;
}

export interface SessionRoutesOptions extends SessionSettings {
  login: PasswordLogin;
  providers: readonly ProviderListing[];
  /** Origin of the public URL: POSTs with another Origin are refused. */
  origin: string;
}

/**
 * Starts a session for `id`, sets the cookie and redirects (303) to the safe
 * form of `next`. A session the browser already had is ended first, so a
 * cookie planted before login never becomes an authenticated one.
 */
export async function startSession(
  s: SessionSettings,
  id: Identity,
  provider: string,
  request: FastifyRequest,
  reply: FastifyReply,
  next: unknown,
): Promise<FastifyReply> {
  const old = request.identity?.session;
  if (old) await s.directory.endSession(old.id);
  const { cookie } = await s.directory.createSession(id.userId, {
    ip: request.ip,
    userAgent: request.headers['user-agent']?.slice(0, 500) ?? null,
    provider,
    ttlMs: s.sessionTtlMs,
  });
  return reply
    .header('cache-control', 'no-store')
    .header(
      'set-cookie',
      sessionSetCookie(s.cookieName, cookie, {
        secure: s.secureCookies,
        maxAgeSeconds: Math.floor(s.sessionTtlMs / 1000),
      }),
    )
    .redirect(safeNext(next), 303);
}

/** The SSO plugin's onLogin: user from the provider's claims, then a session like a password login. */
export function ssoLoginCompleter(s: SessionSettings): CompleteSsoLogin {
  return async (ext, provider, request, reply, next) => {
    const id = await s.directory.upsertExternalUser(ext, provider.defaultRole);
    await s.directory.audit({ username: id.username, ip: request.ip }, 'login', `user:${id.username}`, {
      via: provider.name,
    });
    await startSession(s, id, provider.name, request, reply, next);
  };
}

/** Form fields, first value of each; a null-prototype object so no field name is special. */
function parseForm(body: string): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const [k, v] of new URLSearchParams(body)) if (!(k in out)) out[k] = v;
  return out;
}

const field = (form: unknown, name: string): string | undefined => {
  if (form === null || typeof form !== 'object') return undefined;
  const v = (form as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
};

const SessionBody = Type.Object({
  user: Type.Object({
    username: Type.String(),
    email: Nullable(Type.String()),
    role: RoleBody,
    groups: Type.Array(Type.String()),
  }),
  /** Send as X-CSRF-Token with every cookie-authenticated write; '' for token callers. */
  csrfToken: Type.String(),
  expiresAt: Nullable(Type.String()),
});

export const sessionRoutes: ApiPlugin<SessionRoutesOptions> = async (app, opts) => {
  const { directory, login, providers, origin } = opts;

  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 64 * 1024 },
    (_request, body, done) => done(null, parseForm(body as string)),
  );

  const page = (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    next: string,
    extra: { message?: string; username?: string } = {},
  ) => {
    const session = request.identity?.session;
    return securePageHeaders(reply)
      .status(status)
      .send(
        renderLoginPage({
          next,
          providers,
          ...extra,
          ...(session ? { signedIn: { username: request.identity!.username, csrf: session.csrf } } : {}),
        }),
      );
  };

  app.get(
    '/api/session',
    {
      config: { access: 'user' },
      schema: {
        summary: 'The signed-in user and the CSRF token for cookie-authenticated writes',
        tags: ['auth'],
        response: { 200: SessionBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const id = identityOf(request);
      void reply.header('cache-control', 'no-store');
      let expiresAt: string | null = null;
      if (id.session) expiresAt = (id.session as { expiresAt?: string }).expiresAt ?? null;
      else if (id.token)
        expiresAt = directory.listTokens(id.username).find((t) => t.id === id.token!.id)?.expiresAt ?? null;
      return {
        user: { username: id.username, email: id.email, role: id.role, groups: [...id.groups] },
        csrfToken: id.session?.csrf ?? '',
        expiresAt,
      };
    },
  );

  app.get(
    '/login',
    {
      config: { access: 'public' },
      schema: { hide: true, querystring: Type.Object({ next: Type.Optional(Type.String()) }) },
    },
    async (request, reply) => page(request, reply, 200, safeNext(request.query.next)),
  );

  app.post('/login', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const next = safeNext(field(request.body, 'next'));
    const sentOrigin = request.headers.origin;
    if (sentOrigin !== undefined && sentOrigin !== origin) {
      return page(request, reply, 403, next, { message: 'Sign-in from another site was refused.' });
    }
    const username = field(request.body, 'username')?.trim() ?? '';
    const password = field(request.body, 'password') ?? '';
    if (!username || !password || username.length > 200 || password.length > 1000) {
      return page(request, reply, 400, next, { message: 'Enter your username and password.', username });
    }
    const outcome = await login.passwordLogin(username, password, { ip: request.ip });
    if ('refused' in outcome) {
      const seconds = retryAfterSeconds(outcome.retryAfterMs);
      const minutes = Math.ceil(Number(seconds) / 60);
      void reply.header('retry-after', seconds);
      return page(request, reply, 429, next, {
        message: `Too many failed sign-ins. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
        username,
      });
    }
    if ('failed' in outcome) {
      return page(request, reply, 401, next, { message: 'Invalid username or password', username });
    }
    return startSession(opts, outcome.identity, 'password', request, reply, next);
  });

  app.post('/logout', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const id = request.identity;
    const session = id?.via === 'session' ? id.session : undefined;
    if (session) {
      // A cross-site form must not sign the user out: our Origin, or the session's CSRF token.
      const sentOrigin = request.headers.origin;
      const token = field(request.body, 'csrf') ?? request.headers['x-csrf-token'];
      const tokenOk = typeof token === 'string' && safeEqual(token, session.csrf);
      if ((sentOrigin !== undefined && sentOrigin !== origin) || (!tokenOk && sentOrigin !== origin)) {
        throw new GantryError('GANTRY_FORBIDDEN', 'missing or invalid CSRF token');
      }
      // The directory audits the logout.
      await directory.endSession(session.id);
    }
    return reply
      .header('cache-control', 'no-store')
      .header('set-cookie', clearSessionCookie(opts.cookieName, opts.secureCookies))
      .redirect('/login', 303);
  });
};
