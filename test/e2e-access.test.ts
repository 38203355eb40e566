/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies of the API under test */
/**
 * Identity and access end to end, on a real server with real identity providers:
 * a developer deploys a restricted app; viewers arrive through the login form,
 * OIDC (oidc-provider), SAML (the in-test IdP) and LDAP (slapd); the router lets
 * exactly the right ones in and tells the app who they are.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import WebSocket from 'ws';
import {
  startTestServer,
  fixtureRepo,
  git,
  freePort,
  eventually,
  ADMIN_PASSWORD,
  type TestServer,
} from './helpers/index.js';
import { startOidcIdp, CookieJar, jarFetch, type OidcIdp } from './support/oidc-idp.js';
import { startSamlIdp, type SamlIdp } from './support/saml-idp.js';
import { startSlapd, type Slapd } from './support/slapd.js';

const APP = 'sales';
const PW = 'pass-word-123';

let t: TestServer;
let oidc: OidcIdp;
let saml: SamlIdp;
let ldap: Slapd;

/** Calls the API with a bearer token; returns status and parsed body. */
async function call(
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${t.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function tokenFor(username: string, password = PW): Promise<string> {
  const res = await fetch(`${t.url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { token: string }).token;
}

/** Logs in through the HTML form; returns the cookie jar holding the session. */
async function formLogin(username: string, password = PW, next = `/apps/${APP}/`): Promise<CookieJar> {
  const jar = new CookieJar();
  const res = await jarFetch(jar, `${t.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password, next }).toString(),
  });
  assert.equal(res.status, 303, await res.clone().text());
  assert.equal(res.headers.get('location'), next);
  return jar;
}

async function headersSeenBy(jar: CookieJar, extra: Record<string, string> = {}) {
  const res = await jarFetch(jar, `${t.url}/apps/${APP}/headers`, { headers: extra });
  return { status: res.status, body: res.status === 200 ? ((await res.json()) as any) : await res.text() };
}

describe('identity and access, end to end', { timeout: 240_000 }, () => {
  before(async () => {
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    oidc = await startOidcIdp({
      users: [
        {
          sub: 'o-1',
          username: 'olga',
          email: 'olga@corp.example',
          groups: ['executives'],
          password: 'o-pw',
        },
        { sub: 'o-2', username: 'oscar', email: 'oscar@corp.example', groups: ['interns'], password: 'o-pw' },
      ],
      clientId: 'gantry',
      clientSecret: 'oidc-secret',
      redirectUris: [`${publicUrl}/auth/okta/callback`],
    });
    saml = await startSamlIdp({
      users: [{ username: 'sam', email: 'sam@corp.example', groups: ['executives'] }],
    });
    ldap = await startSlapd({
      users: [{ uid: 'lena', password: 'l-pw', mail: 'lena@corp.example' }],
      groups: [
        { cn: 'executives', members: ['lena'] },
        ...Array.from({ length: 300 }, (_, i) => ({ cn: `team-${i}`, members: ['lena'] })),
      ],
    });
    t = await startTestServer({
      port,
      publicUrl,
      authProviders: [
        {
          type: 'oidc',
          name: 'okta',
          label: 'Okta',
          issuer: oidc.issuer,
          clientId: 'gantry',
          clientSecret: 'oidc-secret',
          scopes: ['openid', 'email', 'profile', 'groups'],
          allowHttp: true,
        },
        {
          type: 'saml',
          name: 'adfs',
          label: 'ADFS',
          entryPoint: saml.entryPoint,
          idpIssuer: saml.issuer,
          idpCert: saml.cert,
          allowHttp: true,
        },
        {
          type: 'ldap',
          name: 'corp',
          url: ldap.url,
          startTls: true,
          tlsCa: ldap.caPem,
          bindDn: ldap.serviceDn,
          bindPassword: ldap.servicePassword,
          userBase: ldap.userBase,
          groupBase: ldap.groupBase,
        },
      ],
    });
    // Users and groups, as the admin would set them up.
    await t.api('POST', '/api/users', { username: 'dev', password: PW, role: 'developer' });
    await t.api('POST', '/api/users', {
      username: 'eve',
      password: PW,
      role: 'viewer',
      email: 'eve@corp.example',
    });
    await t.api('POST', '/api/users', { username: 'mallory', password: PW, role: 'viewer' });
    await t.api('POST', '/api/groups', { name: 'executives' });
    await t.api('PUT', '/api/groups/executives/members/eve');
  });

  after(async () => {
    await t?.close();
    await oidc?.close();
    await saml?.close();
    await ldap?.close();
  });

  test('a developer creates, deploys and restricts an app with a deploy-scoped token', async () => {
    const devToken = await tokenFor('dev');
    assert.equal((await call(devToken, 'POST', '/api/apps', { name: APP })).status, 201);
    const ci = await call(devToken, 'POST', '/api/tokens', { name: 'ci', scope: `app:${APP}` });
    assert.equal(ci.status, 201);
    const repo = await fixtureRepo('python-stdlib');
    const u = new URL(t.url);
    u.username = 'ci';
    u.password = ci.body.token;
    u.pathname = `/git/${APP}.git`;
    const r = await git(repo, ['push', '--porcelain', u.toString(), '+HEAD:refs/heads/main']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /DEPLOY OK|deployed|v1/i);
    // The scoped token reaches nothing else.
    assert.equal((await call(ci.body.token, 'GET', '/api/users')).status, 403);
    assert.equal((await call(ci.body.token, 'POST', '/api/apps', { name: 'other' })).status, 403);
    const access = await call(devToken, 'POST', `/api/apps/${APP}/access`, { principal: 'group:executives' });
    assert.equal(access.status, 200, JSON.stringify(access.body));
    assert.equal(access.body.visibility, 'restricted');
  });

  test('anonymous browsers are sent to /login, scripts get 401; not allowed looks like not found', async () => {
    const browser = await fetch(`${t.url}/apps/${APP}/headers?x=1`, {
      headers: { accept: 'text/html' },
      redirect: 'manual',
    });
    assert.equal(browser.status, 302);
    assert.equal(
      browser.headers.get('location'),
      `/login?next=${encodeURIComponent(`/apps/${APP}/headers?x=1`)}`,
    );
    const script = await fetch(`${t.url}/apps/${APP}/headers`);
    assert.equal(script.status, 401);

    const mallory = await formLogin('mallory');
    const denied = await jarFetch(mallory, `${t.url}/apps/${APP}/`, { headers: { accept: 'text/html' } });
    const missing = await jarFetch(mallory, `${t.url}/apps/no-such-app/`, {
      headers: { accept: 'text/html' },
    });
    assert.equal(denied.status, 404);
    assert.equal(missing.status, 404);
    assert.equal(
      (await denied.text()).replaceAll(APP, 'X'),
      (await missing.text()).replaceAll('no-such-app', 'X'),
      'the refusal page is the missing-app page',
    );
  });

  test('an allowed viewer gets in; the app sees who, not the credentials, and a verifiable JWT', async () => {
    const eve = await formLogin('eve');
    const seen = await headersSeenBy(eve, {
      'x-gantry-user': 'admin',
      'X-Gantry-Groups': 'admins',
      'gantry-identity': 'forged',
      cookie: 'theme=dark',
    });
    assert.equal(seen.status, 200, String(seen.body));
    const h = seen.body.headers as Record<string, string>;
    assert.equal(h['x-gantry-user'], 'eve');
    assert.equal(h['x-gantry-email'], 'eve@corp.example');
    assert.equal(h['x-gantry-groups'], 'executives');
    assert.doesNotMatch(h.cookie ?? '', /gantry_session/, 'the session cookie is not forwarded');
    const jwks = (await (await fetch(`${t.url}/.well-known/jwks.json`)).json()) as any;
    const { payload } = await jwtVerify(h['gantry-identity']!, createLocalJWKSet(jwks), {
      issuer: t.url,
      audience: `${t.url}/apps/${APP}/`,
    });
    assert.equal(payload.sub, 'eve');
    assert.deepEqual(payload.groups, ['executives']);
    assert.ok(payload.exp! - payload.iat! <= 600, 'short-lived');

    // Scripts use an API token; it is not forwarded either.
    const token = await tokenFor('eve');
    const res = await fetch(`${t.url}/apps/${APP}/headers`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    const fwd = ((await res.json()) as any).headers as Record<string, string>;
    assert.equal(fwd['x-gantry-user'], 'eve');
    assert.equal(fwd.authorization, undefined);
  });

  test('losing the group closes the app at the next request (policy in memory follows changes)', async () => {
    const eve = await formLogin('eve');
    assert.equal((await headersSeenBy(eve)).status, 200);
    await t.api('DELETE', '/api/groups/executives/members/eve');
    assert.equal((await headersSeenBy(eve)).status, 404);
    await t.api('PUT', '/api/groups/executives/members/eve');
    assert.equal((await headersSeenBy(eve)).status, 200);
  });

  test('WebSocket upgrades pass the same gate', async () => {
    const wsUrl = `${t.url.replace('http', 'ws')}/apps/${APP}/ws`;
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(wsUrl, { headers });
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on('open', () => {
          resolve(101);
          ws.close();
        });
        ws.on('error', () => resolve(-1));
      });
    assert.equal(await status({}), 401);
    const mallory = await formLogin('mallory');
    assert.equal(await status({ cookie: mallory.header(t.url) }), 404);
  });

  test('OIDC login maps the provider groups and opens the restricted app', async () => {
    const jar = new CookieJar();
    const callback = await oidc.login(
      `${t.url}/auth/okta/start?next=${encodeURIComponent(`/apps/${APP}/`)}`,
      'olga',
      'o-pw',
      jar,
    );
    const res = await jarFetch(jar, callback);
    assert.equal(res.status, 303, await res.clone().text());
    assert.equal(res.headers.get('location'), `/apps/${APP}/`);
    const seen = await headersSeenBy(jar);
    assert.equal(seen.status, 200);
    assert.equal(seen.body.headers['x-gantry-user'], 'olga');
    assert.equal(seen.body.headers['x-gantry-groups'], 'executives');

    const intern = new CookieJar();
    await jarFetch(intern, await oidc.login(`${t.url}/auth/okta/start`, 'oscar', 'o-pw', intern));
    assert.equal((await headersSeenBy(intern)).status, 404);
    const users = await t.api<{ users: { username: string; source: string; role: string }[] }>(
      'GET',
      '/api/users',
    );
    const olga = users.users.find((u) => u.username === 'olga');
    assert.deepEqual([olga?.source, olga?.role], ['okta', 'viewer']);
  });

  test('SAML login opens the restricted app', async () => {
    const r = await saml.login(`${t.url}/auth/adfs/start?next=${encodeURIComponent(`/apps/${APP}/`)}`, 'sam');
    const jar = new CookieJar();
    const res = await jarFetch(jar, r.acsUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(r.fields).toString(),
    });
    assert.equal(res.status, 303, await res.clone().text());
    const seen = await headersSeenBy(jar);
    assert.equal(seen.status, 200);
    assert.equal(seen.body.headers['x-gantry-user'], 'sam');
  });

  test('LDAP login through the form (300+ groups) opens the restricted app; wrong password does not', async () => {
    const started = Date.now();
    const jar = await formLogin('lena', 'l-pw');
    const took = Date.now() - started;
    assert.ok(took < 3000, `LDAP login took ${took} ms`);
    const seen = await headersSeenBy(jar);
    assert.equal(seen.status, 200);
    assert.match(seen.body.headers['x-gantry-groups'], /(^|,)executives(,|$)/);
    const bad = await fetch(`${t.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'lena', password: 'nope', next: '/' }).toString(),
      redirect: 'manual',
    });
    assert.equal(bad.status, 401);
  });

  test('the login page offers every redirect provider', async () => {
    const html = await (await fetch(`${t.url}/login?next=${encodeURIComponent(`/apps/${APP}/`)}`)).text();
    assert.match(html, /name="username"/);
    assert.match(html, /\/auth\/okta\/start\?next=%2Fapps%2Fsales%2F/);
    assert.match(html, /\/auth\/adfs\/start/);
  });

  test('the audit log has the logins, the deploy and the access change, with who and from where', async () => {
    const { events } = await t.api<{ events: { action: string; actor: string | null; ip: string | null }[] }>(
      'GET',
      '/api/audit?limit=1000',
    );
    const has = (action: string, actor: string | null) =>
      events.some((e) => e.action === action && e.actor === actor && e.ip !== null);
    assert.ok(has('login', 'eve'), 'form login');
    assert.ok(has('login', 'olga'), 'OIDC login');
    assert.ok(has('login.failed', null), 'failed login');
    assert.ok(has('app.deploy', 'dev'), 'deploy by the CI token of dev');
    assert.ok(has('app.access.add', 'dev'), 'access change');
    assert.ok(has('group.remove', 'admin'), 'group change');
  });

  test('the admin can still do everything; the admin password is unchanged', async () => {
    const admin = await tokenFor('admin', ADMIN_PASSWORD);
    assert.equal((await call(admin, 'GET', `/api/apps/${APP}/config`)).status, 200);
    await eventually(async () => (await call(admin, 'GET', '/api/health')).status === 200);
  });
});
