/**
 * The web UI plugin against a build written here: sign-in redirects, caching
 * and security headers, compressed bodies that decode to the files, traversal
 * refused, and the 503 page while the UI is not built. Last, the plugin on the
 * real API with a real sign-in.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { silentLogger } from '../log/index.js';
import type { Identity } from '../identity/types.js';
import { buildApi } from '../api/index.js';
import { FakePlatform, FAKE_PASSWORD } from '../api/fake-platform.js';
import { testIdentity } from '../api/testing.js';
import { DEFAULT_DIST_DIR, WEB_CSP, pickEncoding, webUi, type Asset } from './index.js';

const INDEX = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="color-scheme" content="light dark" />
    <title>Gantry</title>
    <script type="module" crossorigin src="/assets/app-1a2b.js"></script>
    <link rel="stylesheet" crossorigin href="/assets/app-9f8e.css">
  </head>
  <body>
    <div id="root"></div>
    <noscript>Gantry's web UI needs JavaScript. The <code>gantry</code> CLI does everything it does.</noscript>
  </body>
</html>
`;
const JS = `export const rows = [${Array.from({ length: 200 }, (_, i) => `{id:${i},name:"row ${i}"}`).join(',')}];\n`;
const CSS = `.card{color:red}\n`.repeat(50);
const PNG = Buffer.from([
  0x89,
  0x50,
  0x4e,
  0x47,
  0x0d,
  0x0a,
  0x1a,
  0x0a,
  ...Array.from({ length: 600 }, (_, i) => (i * 7919) % 256),
]);
const SECRET = 'root:x:0:0:secret-outside-assets';
const SIGNED_IN = 'test=signed-in';

const someone: Identity = {
  userId: 'u1',
  username: 'ada',
  email: null,
  role: 'developer',
  groups: [],
  via: 'session',
  session: { id: 's', csrf: 'c' },
};

async function writeBuild(dir: string): Promise<void> {
  await mkdir(join(dir, 'assets', 'fonts'), { recursive: true });
  await writeFile(join(dir, 'index.html'), INDEX);
  await writeFile(join(dir, 'secret.txt'), SECRET);
  await writeFile(join(dir, 'assets', 'app-1a2b.js'), JS);
  await writeFile(join(dir, 'assets', 'app-9f8e.css'), CSS);
  await writeFile(join(dir, 'assets', 'logo-77aa.png'), PNG);
  await writeFile(join(dir, 'assets', 'fonts', 'inter-5c5c.woff2'), 'wOF2 not really a font');
  await writeFile(join(dir, 'assets', '.env'), SECRET);
  await symlink(join(dir, 'secret.txt'), join(dir, 'assets', 'link.txt'));
}

/** A server like the API's: a stand-in auth hook that only accepts public, hidden routes. */
async function serve(distDir: string, logger = silentLogger): Promise<FastifyInstance> {
  const app = Fastify();
  app.addHook('onRoute', (route) => {
    const hidden = (route.schema as { hide?: boolean } | undefined)?.hide;
    if (route.config?.access !== 'public' || hidden !== true) {
      throw new Error(`${route.url} must be public and hidden from OpenAPI`);
    }
  });
  app.decorateRequest('identity', null);
  app.addHook('onRequest', async (request) => {
    request.identity = request.headers.cookie === SIGNED_IN ? someone : null;
  });
  await app.register(webUi, { distDir, logger });
  app.get('/api/health', { config: { access: 'public' }, schema: { hide: true } }, async () => ({
    ok: true,
  }));
  await app.ready();
  return app;
}

void describe('web UI', () => {
  let dir: string;
  let app: FastifyInstance;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gantry-web-'));
    await writeBuild(dir);
    app = await serve(dir);
  });
  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });
  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ url, headers });

  void test('a browser without a signed-in user is sent to sign in, and back', async () => {
    const cases: [string, string][] = [
      ['/', '/login?next=%2F'],
      ['/manage', '/login?next=%2Fmanage'],
      ['/manage/apps/sales?tab=logs', `/login?next=${encodeURIComponent('/manage/apps/sales?tab=logs')}`],
      ['/admin/users', '/login?next=%2Fadmin%2Fusers'],
      ['/account', '/login?next=%2Faccount'],
    ];
    for (const [url, location] of cases) {
      const r = await get(url);
      assert.equal(r.statusCode, 302, url);
      assert.equal(r.headers.location, location);
      assert.equal(r.headers['cache-control'], 'no-store');
    }
    const odd = await get('/manage//evil.example');
    assert.equal(odd.statusCode, 302);
    assert.match(String(odd.headers.location), /^\/login\?next=%2F/);
    assert.doesNotMatch(decodeURIComponent(String(odd.headers.location).slice(12)), /^\/\//);
  });

  void test('signed in, every SPA route is index.html: revalidated, under a strict CSP', async () => {
    for (const url of ['/', '/manage', '/manage/apps/sales', '/admin', '/admin/sso', '/account']) {
      const r = await get(url, { cookie: SIGNED_IN });
      assert.equal(r.statusCode, 200, url);
      assert.equal(r.body, INDEX);
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(r.headers['cache-control'], 'no-cache');
      assert.equal(r.headers['content-security-policy'], WEB_CSP);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['referrer-policy'], 'same-origin');
      assert.equal(r.headers['x-frame-options'], 'DENY');
    }
    assert.equal(
      WEB_CSP,
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    );
    const first = await get('/', { cookie: SIGNED_IN });
    const again = await get('/', { cookie: SIGNED_IN, 'if-none-match': String(first.headers.etag) });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
    assert.equal((await get('/manager', { cookie: SIGNED_IN })).statusCode, 404, 'only the SPA routes');
  });

  void test('index.html is compressed for browsers that accept it', async () => {
    const r = await get('/', { cookie: SIGNED_IN, 'accept-encoding': 'gzip' });
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers.vary, 'accept-encoding');
    assert.equal(gunzipSync(r.rawPayload).toString(), INDEX);
  });

  void test('assets: right types, cached for a year, ETag and 304', async () => {
    const expect: [string, string, string | Buffer][] = [
      ['/assets/app-1a2b.js', 'text/javascript; charset=utf-8', JS],
      ['/assets/app-9f8e.css', 'text/css; charset=utf-8', CSS],
      ['/assets/logo-77aa.png', 'image/png', PNG],
      ['/assets/fonts/inter-5c5c.woff2', 'font/woff2', 'wOF2 not really a font'],
    ];
    for (const [url, type, body] of expect) {
      const r = await get(url);
      assert.equal(r.statusCode, 200, url);
      assert.equal(r.headers['content-type'], type);
      assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.equal(r.headers['content-encoding'], undefined, 'no Accept-Encoding: the file as it is');
      assert.deepEqual(r.rawPayload, Buffer.from(body));
      assert.match(String(r.headers.etag), /^W\/"[A-Za-z0-9_-]+"$/);
      const cached = await get(url, { 'if-none-match': String(r.headers.etag) });
      assert.equal(cached.statusCode, 304);
    }
    const head = await app.inject({ method: 'HEAD', url: '/assets/app-1a2b.js' });
    assert.equal(head.statusCode, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], String(Buffer.byteLength(JS)));
  });

  void test('gzip and brotli bodies decode to the file; chosen by Accept-Encoding', async () => {
    const url = '/assets/app-1a2b.js';
    const br = await get(url, { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers.vary, 'accept-encoding');
    assert.ok(br.rawPayload.length < Buffer.byteLength(JS) / 3);
    assert.equal(brotliDecompressSync(br.rawPayload).toString(), JS);
    assert.equal(br.headers['content-length'], String(br.rawPayload.length));

    const gz = await get(url, { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.rawPayload).toString(), JS);

    const css = await get('/assets/app-9f8e.css', { 'accept-encoding': 'br;q=0.5, gzip' });
    assert.equal(css.headers['content-encoding'], 'gzip', 'the higher q-value wins');
    assert.equal(gunzipSync(css.rawPayload).toString(), CSS);

    const none = await get(url, { 'accept-encoding': 'br;q=0, gzip;q=0' });
    assert.equal(none.headers['content-encoding'], undefined);
    assert.equal(none.body, JS);

    const png = await get('/assets/logo-77aa.png', { 'accept-encoding': 'gzip, br' });
    assert.equal(png.headers['content-encoding'], undefined, 'images are not compressed again');
    assert.deepEqual(png.rawPayload, PNG);
  });

  void test('nothing outside assets/ can be reached; unknown files are 404', async () => {
    const attempts = [
      '/assets/..%2f..%2fetc/passwd',
      '/assets/../secret.txt',
      '/assets/..%2fsecret.txt',
      '/assets/%2e%2e/secret.txt',
      '/assets/%2e%2e%2fsecret.txt',
      '/assets/..%5csecret.txt',
      '/assets/fonts/..%2f..%2fsecret.txt',
      '/assets/link.txt',
      '/assets/.env',
      '/assets/%2eenv',
      '/assets/',
      '/assets/fonts',
      '/assets/%2fetc%2fpasswd',
      '/assets//etc/passwd',
      '/assets/..%2findex.html',
    ];
    for (const url of attempts) {
      const r = await get(url, { cookie: SIGNED_IN });
      assert.ok([400, 404].includes(r.statusCode), `${url} → ${r.statusCode}`);
      assert.ok(!r.body.includes('secret-outside-assets'), url);
      assert.ok(!r.body.includes('root:'), url);
      assert.ok(!r.body.includes('<div id="root">'), url);
    }
    const missing = await get('/assets/app-0000.js');
    assert.equal(missing.statusCode, 404);
    assert.equal(
      missing.headers['cache-control'],
      'no-store',
      'a deploy in progress must not be cached as missing',
    );
  });
});

void describe('web UI not built', () => {
  void test('/ answers a themed 503 that says how to build it; one warning; the API keeps working', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gantry-web-empty-'));
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(s) });
    const app = await serve(dir, logger);
    try {
      const warnings = lines
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .filter((l) => l.level === 40);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!.msg, /not built.*npm run build/);
      for (const cookie of [SIGNED_IN, '']) {
        const r = await app.inject({ url: '/', headers: { cookie } });
        assert.equal(r.statusCode, 503);
        assert.match(String(r.headers['content-type']), /^text\/html/);
        assert.match(r.body, /The web UI is not built: run <code>npm run build<\/code>/);
        assert.match(r.body, /<body class="g-page">/);
        assert.match(r.body, /<main class="g-card">/);
        assert.match(r.body, /name="viewport"/);
        assert.match(r.body, /prefers-color-scheme:dark/);
        const style = /<style>([\s\S]*?)<\/style>/.exec(r.body)![1]!;
        const { createHash } = await import('node:crypto');
        const hash = `'sha256-${createHash('sha256').update(style).digest('base64')}'`;
        assert.ok(String(r.headers['content-security-policy']).includes(`style-src ${hash};`));
      }
      assert.equal(
        (await app.inject({ url: '/manage/apps/x', headers: { cookie: SIGNED_IN } })).statusCode,
        503,
      );
      assert.equal((await app.inject({ url: '/assets/app.js' })).statusCode, 404);
      assert.equal((await app.inject({ url: '/api/health' })).statusCode, 200);
    } finally {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  void test('the default build directory is web/dist of the checkout', () => {
    assert.equal(DEFAULT_DIST_DIR, join(import.meta.dirname, '..', '..', 'web', 'dist'));
  });
});

void test('pickEncoding', () => {
  const both = { br: Buffer.alloc(1), gzip: Buffer.alloc(1) } as Asset;
  const gzOnly = { gzip: Buffer.alloc(1) } as Asset;
  assert.equal(pickEncoding(undefined, both), 'identity');
  assert.equal(pickEncoding('', both), 'identity');
  assert.equal(pickEncoding('gzip, br', both), 'br');
  assert.equal(pickEncoding('BR;Q=0.2, GZIP;q=0.9', both), 'gzip');
  assert.equal(pickEncoding('*', both), 'br');
  assert.equal(pickEncoding('*;q=0.5, br;q=0', both), 'gzip');
  assert.equal(pickEncoding('br', gzOnly), 'identity');
  assert.equal(pickEncoding('deflate', both), 'identity');
  assert.equal(pickEncoding('gzip', {} as Asset), 'identity');
});

void test('on the real API: anonymous browsers sign in first, then get the UI', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gantry-web-api-'));
  await writeBuild(dir);
  const id = await testIdentity();
  const api = await buildApi({
    platform: new FakePlatform({ records: id.records }),
    ...id.options,
    logger: silentLogger,
    version: '1',
    publicUrl: 'http://gantry.test',
  });
  try {
    await api.register(webUi, { distDir: dir, logger: silentLogger });
    const anon = await api.inject({ url: '/manage/apps/x' });
    assert.equal(anon.statusCode, 302);
    assert.equal(anon.headers.location, '/login?next=%2Fmanage%2Fapps%2Fx');
    const login = await api.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        username: 'admin',
        password: FAKE_PASSWORD,
        next: '/manage/apps/x',
      }).toString(),
    });
    assert.equal(login.statusCode, 303);
    assert.equal(login.headers.location, '/manage/apps/x');
    const cookie = String(login.headers['set-cookie']).split(';', 1)[0]!;
    const page = await api.inject({ url: '/manage/apps/x', headers: { cookie } });
    assert.equal(page.statusCode, 200);
    assert.equal(page.body, INDEX);
    assert.equal((await api.inject({ url: '/assets/app-1a2b.js' })).body, JS);
    assert.equal((await api.inject({ url: '/api/apps' })).statusCode, 401, 'the API still needs a caller');
    const paths = Object.keys((await api.inject({ url: '/api/openapi.json' })).json().paths as object);
    assert.ok(paths.length > 10);
    assert.ok(
      !paths.some((p) => p === '/' || p.startsWith('/assets') || p.startsWith('/manage')),
      paths.join(),
    );
  } finally {
    await api.close();
    await id.close();
    await rm(dir, { recursive: true, force: true });
  }
});
