/**
 * The browser side of single sign-on, as one encapsulated Fastify plugin:
 *
 *   GET  /auth/:provider/start?next=/path  → 302 to the identity provider
 *   GET  /auth/:provider/callback          ← OIDC authorization response
 *   POST /auth/:provider/callback          ← SAML Response (HTTP-POST binding, form-urlencoded)
 *   GET  /auth/:provider/metadata          → SAML service-provider metadata
 *
 * A login in flight is kept in memory under a random `stateId` (10 minutes,
 * bounded count, one use). It travels through the provider as OIDC `state` /
 * SAML `RelayState`. OIDC logins are also bound to the browser that started
 * them with a short `gantry_sso` cookie; SAML cannot use one (the IdP POSTs
 * cross-site, so a SameSite=Lax cookie is not sent) and relies on RelayState
 * plus InResponseTo, which the provider checks against the request it sent.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyContextConfig, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { isGantryError } from '../errors/index.js';
import { readCookie } from '../identity/cookies.js';
import type { ExternalIdentity } from '../identity/types.js';
import { safeNext } from '../identity/next.js';
import type { Logger } from '../log/index.js';
import { isUserSide } from './settings.js';
import type { LoginObserver, RedirectProvider } from './types.js';

/** Short-lived cookie binding an OIDC login to the browser that started it. */
export const SSO_COOKIE = 'gantry_sso';

/**
 * Called once a provider has vouched for a user. It must create or update the
 * user, start a session, set the session cookie and redirect to `next` (already
 * made safe with safeNext). If it sends nothing, the route redirects to `next`
 * (303). If it throws, the browser gets the failure page: a GantryError's
 * message is shown (e.g. GANTRY_CONFLICT "username taken") with its status.
 */
export type SsoLoginHandler = (
  ext: ExternalIdentity,
  provider: RedirectProvider,
  request: FastifyRequest,
  reply: FastifyReply,
  next: string,
) => Promise<void>;

/** Told about every failed SSO login (for the audit log); the failure page is sent afterwards regardless. */
export type SsoFailureHandler = (failure: {
  /** Provider name from the URL (may be unknown). */
  provider: string;
  /** What the user is shown. */
  reason: string;
  request: FastifyRequest;
}) => void | Promise<void>;

export interface SsoRoutesOptions {
  providers: readonly RedirectProvider[];
  /** Public base URL (no trailing slash): callback URLs are built from it, never from the Host header. */
  publicUrl: string;
  logger: Logger;
  onLogin: SsoLoginHandler;
  onFailure?: SsoFailureHandler;
  /** Told each outcome (SsoStatusTracker): success once onLogin has finished, failure with whether the provider is to blame. */
  observer?: LoginObserver;
  /** How long a started login may take (default 10 minutes). */
  pendingTtlMs?: number;
  /** Most logins in flight at once (default 10,000; the oldest are dropped first). */
  maxPending?: number;
}

interface Pending {
  provider: string;
  state: string;
  next: string;
  expiresAt: number;
}

/** Logins in flight: one use each, expiring, bounded. Map order is insertion order, so the first is the oldest. */
class PendingLogins {
  readonly #map = new Map<string, Pending>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  put(id: string, p: Pending): void {
    const now = Date.now();
    for (const [k, v] of this.#map) {
      if (v.expiresAt > now && this.#map.size < this.#max) break;
      this.#map.delete(k);
    }
    this.#map.set(id, p);
  }

  /** Removes and returns the login (whatever happens next, it cannot be used again). */
  take(id: string): Pending | undefined {
    const p = this.#map.get(id);
    if (p === undefined) return undefined;
    this.#map.delete(id);
    return p.expiresAt > Date.now() ? p : undefined;
  }
}

/** Route config that lets the API's default-deny auth hook through. */
const PUBLIC_ROUTE = { public: true, access: 'public' } as FastifyContextConfig;
const STATE_ID_RE = /^[A-Za-z0-9_-]{43}$/;
const FORM_LIMIT = 256 * 1024;

class LoginFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const ssoRoutes: FastifyPluginAsync<SsoRoutesOptions> = async (app, opts) => {
  const byName = new Map(opts.providers.map((p) => [p.name, p]));
  const pending = new PendingLogins(opts.maxPending ?? 10_000);
  const ttlMs = opts.pendingTtlMs ?? 10 * 60_000;
  const secure = opts.publicUrl.startsWith('https:');
  const callbackUrl = (p: RedirectProvider): string => `${opts.publicUrl}/auth/${p.name}/callback`;
  // Errors thrown by a provider's begin()/complete(): only these can be the provider's fault.
  const providerErrors = new WeakSet<object>();
  const fromProvider = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      if (typeof e === 'object' && e !== null) providerErrors.add(e);
      throw e;
    }
  };

  if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) {
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: FORM_LIMIT },
      (_request, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)));
      },
    );
  }

  const providerOf = (name: string, type?: RedirectProvider['type']): RedirectProvider => {
    const p = byName.get(name);
    if (p === undefined) throw new LoginFailure(404, 'this sign-in method is not configured');
    if (type !== undefined && p.type !== type)
      throw new LoginFailure(400, `${p.label} does not answer this way (${p.type.toUpperCase()} provider)`);
    return p;
  };

  const takePending = (p: RedirectProvider, stateId: unknown): Pending => {
    const entry =
      typeof stateId === 'string' && STATE_ID_RE.test(stateId) ? pending.take(stateId) : undefined;
    if (entry === undefined || entry.provider !== p.name)
      throw new LoginFailure(400, 'this sign-in has expired or was already used');
    return entry;
  };

  const ssoCookie = (value: string, maxAge: number): string =>
    [`${SSO_COOKIE}=${value}`, 'Path=/auth/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAge}`]
      .concat(secure ? ['Secure'] : [])
      .join('; ');

  const fail = async (
    request: FastifyRequest,
    reply: FastifyReply,
    provider: string,
    e: unknown,
    /** False for requests that are not sign-ins (metadata): not counted by the observer. */
    signIn = true,
  ): Promise<FastifyReply> => {
    let status = 500;
    let reason = 'something went wrong on this server';
    if (e instanceof LoginFailure) {
      status = e.status;
      reason = e.message;
    } else if (isGantryError(e)) {
      status = e.status;
      reason = e.message;
    }
    const detail = isGantryError(e) ? e.details?.reason : undefined;
    opts.logger.warn(
      {
        provider,
        status,
        reason,
        ...(detail === undefined ? {} : { detail }),
        ...(status >= 500 ? { err: e } : {}),
      },
      'sso: sign-in failed',
    );
    if (opts.observer && signIn) {
      const providerFault = typeof e === 'object' && e !== null && providerErrors.has(e) && !isUserSide(e);
      opts.observer.loginFailed(provider, detail === undefined ? reason : `${reason} (${String(detail)})`, {
        providerFault,
      });
    }
    if (opts.onFailure) {
      try {
        await opts.onFailure({ provider, reason, request });
      } catch (err) {
        opts.logger.error({ err, provider }, 'sso: onFailure handler failed');
      }
    }
    return reply
      .code(status)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
      .send(failurePage(reason));
  };

  const finish = async (
    request: FastifyRequest,
    reply: FastifyReply,
    p: RedirectProvider,
    ext: ExternalIdentity,
    next: string,
  ): Promise<FastifyReply> => {
    opts.logger.info({ provider: p.name, username: ext.username }, 'sso: sign-in verified');
    await opts.onLogin(ext, p, request, reply, next);
    opts.observer?.loginSucceeded(p.name);
    if (!reply.sent) return reply.header('cache-control', 'no-store').redirect(next, 303);
    return reply;
  };

  type Params = { Params: { provider: string }; Querystring: Record<string, unknown> };

  app.get<Params>(
    '/auth/:provider/start',
    { config: PUBLIC_ROUTE, schema: { hide: true } },
    async (request, reply) => {
      try {
        const p = providerOf(request.params.provider);
        const stateId = randomBytes(32).toString('base64url');
        const { url, state } = await fromProvider(() => p.begin({ callbackUrl: callbackUrl(p), stateId }));
        pending.put(stateId, {
          provider: p.name,
          state,
          next: safeNext(request.query.next),
          expiresAt: Date.now() + ttlMs,
        });
        if (p.type === 'oidc') reply.header('set-cookie', ssoCookie(stateId, Math.ceil(ttlMs / 1000)));
        return reply.header('cache-control', 'no-store').redirect(url, 302);
      } catch (e) {
        return fail(request, reply, request.params.provider, e);
      }
    },
  );

  app.get<Params>(
    '/auth/:provider/callback',
    { config: PUBLIC_ROUTE, schema: { hide: true } },
    async (request, reply) => {
      try {
        const p = providerOf(request.params.provider, 'oidc');
        const cookie = readCookie(request.headers.cookie, SSO_COOKIE);
        if (cookie !== undefined) reply.header('set-cookie', ssoCookie('', 0));
        const entry = takePending(p, request.query.state);
        if (cookie === undefined || !sameSecret(cookie, request.query.state as string))
          throw new LoginFailure(
            401,
            'this sign-in was started in another browser or with cookies blocked; start again from this browser',
          );
        const q = request.url.indexOf('?');
        const url = new URL(callbackUrl(p));
        url.search = q === -1 ? '' : request.url.slice(q);
        const ext = await fromProvider(() =>
          p.complete({ callbackUrl: callbackUrl(p), url, state: entry.state }),
        );
        return await finish(request, reply, p, ext, entry.next);
      } catch (e) {
        return fail(request, reply, request.params.provider, e);
      }
    },
  );

  app.post<Params & { Body: unknown }>(
    '/auth/:provider/callback',
    { config: PUBLIC_ROUTE, schema: { hide: true } },
    async (request, reply) => {
      try {
        const p = providerOf(request.params.provider, 'saml');
        const form = formFields(request.body);
        const entry = takePending(p, form.RelayState);
        const url = new URL(callbackUrl(p));
        const ext = await fromProvider(() =>
          p.complete({ callbackUrl: callbackUrl(p), url, form, state: entry.state }),
        );
        return await finish(request, reply, p, ext, entry.next);
      } catch (e) {
        return fail(request, reply, request.params.provider, e);
      }
    },
  );

  app.get<Params>(
    '/auth/:provider/metadata',
    { config: PUBLIC_ROUTE, schema: { hide: true } },
    async (request, reply) => {
      try {
        const p = providerOf(request.params.provider, 'saml');
        if (p.metadata === undefined) throw new LoginFailure(404, `${p.label} has no metadata`);
        return reply
          .header('content-type', 'application/samlmetadata+xml; charset=utf-8')
          .send(p.metadata(callbackUrl(p)));
      } catch (e) {
        return fail(request, reply, request.params.provider, e, false);
      }
    },
  );
};

/** Compares two secrets without leaking, through timing, how much of them matched. */
function sameSecret(a: string, b: string): boolean {
  const h = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}

function formFields(body: unknown): Record<string, string> {
  if (typeof body !== 'object' || body === null)
    throw new LoginFailure(
      400,
      'the identity provider sent no form (expected application/x-www-form-urlencoded)',
    );
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === 'string') out[k] = v;
  return out;
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** The page a browser lands on when a sign-in fails. */
export function failurePage(reason: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in failed · Gantry</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style>
</head>
<body>
<h1>Sign-in failed</h1>
<p>Sign-in failed: ${escapeHtml(reason.replace(/\.$/, ''))}. <a href="/login">Try again</a></p>
</body>
</html>
`;
}
