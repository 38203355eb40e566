/**
 * A real OpenID provider for tests (oidc-provider 9 on 127.0.0.1, random port)
 * whose login can be driven over HTTP without a browser: its interaction page
 * is a plain form (username + password) handled here, consent is granted
 * automatically, and `login()` follows the whole redirect dance with a cookie
 * jar. A browser (e2e tests) can use the same form.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Configuration, type JWK, type KoaContextWithOIDC } from 'oidc-provider';

export interface OidcTestUser {
  sub: string;
  username: string;
  email: string;
  groups: string[];
  password: string;
}

export interface OidcIdpOptions {
  users: OidcTestUser[];
  clientId: string;
  /** Absent: a public client (PKCE only, token_endpoint_auth_method none). */
  clientSecret?: string;
  redirectUris: string[];
  /** Put every claim in the ID token too (default: only `sub`; the rest through userinfo, as many IdPs do). */
  claimsInIdToken?: boolean;
}

export interface OidcIdp {
  issuer: string;
  /**
   * Follows a login from Gantry's `/auth/NAME/start` URL through the IdP's
   * login form to the redirect back to the client; returns that callback URL
   * (not fetched). Cookies set along the way (Gantry's `gantry_sso` too) land
   * in `jar`. Throws when the IdP refuses the credentials.
   */
  login(startUrl: string, username: string, password: string, jar?: CookieJar): Promise<string>;
  close(): Promise<void>;
}

/** Cookies by host name (browsers ignore the port), honouring Path and Max-Age=0. */
export class CookieJar {
  readonly #cookies = new Map<string, { value: string; path: string }>();

  #key(host: string, name: string): string {
    return `${host}\u0000${name}`;
  }

  store(url: string, response: Response): void {
    const host = new URL(url).hostname;
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = '/';
      let expired = false;
      for (const a of attrs) {
        const [k = '', v = ''] = a.trim().split('=');
        if (k.toLowerCase() === 'path') path = v;
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
        if (k.toLowerCase() === 'expires' && Date.parse(v) < Date.now()) expired = true;
      }
      if (expired) this.#cookies.delete(this.#key(host, name));
      else this.#cookies.set(this.#key(host, name), { value, path });
    }
  }

  /** The Cookie header a browser would send to `url` (empty string when none). */
  header(url: string): string {
    const u = new URL(url);
    const out: string[] = [];
    for (const [key, c] of this.#cookies) {
      const [host, name] = key.split('\u0000');
      if (host !== u.hostname || !u.pathname.startsWith(c.path)) continue;
      out.push(`${name}=${c.value}`);
    }
    return out.join('; ');
  }

  get(host: string, name: string): string | undefined {
    return this.#cookies.get(this.#key(host, name))?.value;
  }

  delete(host: string, name: string): void {
    this.#cookies.delete(this.#key(host, name));
  }
}

/** fetch without following redirects, through the jar. */
export async function jarFetch(jar: CookieJar, url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const cookie = jar.header(url);
  if (cookie !== '') headers.set('cookie', cookie);
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar.store(url, res);
  return res;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginForm(uid: string, error?: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Test IdP sign-in</title></head><body>
<h1>Test IdP</h1>${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label>Username <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form></body></html>`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export async function startOidcIdp(opts: OidcIdpOptions): Promise<OidcIdp> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const users = new Map(opts.users.map((u) => [u.sub, u]));
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });

  const config: Configuration = {
    clients: [
      {
        client_id: opts.clientId,
        ...(opts.clientSecret === undefined
          ? { token_endpoint_auth_method: 'none' }
          : { client_secret: opts.clientSecret, token_endpoint_auth_method: 'client_secret_basic' }),
        redirect_uris: opts.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'name'],
      groups: ['groups'],
    },
    conformIdTokenClaims: !opts.claimsInIdToken,
    cookies: { keys: [randomBytes(32).toString('hex')] },
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'test', alg: 'RS256', use: 'sig' }] as JWK[] },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      Grant: 3600,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, sub) => {
      const u = users.get(sub);
      if (!u) return undefined;
      return {
        accountId: sub,
        claims: () => ({
          sub,
          preferred_username: u.username,
          name: u.username,
          email: u.email,
          email_verified: true,
          groups: u.groups,
        }),
      };
    },
    // No consent screen: grant whatever was asked for (a first-party client).
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const existing = ctx.oidc.session?.grantIdFor(ctx.oidc.client!.clientId);
      if (existing) return ctx.oidc.provider.Grant.find(existing);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client!.clientId,
        accountId: ctx.oidc.session!.accountId!,
      });
      grant.addOIDCScope(String(ctx.oidc.params?.scope ?? 'openid'));
      await grant.save();
      return grant;
    },
    renderError: (ctx, out) => {
      ctx.type = 'text/plain';
      ctx.body = `IdP error: ${out.error}: ${out.error_description ?? ''}`;
    },
  };
  const provider = new Provider(issuer, config);
  const callback = provider.callback();

  const interaction = async (req: IncomingMessage, res: ServerResponse, uid: string, post: boolean) => {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid || details.prompt.name !== 'login') {
      res.statusCode = 400;
      res.end(`unexpected interaction ${details.prompt.name}`);
      return;
    }
    if (!post) {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(loginForm(uid));
      return;
    }
    const form = await readForm(req);
    const user = opts.users.find((u) => u.username === form.get('username'));
    if (!user || user.password !== form.get('password')) {
      res.statusCode = 401;
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(loginForm(uid, 'Wrong username or password'));
      return;
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: user.sub } },
      { mergeWithLastSubmission: false },
    );
  };

  handler = (req, res) => {
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec((req.url ?? '').split('?')[0]!);
    if (m) {
      const post = m[2] !== undefined;
      if (post !== (req.method === 'POST')) {
        res.statusCode = 405;
        res.end();
        return;
      }
      interaction(req, res, m[1]!, post).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(`interaction failed: ${(e as Error).message}`);
      });
      return;
    }
    // Koa's handler settles its own errors (it answers 500 and emits 'error').
    void callback(req, res);
  };

  return {
    issuer,
    async login(startUrl, username, password, jar = new CookieJar()) {
      const clientOrigin = new URL(opts.redirectUris[0]!).origin;
      let url = startUrl;
      let res = await jarFetch(jar, url);
      for (let hop = 0; hop < 20; hop++) {
        if (res.status === 200 && new URL(url).origin === issuer && /\/interaction\/[^/]+$/.test(url)) {
          // The login form: submit it.
          const uid = new URL(url).pathname.split('/').pop()!;
          const action = `${issuer}/interaction/${uid}/login`;
          res = await jarFetch(jar, action, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ username, password }).toString(),
          });
          url = action;
          if (res.status === 401) throw new Error(`IdP refused the credentials of ${username}`);
          continue;
        }
        const location = res.headers.get('location');
        if (res.status < 300 || res.status >= 400 || location === null)
          throw new Error(`login stopped at ${url}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
        await res.body?.cancel();
        const next = new URL(location, url).href;
        if (new URL(next).origin === clientOrigin && new URL(url).origin === issuer) return next;
        url = next;
        res = await jarFetch(jar, url);
      }
      throw new Error('login did not finish within 20 redirects');
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}
