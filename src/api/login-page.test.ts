import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../log/index.js';
import { LoginLimiter } from '../auth/rate-limit.js';
import { buildApi, escapeHtml, renderLoginPage, type BuildApiOptions } from './index.js';
import { FakePlatform, FAKE_PASSWORD } from './fake-platform.js';
import { testIdentity, type TestIdentity } from './testing.js';

const PUBLIC_URL = 'http://gantry.test';
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

async function makeApp(
  opts: { publicUrl?: string; limiter?: LoginLimiter; extra?: Partial<BuildApiOptions> } = {},
): Promise<{ app: FastifyInstance; id: TestIdentity; close(): Promise<void> }> {
  const publicUrl = opts.publicUrl ?? PUBLIC_URL;
  const id = await testIdentity({ publicUrl, limiter: opts.limiter });
  const app = await buildApi({
    platform: new FakePlatform({ records: id.records }),
    ...id.options,
    logger: silentLogger,
    version: '1',
    publicUrl,
    providers: [
      { name: 'okta', type: 'oidc', label: 'Okta <script>alert(1)</script>' },
      { name: 'corp-ldap', type: 'ldap', label: 'Corporate directory' },
    ],
    ...opts.extra,
  });
  return {
    app,
    id,
    close: async () => {
      await app.close();
      await id.close();
    },
  };
}

/** The `name=value` of the session cookie in a Set-Cookie header. */
function cookieOf(setCookie: unknown): string {
  const line = Array.isArray(setCookie) ? String(setCookie[0]) : String(setCookie);
  return line.split(';', 1)[0]!;
}

void describe('sign-in page', () => {
  let t: Awaited<ReturnType<typeof makeApp>>;
  let app: FastifyInstance;
  void before(async () => {
    t = await makeApp();
    app = t.app;
  });
  void after(() => t.close());

  const signIn = (
    fields: Record<string, string>,
    headers: Record<string, string> = {},
    remoteAddress?: string,
  ) =>
    app.inject({
      method: 'POST',
      url: '/login',
      headers: { ...FORM, ...headers },
      payload: form(fields),
      ...(remoteAddress ? { remoteAddress } : {}),
    });

  void test('the form renders with safe headers, escaped values and links to redirect providers', async () => {
    const r = await app.inject({ url: '/login?next=%2Fapps%2Fx%2F' });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/html/);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.equal(
      r.headers['content-security-policy'],
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    );
    assert.match(r.body, /<form method="post" action="\/login">/);
    assert.match(r.body, /name="username"/);
    assert.match(r.body, /type="password" id="password" name="password"/);
    assert.match(r.body, /<input type="hidden" name="next" value="\/apps\/x\/">/);
    assert.match(r.body, /href="\/auth\/okta\/start\?next=%2Fapps%2Fx%2F"/);
    assert.ok(r.body.includes(`Sign in with ${escapeHtml('Okta <script>alert(1)</script>')}`));
    assert.doesNotMatch(r.body, /<script/);
    assert.doesNotMatch(r.body, /corp-ldap/, 'LDAP users sign in with the password form');
    assert.doesNotMatch(r.body, /<script|javascript:/i);
  });

  void test('a hostile next is neutralised in the page', async () => {
    const r = await app.inject({ url: `/login?next=${encodeURIComponent('/"><script>x</script>')}` });
    assert.doesNotMatch(r.body, /<script>x/);
    assert.match(r.body, /name="next" value="\/%22%3E%3Cscript%3Ex%3C\/script%3E"/);
    const amp = await app.inject({ url: `/login?next=${encodeURIComponent('/a?b=1&c=2')}` });
    assert.match(amp.body, /name="next" value="\/a\?b=1&amp;c=2"/);
    const evil = await app.inject({ url: `/login?next=${encodeURIComponent('//evil.example')}` });
    assert.match(evil.body, /name="next" value="\/"/);
  });

  void test('signing in sets an HttpOnly, SameSite=Lax cookie and redirects (303) to next', async () => {
    const r = await signIn({ username: 'admin', password: FAKE_PASSWORD, next: '/apps/x/?a=1' });
    assert.equal(r.statusCode, 303);
    assert.equal(r.headers.location, '/apps/x/?a=1');
    const setCookie = String(r.headers['set-cookie']);
    assert.match(setCookie, /^gantry_session=[A-Za-z0-9_-]{43}; /);
    assert.match(setCookie, /; HttpOnly/);
    assert.match(setCookie, /; SameSite=Lax/);
    assert.match(setCookie, /; Path=\//);
    assert.match(setCookie, /; Max-Age=3600/);
    assert.doesNotMatch(setCookie, /Secure/, 'plain http: a Secure cookie would never come back');
    const s = await app.inject({ url: '/api/session', headers: { cookie: cookieOf(setCookie) } });
    assert.equal(s.statusCode, 200);
    assert.equal(s.json().user.username, 'admin');
    assert.match(s.json().csrfToken, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(s.headers['cache-control'], 'no-store');
    const who = await app.inject({ url: '/api/whoami', headers: { cookie: cookieOf(setCookie) } });
    assert.equal(who.json().via, 'session');
  });

  void test('a wrong password is a 401 page with one clear message and no cookie', async () => {
    const r = await signIn({ username: 'admin', password: 'nope', next: '/apps/x/' }, {}, '10.1.0.1');
    assert.equal(r.statusCode, 401);
    assert.equal(r.headers['set-cookie'], undefined);
    assert.equal(r.body.match(/role="alert"/g)?.length, 1);
    assert.match(r.body, /<p class="g-alert" role="alert">Invalid username or password<\/p>/);
    assert.match(r.body, /Invalid username or password/);
    assert.match(r.body, /name="next" value="\/apps\/x\/"/);
    assert.match(r.body, /name="username"[^>]*value="admin"/);
    assert.match(
      r.body,
      /id="password"[^>]*autofocus/,
      'the username is kept: the cursor goes to the password',
    );
    assert.doesNotMatch(r.body, /id="username"[^>]*autofocus/);
    const unknown = await signIn({ username: 'ghost', password: 'nope' }, {}, '10.1.0.1');
    assert.equal(unknown.statusCode, 401);
    assert.match(unknown.body, /Invalid username or password/);
    const empty = await signIn({ username: 'admin' }, {}, '10.1.0.1');
    assert.equal(empty.statusCode, 400);
  });

  void test('a sign-in form posted from another site is refused', async () => {
    const r = await signIn(
      { username: 'admin', password: FAKE_PASSWORD },
      { origin: 'https://evil.example' },
    );
    assert.equal(r.statusCode, 403);
    assert.equal(r.headers['set-cookie'], undefined);
  });

  void test('open redirects: no next leaves the site', async () => {
    const corpus = [
      '//evil',
      '///evil',
      '/\\evil',
      '%2f%2fevil',
      '/%2f/evil',
      'https://evil',
      '\t//evil',
      '/\t/evil',
      'java\nscript:alert(1)',
      '/%5cevil',
      '/\\/evil',
      '//evil/%2e%2e',
      'http:evil',
      '\\\\evil',
    ];
    for (const next of corpus) {
      const r = await signIn({ username: 'admin', password: FAKE_PASSWORD, next });
      assert.equal(r.statusCode, 303, JSON.stringify(next));
      const location = String(r.headers.location);
      assert.equal(new URL(location, PUBLIC_URL).origin, PUBLIC_URL, `${JSON.stringify(next)} → ${location}`);
      assert.match(location, /^\/(?![/\\])/, `${JSON.stringify(next)} → ${location}`);
      assert.doesNotMatch(location, /evil/i, `${JSON.stringify(next)} → ${location}`);
      const page = await app.inject({ url: `/login?next=${encodeURIComponent(next)}` });
      assert.match(page.body, /name="next" value="\/"/, JSON.stringify(next));
    }
  });

  void test('sign-out needs the CSRF field (or our Origin), ends the session and clears the cookie', async () => {
    const r = await signIn({ username: 'admin', password: FAKE_PASSWORD });
    const cookie = cookieOf(r.headers['set-cookie']);
    const csrf = (await app.inject({ url: '/api/session', headers: { cookie } })).json().csrfToken as string;
    const page = await app.inject({ url: '/login', headers: { cookie } });
    assert.match(page.body, /Signed in as <strong>admin<\/strong>/);
    assert.ok(page.body.includes(`name="csrf" value="${csrf}"`));

    const forged = await app.inject({
      method: 'POST',
      url: '/logout',
      headers: { ...FORM, cookie },
      payload: form({ csrf: 'wrong' }),
    });
    assert.equal(forged.statusCode, 403);
    const crossSite = await app.inject({
      method: 'POST',
      url: '/logout',
      headers: { ...FORM, cookie, origin: 'https://evil.example' },
      payload: form({ csrf }),
    });
    assert.equal(crossSite.statusCode, 403);
    assert.equal(
      (await app.inject({ url: '/api/session', headers: { cookie } })).statusCode,
      200,
      'still in',
    );

    const out = await app.inject({
      method: 'POST',
      url: '/logout',
      headers: { ...FORM, cookie },
      payload: form({ csrf }),
    });
    assert.equal(out.statusCode, 303);
    assert.equal(out.headers.location, '/login');
    assert.match(String(out.headers['set-cookie']), /^gantry_session=; .*Max-Age=0/);
    assert.equal((await app.inject({ url: '/api/session', headers: { cookie } })).statusCode, 401);

    // Same-origin Origin header instead of the field (a fetch from the portal).
    const again = cookieOf(
      (await signIn({ username: 'admin', password: FAKE_PASSWORD })).headers['set-cookie'],
    );
    const viaOrigin = await app.inject({
      method: 'POST',
      url: '/logout',
      headers: { cookie: again, origin: PUBLIC_URL },
    });
    assert.equal(viaOrigin.statusCode, 303);
    assert.equal((await app.inject({ url: '/api/session', headers: { cookie: again } })).statusCode, 401);
    const events = await t.id.directory.listAudit({ action: 'logout' });
    assert.equal(events.length, 2);
  });

  void test('signing in again replaces the session the browser had', async () => {
    const first = cookieOf(
      (await signIn({ username: 'admin', password: FAKE_PASSWORD })).headers['set-cookie'],
    );
    const second = await signIn({ username: 'admin', password: FAKE_PASSWORD }, { cookie: first });
    assert.equal(second.statusCode, 303);
    assert.notEqual(cookieOf(second.headers['set-cookie']), first);
    assert.equal((await app.inject({ url: '/api/session', headers: { cookie: first } })).statusCode, 401);
  });
});

void describe('sign-in page look', () => {
  const page = renderLoginPage({
    next: '/manage?x=1&y=2',
    providers: [
      { name: 'okta', type: 'oidc', label: 'Okta' },
      { name: 'adfs', type: 'saml', label: 'ADFS' },
      { name: 'corp', type: 'ldap', label: 'Corporate directory' },
    ],
  });

  void test('Gantry’s themed card: brand header, labelled inputs with autocomplete, phone and dark mode', () => {
    assert.match(page, /<meta name="viewport" content="width=device-width,initial-scale=1">/);
    assert.match(page, /<body class="g-page"><header><a class="g-brand" href="\/">Gantry<\/a><\/header>/);
    assert.match(page, /<main class="g-card">[\s\S]*<h1>Sign in<\/h1>[\s\S]*<\/main>/);
    assert.match(page, /--g-accent:/, 'the theme tokens are inlined');
    assert.match(page, /@media \(prefers-color-scheme:dark\)/);
    assert.match(page, /\.g-page main\{/);
    for (const [id, autocomplete] of [
      ['username', 'username'],
      ['password', 'current-password'],
    ]) {
      assert.match(page, new RegExp(`<label class="g-label" for="${id}">`));
      assert.match(
        page,
        new RegExp(`<input [^>]*id="${id}"[^>]*class="g-input"[^>]*autocomplete="${autocomplete}"`),
      );
    }
    assert.match(page, /id="username"[^>]*autofocus/);
    assert.match(page, /<button type="submit" class="g-button primary g-wide">Sign in<\/button>/);
    assert.doesNotMatch(page, /role="alert"/, 'no error: no alert');
    assert.doesNotMatch(page, /\son[a-z]+=|style="/i, 'nothing the CSP would block');
  });

  void test('one button per redirect provider, LDAP through the form', () => {
    const buttons = [...page.matchAll(/<a class="g-button g-wide" href="([^"]+)">([^<]+)<\/a>/g)];
    assert.deepEqual(
      buttons.map((m) => [m[1], m[2]]),
      [
        ['/auth/okta/start?next=%2Fmanage%3Fx%3D1%26y%3D2', 'Sign in with Okta'],
        ['/auth/adfs/start?next=%2Fmanage%3Fx%3D1%26y%3D2', 'Sign in with ADFS'],
      ],
    );
    assert.match(page, /<div class="g-divider">or<\/div>/);
    const formOnly = renderLoginPage({
      next: '/',
      providers: [{ name: 'corp', type: 'ldap', label: 'Corp' }],
    });
    assert.doesNotMatch(formOnly, /class="g-divider"|Sign in with/, 'no providers to choose: no divider');
  });

  void test('signed in: who, continue to next, and sign out with the CSRF token', () => {
    const html = renderLoginPage({
      next: '/admin?a=1&b=2',
      providers: [],
      signedIn: { username: '<b>x</b>', csrf: 'tok"en' },
    });
    assert.match(html, /Signed in as <strong>&lt;b&gt;x&lt;\/b&gt;<\/strong>/);
    assert.match(html, /<a class="g-button primary" href="\/admin\?a=1&amp;b=2">Continue<\/a>/);
    assert.match(html, /<input type="hidden" name="csrf" value="tok&quot;en">/);
    assert.match(html, /<form method="post" action="\/logout"/);
  });
});

void describe('sign-in rate limits', () => {
  void test('per account: guesses from many addresses get 429 with Retry-After', async () => {
    const t = await makeApp({
      limiter: new LoginLimiter({ maxFailuresPerAddress: 100, maxFailuresPerUsername: 3 }),
    });
    try {
      const attempt = (i: number, password = 'wrong') =>
        t.app.inject({
          method: 'POST',
          url: '/login',
          headers: FORM,
          payload: form({ username: 'admin', password }),
          remoteAddress: `10.2.0.${i}`,
        });
      for (let i = 0; i < 3; i++) assert.equal((await attempt(i)).statusCode, 401);
      const limited = await attempt(9);
      assert.equal(limited.statusCode, 429);
      assert.ok(Number(limited.headers['retry-after']) >= 1);
      assert.match(limited.body, /Too many failed sign-ins/);
      assert.equal((await attempt(10, FAKE_PASSWORD)).statusCode, 429, 'even the right password waits');
    } finally {
      await t.close();
    }
  });

  void test('per address: guesses at many accounts from one address get 429', async () => {
    const t = await makeApp({
      limiter: new LoginLimiter({ maxFailuresPerAddress: 3, maxFailuresPerUsername: 100 }),
    });
    try {
      const attempt = (username: string, remoteAddress = '10.3.0.1') =>
        t.app.inject({
          method: 'POST',
          url: '/login',
          headers: FORM,
          payload: form({ username, password: 'wrong' }),
          remoteAddress,
        });
      for (const u of ['a', 'b', 'c']) assert.equal((await attempt(u)).statusCode, 401);
      assert.equal((await attempt('d')).statusCode, 429);
      assert.equal((await attempt('d', '10.3.0.2')).statusCode, 401, 'other addresses are not affected');
    } finally {
      await t.close();
    }
  });
});

void describe('over https', () => {
  void test('the cookie is __Host- prefixed and Secure', async () => {
    const t = await makeApp({ publicUrl: 'https://gantry.example' });
    try {
      const r = await t.app.inject({
        method: 'POST',
        url: '/login',
        headers: FORM,
        payload: form({ username: 'admin', password: FAKE_PASSWORD }),
      });
      assert.equal(r.statusCode, 303);
      const setCookie = String(r.headers['set-cookie']);
      assert.match(setCookie, /^__Host-gantry_session=/);
      assert.match(setCookie, /; Secure/);
      assert.match(setCookie, /; Path=\//);
      assert.doesNotMatch(setCookie, /Domain=/i, '__Host- cookies have no Domain');
      const s = await t.app.inject({ url: '/api/session', headers: { cookie: cookieOf(setCookie) } });
      assert.equal(s.statusCode, 200);
      // The plain name is not accepted over https.
      const plain = cookieOf(setCookie).replace('__Host-', '');
      assert.equal((await t.app.inject({ url: '/api/session', headers: { cookie: plain } })).statusCode, 401);
    } finally {
      await t.close();
    }
  });
});

void describe('SSO login completion', () => {
  void test('completeSsoLogin creates the user, starts a session and redirects safely', async () => {
    const t = await makeApp({
      extra: {
        extraRoutes: async (app) => {
          app.get('/auth/test/callback', { config: { public: true } }, async (request, reply) => {
            const q = request.query as { next?: string; user: string };
            await app.completeSsoLogin(
              { provider: 'test', subject: `sub-${q.user}`, username: q.user, email: null, groups: ['eng'] },
              { name: 'test', defaultRole: 'developer' },
              request,
              reply,
              q.next,
            );
            return reply;
          });
        },
      },
    });
    try {
      const r = await t.app.inject({ url: '/auth/test/callback?user=sam&next=%2F%2Fevil.example' });
      assert.equal(r.statusCode, 303);
      assert.equal(r.headers.location, '/');
      const cookie = cookieOf(r.headers['set-cookie']);
      assert.match(String(r.headers['set-cookie']), /HttpOnly; SameSite=Lax/);
      const s = (await t.app.inject({ url: '/api/session', headers: { cookie } })).json();
      assert.deepEqual(s.user, { username: 'sam', email: null, role: 'developer', groups: ['eng'] });
      assert.equal(t.id.directory.getUser('sam')?.source, 'test');
      const [login] = await t.id.directory.listAudit({ action: 'login' });
      assert.equal(login?.actor, 'sam');
      assert.deepEqual(login?.detail, { via: 'test' });
      // A local user's name cannot be taken over through SSO.
      const clash = await t.app.inject({ url: '/auth/test/callback?user=admin' });
      assert.equal(clash.statusCode, 409);
      assert.equal(clash.headers['set-cookie'], undefined);
    } finally {
      await t.close();
    }
  });
});
