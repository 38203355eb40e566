import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { silentLogger } from '../log/index.js';
import { isGantryError } from '../errors/index.js';
import type { ExternalIdentity } from '../identity/types.js';
import { CookieJar, jarFetch, startOidcIdp, type OidcIdp } from '../../test/support/oidc-idp.js';
import { createOidcProvider, parseOidcSettings } from './oidc.js';
import { ssoRoutes, SSO_COOKIE } from './routes.js';
import type { RedirectProvider } from './types.js';

interface Sp {
  publicUrl: string;
  logins: ExternalIdentity[];
  close(): Promise<void>;
}

/** Gantry's side: ssoRoutes on a real port, with an onLogin that records the identity and sets a cookie. */
async function startSp(
  publicUrl: string,
  server: Server,
  providers: (publicUrl: string) => Promise<RedirectProvider[]>,
): Promise<Sp> {
  const app: FastifyInstance = Fastify({
    serverFactory: (handler) => {
      server.on('request', handler);
      return server;
    },
  });
  const logins: ExternalIdentity[] = [];
  await app.register(ssoRoutes, {
    providers: await providers(publicUrl),
    publicUrl,
    logger: silentLogger,
    onLogin: async (ext, _provider, _request, reply, next) => {
      logins.push(ext);
      await reply
        .header('set-cookie', `gantry_session=s-${ext.username}; Path=/; HttpOnly`)
        .redirect(next, 303);
    },
  });
  await app.ready();
  return {
    publicUrl,
    logins,
    async close() {
      await app.close();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}

/** A server on a random port, listening before anything else is built (the IdP needs our redirect URIs). */
async function listening(): Promise<{ server: Server; publicUrl: string }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, publicUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const USERS = [
  {
    sub: 'u-1',
    username: 'alice',
    email: 'alice@corp.example',
    groups: ['eng', 'analysts'],
    password: 'pw-a',
  },
  { sub: 'u-2', username: 'bob smith', email: 'bob@corp.example', groups: [], password: 'pw-b' },
];

describe('OIDC single sign-on against oidc-provider', () => {
  let idp: OidcIdp;
  let sp: Sp;

  before(async () => {
    const { server, publicUrl } = await listening();
    idp = await startOidcIdp({
      users: USERS,
      clientId: 'gantry',
      clientSecret: 'gantry-secret',
      redirectUris: [`${publicUrl}/auth/okta/callback`, `${publicUrl}/auth/byemail/callback`],
    });
    const common = {
      type: 'oidc',
      issuer: idp.issuer,
      clientId: 'gantry',
      clientSecret: 'gantry-secret',
      allowHttp: true,
    };
    sp = await startSp(publicUrl, server, async (url) => [
      await createOidcProvider(
        { ...common, name: 'okta', label: 'Okta', scopes: ['openid', 'email', 'profile', 'groups'] },
        { publicUrl: url, logger: silentLogger },
      ),
      await createOidcProvider(
        { ...common, name: 'byemail', usernameClaim: 'nickname' },
        { publicUrl: url, logger: silentLogger },
      ),
    ]);
  });

  after(async () => {
    await sp?.close();
    await idp?.close();
  });

  const start = (name = 'okta', next?: string): string =>
    `${sp.publicUrl}/auth/${name}/start${next === undefined ? '' : `?next=${encodeURIComponent(next)}`}`;

  test('a full login (claims from userinfo) reports username, email and groups and lands on `next`', async () => {
    const jar = new CookieJar();
    const callback = await idp.login(start('okta', '/apps/demo/'), 'alice', 'pw-a', jar);
    assert.ok(callback.startsWith(`${sp.publicUrl}/auth/okta/callback?`), callback);
    assert.ok(jar.get('127.0.0.1', SSO_COOKIE), 'the start route set the browser-binding cookie');
    const res = await jarFetch(jar, callback);
    assert.equal(res.status, 303, await res.clone().text());
    assert.equal(res.headers.get('location'), '/apps/demo/');
    assert.equal(jar.get('127.0.0.1', 'gantry_session'), 's-alice');
    assert.equal(jar.get('127.0.0.1', SSO_COOKIE), undefined, 'the binding cookie is cleared');
    assert.deepEqual(sp.logins.at(-1), {
      provider: 'okta',
      subject: 'u-1',
      username: 'alice',
      email: 'alice@corp.example',
      groups: ['analysts', 'eng'],
    });
  });

  test('without the groups scope there are no groups; a missing username claim falls back to the e-mail local part', async () => {
    const jar = new CookieJar();
    const res = await jarFetch(jar, await idp.login(start('byemail'), 'bob smith', 'pw-b', jar));
    assert.equal(res.status, 303);
    assert.deepEqual(sp.logins.at(-1), {
      provider: 'byemail',
      subject: 'u-2',
      username: 'bob',
      email: 'bob@corp.example',
      groups: [],
    });
  });

  test('wrong credentials stop at the IdP', async () => {
    await assert.rejects(idp.login(start(), 'alice', 'nope'), /refused the credentials/);
  });

  test('a callback whose state was changed is refused', async () => {
    const jar = new CookieJar();
    const callback = new URL(await idp.login(start(), 'alice', 'pw-a', jar));
    callback.searchParams.set('state', 'B'.repeat(43));
    const count = sp.logins.length;
    const res = await jarFetch(jar, callback.href);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /Sign-in failed: this sign-in has expired or was already used/);
    assert.equal(sp.logins.length, count);
  });

  test('a callback without the browser-binding cookie is refused', async () => {
    const jar = new CookieJar();
    const callback = await idp.login(start(), 'alice', 'pw-a', jar);
    jar.delete('127.0.0.1', SSO_COOKIE);
    const count = sp.logins.length;
    const res = await jarFetch(jar, callback);
    assert.equal(res.status, 401);
    const html = await res.text();
    assert.match(html, /started in another browser/);
    assert.doesNotMatch(html, /code=|state=/);
    assert.equal(sp.logins.length, count);
  });

  test('a callback from another login in this browser is refused (cookie and state differ)', async () => {
    const jar = new CookieJar();
    const first = await idp.login(start(), 'alice', 'pw-a', jar);
    await idp.login(start(), 'alice', 'pw-a', jar); // overwrites the binding cookie
    const res = await jarFetch(jar, first);
    assert.equal(res.status, 401);
  });

  test('a state used once cannot be used again', async () => {
    const jar = new CookieJar();
    const callback = await idp.login(start(), 'alice', 'pw-a', jar);
    const cookie = jar.get('127.0.0.1', SSO_COOKIE)!;
    assert.equal((await jarFetch(jar, callback)).status, 303);
    const res = await fetch(callback, { redirect: 'manual', headers: { cookie: `${SSO_COOKIE}=${cookie}` } });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /expired or was already used/);
  });

  test("an IdP error answer is shown without the IdP's free text", async () => {
    const jar = new CookieJar();
    const startRes = await jarFetch(jar, start());
    const state = new URL(startRes.headers.get('location')!).searchParams.get('state')!;
    const res = await jarFetch(
      jar,
      `${sp.publicUrl}/auth/okta/callback?error=access_denied&error_description=${encodeURIComponent('<b>call 555</b>')}&state=${state}`,
    );
    assert.equal(res.status, 401);
    const html = await res.text();
    assert.match(html, /Okta did not sign you in \(access_denied\)/);
    assert.doesNotMatch(html, /555/);
  });

  test('next=//evil.example ends at /', async () => {
    const jar = new CookieJar();
    const res = await jarFetch(jar, await idp.login(start('okta', '//evil.example'), 'alice', 'pw-a', jar));
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/');
  });

  test('the start redirect carries PKCE S256, state and nonce', async () => {
    const res = await fetch(start(), { redirect: 'manual' });
    assert.equal(res.status, 302);
    const url = new URL(res.headers.get('location')!);
    assert.equal(url.origin, idp.issuer);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(url.searchParams.get('code_challenge'));
    assert.ok(url.searchParams.get('nonce'));
    assert.match(url.searchParams.get('state') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(url.searchParams.get('redirect_uri'), `${sp.publicUrl}/auth/okta/callback`);
    const cookie = res.headers.get('set-cookie') ?? '';
    assert.match(cookie, new RegExp(`^${SSO_COOKIE}=${url.searchParams.get('state')};`));
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
  });
});

describe('OIDC with a public client and claims in the ID token', () => {
  test('logs in with PKCE only', async () => {
    const { server, publicUrl } = await listening();
    const idp = await startOidcIdp({
      users: USERS,
      clientId: 'public-app',
      redirectUris: [`${publicUrl}/auth/pub/callback`],
      claimsInIdToken: true,
    });
    const sp = await startSp(publicUrl, server, async (url) => [
      await createOidcProvider(
        {
          type: 'oidc',
          name: 'pub',
          issuer: idp.issuer,
          clientId: 'public-app',
          scopes: 'openid email profile groups',
          allowHttp: true,
        },
        { publicUrl: url, logger: silentLogger },
      ),
    ]);
    try {
      const jar = new CookieJar();
      const res = await jarFetch(jar, await idp.login(`${publicUrl}/auth/pub/start`, 'alice', 'pw-a', jar));
      assert.equal(res.status, 303);
      assert.deepEqual(sp.logins[0]?.groups, ['analysts', 'eng']);
      assert.equal(sp.logins[0]?.username, 'alice');
    } finally {
      await sp.close();
      await idp.close();
    }
  });

  test('an unreachable issuer gives a failure page, not a crash', async () => {
    const { server, publicUrl } = await listening();
    const dead = await listening();
    const deadUrl = dead.publicUrl;
    await new Promise<void>((resolve) => dead.server.close(() => resolve()));
    const sp = await startSp(publicUrl, server, async (url) => [
      await createOidcProvider(
        { type: 'oidc', name: 'gone', issuer: deadUrl, clientId: 'x', allowHttp: true },
        { publicUrl: url, logger: silentLogger },
      ),
    ]);
    try {
      const res = await fetch(`${publicUrl}/auth/gone/start`, { redirect: 'manual' });
      assert.equal(res.status, 500);
      assert.match(await res.text(), /cannot reach the identity provider &quot;gone&quot;/);
    } finally {
      await sp.close();
    }
  });
});

describe('OIDC settings', () => {
  const base = { type: 'oidc', name: 'okta', issuer: 'https://idp.example', clientId: 'c' };

  test('defaults', () => {
    const s = parseOidcSettings(base);
    assert.deepEqual(s.scopes, ['openid', 'email', 'profile']);
    assert.equal(s.usernameClaim, 'preferred_username');
    assert.equal(s.groupsClaim, 'groups');
    assert.equal(s.defaultRole, 'viewer');
    assert.equal(s.label, 'okta');
    assert.equal(s.clientSecret, undefined);
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    [
      'an http issuer without allowHttp',
      { issuer: 'http://idp.example' },
      /provider "okta": "issuer" must be an https:\/\//,
    ],
    ['a missing clientId', { clientId: undefined }, /provider "okta": "clientId" is required/],
    ['scopes without openid', { scopes: ['email'] }, /"scopes" must include "openid"/],
    ['an unknown field', { clientID: 'c' }, /"clientID" is not a known setting/],
    ['a non-boolean allowHttp', { allowHttp: 'yes' }, /"allowHttp" must be true or false/],
    ['a bad issuer', { issuer: 'not a url' }, /"issuer" is not a valid URL/],
  ];
  for (const [what, change, message] of bad) {
    test(`refuses ${what}`, () => {
      assert.throws(
        () => parseOidcSettings({ ...base, ...change }),
        (e: unknown) => isGantryError(e, 'GANTRY_INVALID_CONFIG') && message.test(e.message),
      );
    });
  }
});
