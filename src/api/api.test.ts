import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pino } from 'pino';
import * as tar from 'tar';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../log/index.js';
import { LoginLimiter } from '../auth/rate-limit.js';
import { buildApi, PUBLIC_ROUTES, type BuildApiOptions } from './index.js';
import { FakePlatform, FAKE_PASSWORD } from './fake-platform.js';
import { routesOf, testIdentity, type TestIdentity } from './testing.js';
import type { OutputSink, ReleaseInfo } from './platform.js';

interface TestApi {
  app: FastifyInstance;
  platform: FakePlatform;
  identity: TestIdentity;
  auth: Record<string, string>;
  /** Creates an app owned by admin, as POST /api/apps would. */
  createApp(name: string): Promise<void>;
  close(): Promise<void>;
}

async function makeApi(
  make: (records: TestIdentity['records']) => FakePlatform = (records) => new FakePlatform({ records }),
  extra: Partial<BuildApiOptions> = {},
  limiter?: LoginLimiter,
): Promise<TestApi> {
  const identity = await testIdentity({ limiter });
  const platform = make(identity.records);
  const app = await buildApi({
    platform,
    ...identity.options,
    logger: silentLogger,
    version: '9.8.7',
    publicUrl: 'http://gantry.test',
    ...extra,
  });
  const token = await identity.token('admin');
  platform.calls.length = 0;
  const adminId = identity.directory.getUser('admin')!.id;
  return {
    app,
    platform,
    identity,
    auth: { authorization: `Bearer ${token}` },
    async createApp(name) {
      await platform.createApp(name, adminId);
      identity.directory.appCreated(name, 'admin');
    },
    async close() {
      await app.close();
      await identity.close();
    },
  };
}

/** Sign-in pages: outside /api, public, not in the OpenAPI document. */
const PAGES = ['GET /login', 'POST /login', 'POST /logout'];

const fillParams = (path: string): string => path.replace(':app', 'demo').replace(':id', 'b1');

async function targz(files: Record<string, string>): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'gantry-api-test-'));
  try {
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
    const chunks: Buffer[] = [];
    for await (const c of tar.c(
      { gzip: true, cwd: dir, portable: true },
      Object.keys(files),
    ) as AsyncIterable<Buffer>) {
      chunks.push(c);
    }
    return Buffer.concat(chunks);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void describe('auth hook', () => {
  let app: FastifyInstance;
  let t: TestApi;
  void before(async () => {
    t = await makeApi(undefined, { statusPage: async () => '<h1>ok</h1>' });
    app = t.app;
    await app.ready();
  });
  void after(() => t.close());

  void test('every route except the public ones answers 401 without a valid token', async () => {
    const routes = routesOf(app);
    assert.ok(routes.length >= 20, `found only ${routes.length} routes: ${routes.join(', ')}`);
    const open: string[] = [];
    for (const route of routes) {
      const [method, path] = route.split(' ') as [string, string];
      for (const authorization of [undefined, 'Bearer nope', 'Basic YWRtaW46eA==']) {
        const r = await app.inject({
          method: method as 'GET',
          url: fillParams(path),
          headers: authorization ? { authorization } : {},
        });
        if (r.statusCode !== 401) {
          assert.ok(r.statusCode < 500, `${route}: ${r.statusCode} ${r.body}`);
          open.push(route);
          break;
        }
        if (method !== 'HEAD') assert.equal(r.json().error.code, 'GANTRY_UNAUTHORIZED', route);
      }
    }
    const expected = [...PUBLIC_ROUTES, ...PAGES, 'GET /'].flatMap((r) =>
      r.startsWith('GET') ? [r, r.replace('GET', 'HEAD')] : [r],
    );
    assert.deepEqual(open.sort(), expected.sort());
  });

  void test('percent-encoded or re-cased API paths cannot skip authentication', async () => {
    for (const url of ['/%61pi/apps', '/%61%70%69/apps', '/api%2Fapps', '/API/apps', '/Api/apps/x/config']) {
      for (const method of ['GET', 'POST'] as const) {
        const r = await app.inject({ method, url, payload: method === 'POST' ? { name: 'pwn' } : undefined });
        assert.equal(r.statusCode, 401, `${method} ${url} answered ${r.statusCode}`);
      }
    }
    assert.equal((await app.inject({ url: '/%zz/apps' })).statusCode, 400, 'malformed escapes are refused');
  });

  void test('unknown /api paths need a token too; the status page is outside /api', async () => {
    assert.equal((await app.inject({ url: '/api/nope' })).statusCode, 401);
    const page = await app.inject({ url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    assert.equal(page.body, '<h1>ok</h1>');
  });

  void test('the OpenAPI document lists every route, with bearer security except on public ones', async () => {
    const r = await app.inject({ url: '/api/openapi.json' });
    assert.equal(r.statusCode, 200);
    const doc = r.json();
    assert.match(doc.openapi, /^3\./);
    const routes = routesOf(app).filter((x) => !x.startsWith('HEAD') && x !== 'GET /' && !PAGES.includes(x));
    for (const route of routes) {
      const [method, path] = route.split(' ') as [string, string];
      const op = doc.paths[path.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
      assert.ok(op, `${route} missing from OpenAPI`);
      assert.ok(op.responses, `${route} has no responses`);
      const isPublic = (PUBLIC_ROUTES as readonly string[]).includes(route);
      assert.deepEqual(op.security ?? doc.security, isPublic ? [] : [{ bearer: [] }, { session: [] }], route);
    }
  });
});

void describe('routes', () => {
  let app: FastifyInstance;
  let platform: FakePlatform;
  let auth: Record<string, string>;
  let t: TestApi;
  void before(async () => {
    const limiter = new LoginLimiter({ maxFailuresPerAddress: 3, maxFailuresPerUsername: 6 });
    t = await makeApi(undefined, { maxUploadBytes: 64 * 1024 }, limiter);
    ({ app, platform, auth } = t);
  });
  void after(() => t.close());

  void test('health is public and tells the version', async () => {
    const r = await app.inject({ url: '/api/health' });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { status: 'ok', version: '9.8.7' });
  });

  void test('login returns a token that works; bad logins get one generic message, then 429', async () => {
    const ok = await app.inject({
      method: 'POST',
      url: '/api/login',
      payload: { username: 'admin', password: FAKE_PASSWORD, tokenName: 'laptop' },
      remoteAddress: '10.0.0.1',
    });
    assert.equal(ok.statusCode, 200);
    const { token, username } = ok.json();
    assert.equal(username, 'admin');
    const me = await app.inject({ url: '/api/whoami', headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.json().username, 'admin');
    assert.equal(me.json().role, 'admin');
    assert.equal(me.json().via, 'token');
    assert.equal(me.json().token.name, 'laptop');
    assert.equal(me.json().token.scope, 'full');

    const bad = (username: string, remoteAddress = '10.0.0.2') =>
      app.inject({ method: 'POST', url: '/api/login', payload: { username, password: 'x' }, remoteAddress });
    const wrongPassword = await bad('admin');
    const noSuchUser = await bad('nobody');
    assert.equal(wrongPassword.statusCode, 401);
    assert.deepEqual(wrongPassword.json(), noSuchUser.json());
    assert.equal((await bad('admin')).statusCode, 401);
    const limited = await bad('admin');
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().error.code, 'GANTRY_TOO_MANY_REQUESTS');
    assert.ok(Number(limited.headers['retry-after']) > 0);
    // Even the right password is refused while limited; other addresses are not affected.
    const right = await app.inject({
      method: 'POST',
      url: '/api/login',
      payload: { username: 'admin', password: FAKE_PASSWORD },
      remoteAddress: '10.0.0.2',
    });
    assert.equal(right.statusCode, 429);
    assert.equal((await bad('admin', '10.0.0.3')).statusCode, 401);
  });

  void test('login validates its body', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'admin' } });
    assert.equal(r.statusCode, 400);
    assert.deepEqual(r.json().error, {
      code: 'GANTRY_BAD_REQUEST',
      message: 'invalid body: password is required',
    });
  });

  void test('apps: create, show, list, destroy, with domain errors mapped to statuses', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: auth,
      payload: { name: 'demo' },
    });
    assert.equal(created.statusCode, 201);
    assert.equal(created.json().gitUrl, 'http://gantry.test/git/demo.git');
    const dup = await app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: auth,
      payload: { name: 'demo' },
    });
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json().error.code, 'GANTRY_APP_EXISTS');
    const badName = await app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: auth,
      payload: { name: '$(id)' },
    });
    assert.equal(badName.statusCode, 400);
    assert.match(badName.json().error.message, /^invalid name: must match pattern/);
    assert.ok(!platform.calls.some((c) => c.method === 'createApp' && c.args[0] === '$(id)'));
    const tooLong = await app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: auth,
      payload: { name: 'a'.repeat(31) },
    });
    assert.equal(tooLong.json().error.code, 'GANTRY_INVALID_APP_NAME');

    const list = await app.inject({ url: '/api/apps', headers: auth });
    assert.deepEqual(
      list
        .json()
        .apps.map((a: { name: string; owner: string; visibility: string; access: string }) => [
          a.name,
          a.owner,
          a.visibility,
          a.access,
        ]),
      [['demo', 'admin', 'restricted', 'own']],
    );
    assert.equal((await app.inject({ url: '/api/apps/demo', headers: auth })).json().name, 'demo');
    const missing = await app.inject({ url: '/api/apps/ghost', headers: auth });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), {
      error: { code: 'GANTRY_APP_NOT_FOUND', message: 'app ghost not found' },
    });

    await app.inject({ method: 'POST', url: '/api/apps', headers: auth, payload: { name: 'doomed' } });
    const del = await app.inject({ method: 'DELETE', url: '/api/apps/doomed', headers: auth });
    assert.equal(del.statusCode, 204);
    assert.equal(del.body, '');
    assert.equal((await app.inject({ url: '/api/apps/doomed', headers: auth })).statusCode, 404);
  });

  void test('config: set/unset reaches the platform; bad, PORT and GANTRY_ names are refused clearly', async () => {
    const patch = (payload: unknown) =>
      app.inject({
        method: 'PATCH',
        url: '/api/apps/demo/config',
        headers: auth,
        payload: payload as object,
      });
    const r = await patch({ set: { A: '1', B: 'two words' }, unset: ['C'] });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { release: null });
    assert.deepEqual(platform.calls.at(-1), {
      method: 'updateConfig',
      args: ['demo', { set: { A: '1', B: 'two words' }, unset: ['C'] }],
    });
    assert.deepEqual((await app.inject({ url: '/api/apps/demo/config', headers: auth })).json(), {
      vars: { A: '1', B: 'two words' },
    });
    const cases: [unknown, RegExp][] = [
      [{ set: { '1A': 'x' } }, /invalid config var name "1A"/],
      [{ set: { 'A-B': 'x' } }, /invalid config var name "A-B"/],
      [{ set: { PORT: '80' } }, /PORT is set by Gantry/],
      [{ unset: ['GANTRY_SECRET'] }, /GANTRY_ are reserved/],
      [{}, /nothing to change/],
      [{ set: { A: '1' }, unset: ['A'] }, /both set and unset: A/],
    ];
    const before = platform.calls.length;
    for (const [payload, message] of cases) {
      const bad = await patch(payload);
      assert.equal(bad.statusCode, 400, JSON.stringify(payload));
      assert.equal(bad.json().error.code, 'GANTRY_INVALID_CONFIG');
      assert.match(bad.json().error.message, message);
    }
    assert.equal(platform.calls.length, before, 'nothing invalid reached the platform');
  });

  void test('formation: counts are non-negative integers, types are RFC 1123 labels', async () => {
    const scale = (payload: object) =>
      app.inject({ method: 'PATCH', url: '/api/apps/demo/formation', headers: auth, payload });
    const ok = await scale({ web: 2, worker: 1 });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { formation: { web: 2, worker: 1 } });
    for (const payload of [
      { web: -1 },
      { web: 'abc' },
      { web: 1.5 },
      { Web: 1 },
      { a_b: 1 },
      { web: 1000 },
      {},
    ]) {
      const r = await scale(payload);
      assert.equal(r.statusCode, 400, JSON.stringify(payload));
      assert.equal(r.json().error.code, 'GANTRY_BAD_REQUEST');
    }
    assert.match((await scale({ web: 'abc' })).json().error.message, /invalid web: must be integer/);
  });

  void test('restart and rollback take an optional body', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/apps/demo/restart', headers: auth });
    assert.deepEqual(r.json(), { restarted: 'all' });
    const w = await app.inject({
      method: 'POST',
      url: '/api/apps/demo/restart',
      headers: auth,
      payload: { type: 'web' },
    });
    assert.deepEqual(w.json(), { restarted: 'web' });
    assert.deepEqual(platform.calls.at(-1), { method: 'restart', args: ['demo', 'web'] });
    const rb = await app.inject({ method: 'POST', url: '/api/apps/demo/rollback', headers: auth });
    assert.equal(rb.statusCode, 409);
    assert.equal(rb.json().error.code, 'GANTRY_NO_RELEASE');
  });

  void test('deploy streams build output and ends with the outcome line; builds are listed', async () => {
    const deploy = (payload: Buffer, app_ = 'demo', type = 'application/gzip') =>
      app.inject({
        method: 'POST',
        url: `/api/apps/${app_}/deploy`,
        headers: { ...auth, 'content-type': type },
        payload,
      });
    const ok = await deploy(await targz({ 'app.py': 'print(1)', Procfile: 'web: python app.py' }));
    assert.equal(ok.statusCode, 200);
    assert.match(ok.headers['content-type'] as string, /^text\/plain/);
    assert.deepEqual(platform.lastDeployFiles, ['Procfile', 'app.py']);
    const lines = ok.body.trimEnd().split('\n');
    assert.ok(lines.includes('-----> Received 2 files'), ok.body);
    assert.equal(lines.at(-1), '=====> DEPLOY OK v1');

    const failed = await deploy(await targz({ FAIL: '' }));
    assert.equal(failed.statusCode, 200);
    assert.equal(
      failed.body.trimEnd().split('\n').at(-1),
      '=====> DEPLOY FAILED: build failed: no buildpack detected',
    );

    const boom = await deploy(await targz({ BOOM: '' }));
    assert.equal(
      boom.body.trimEnd().split('\n').at(-1),
      '=====> DEPLOY FAILED: internal error (see server log)',
    );
    assert.doesNotMatch(boom.body, /shadow/);

    const builds = (await app.inject({ url: '/api/apps/demo/builds', headers: auth })).json().builds;
    assert.deepEqual(
      builds.map((b: { status: string }) => b.status),
      ['failed', 'failed', 'succeeded'],
    );
    const log = await app.inject({ url: '/api/apps/demo/builds/b1/log', headers: auth });
    assert.match(log.headers['content-type'] as string, /^text\/plain/);
    assert.equal(log.body, '-----> Received 2 files\n-----> Build succeeded\n');
    assert.equal((await app.inject({ url: '/api/apps/demo/builds/zz/log', headers: auth })).statusCode, 404);

    const releases = (await app.inject({ url: '/api/apps/demo/releases', headers: auth })).json().releases;
    assert.equal(releases[0].version, 1);
  });

  void test('deploy refuses what it cannot use with a real status, before streaming', async () => {
    const tgz = await targz({ 'a.txt': 'a' });
    const post = (headers: Record<string, string>, payload: Buffer | string, url = '/api/apps/demo/deploy') =>
      app.inject({ method: 'POST', url, headers: { ...auth, ...headers }, payload });
    const ghost = await post({ 'content-type': 'application/gzip' }, tgz, '/api/apps/ghost/deploy');
    assert.equal(ghost.statusCode, 404);
    assert.equal(ghost.json().error.code, 'GANTRY_APP_NOT_FOUND');
    const json = await post({ 'content-type': 'application/json' }, '{}');
    assert.equal(json.statusCode, 400);
    const octet = await post({ 'content-type': 'application/octet-stream' }, tgz);
    assert.equal(octet.statusCode, 415);
    assert.equal(octet.json().error.code, 'GANTRY_BAD_REQUEST');
    const big = await post({ 'content-type': 'application/gzip' }, Buffer.alloc(65 * 1024));
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().error.code, 'GANTRY_PUSH_TOO_LARGE');
  });

  void test('logs: tail as TIMESTAMP APP.TYPE.N: text lines', async () => {
    platform.log('demo', 'demo.web.1', 'hello\n', new Date('2026-01-01T00:00:00.000Z'));
    platform.log('other', 'other.web.1', 'not mine');
    platform.log('demo', 'demo.worker.1', 'working', new Date('2026-01-01T00:00:01.000Z'));
    const r = await app.inject({ url: '/api/apps/demo/logs?lines=5', headers: auth });
    assert.equal(r.statusCode, 200);
    assert.match(r.headers['content-type'] as string, /^text\/plain/);
    assert.equal(
      r.body,
      '2026-01-01T00:00:00.000Z demo.web.1: hello\n2026-01-01T00:00:01.000Z demo.worker.1: working\n',
    );
    const one = await app.inject({ url: '/api/apps/demo/logs?lines=1', headers: auth });
    assert.equal(one.body.split('\n').length, 2);
    const bad = await app.inject({ url: '/api/apps/demo/logs?lines=-3', headers: auth });
    assert.equal(bad.statusCode, 400);
  });
});

void describe('errors', () => {
  void test('unexpected errors are a generic 500; the real one is logged, not sent', async () => {
    class Broken extends FakePlatform {
      override async listApps(): Promise<never> {
        throw new Error('connection to db at 10.1.2.3 refused');
      }
    }
    const logged: string[] = [];
    const logger = pino(
      { level: 'error' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          logged.push(chunk.toString());
          done();
        },
      }),
    );
    const t = await makeApi(() => new Broken(), { logger });
    const { app, auth } = t;
    const r = await app.inject({ url: '/api/apps', headers: auth });
    assert.equal(r.statusCode, 500);
    assert.deepEqual(r.json(), { error: { code: 'GANTRY_INTERNAL', message: 'internal server error' } });
    assert.ok(
      logged.some((l) => l.includes('10.1.2.3')),
      'the real error is logged',
    );
    await t.close();
  });
});

void describe('streaming over a real socket', () => {
  let app: FastifyInstance;
  let platform: FakePlatform;
  let auth: Record<string, string>;
  let base: string;
  let t: TestApi;
  let release: () => void = () => {};

  class SlowDeploy extends FakePlatform {
    override async deployTarball(_app: string, tarball: Readable, output: OutputSink): Promise<ReleaseInfo> {
      for await (const _chunk of tarball) output('');
      output('-----> step 1\n');
      await new Promise<void>((resolve) => (release = resolve));
      output('-----> step 2');
      return {
        version: 7,
        description: 'Deploy',
        commit: null,
        createdAt: '',
        current: true,
        configKeys: [],
      };
    }
  }

  void before(async () => {
    t = await makeApi(() => new SlowDeploy());
    ({ app, platform, auth } = t);
    await t.createApp('demo');
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  void after(async () => {
    // undici opens a spare connection after an aborted fetch; it never sends a request,
    // so Fastify's close (which only ends idle connections) would wait for headersTimeout.
    app.server.closeAllConnections();
    await t.close();
  });

  async function readUntil(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    seen: { text: string },
    want: string,
  ) {
    const dec = new TextDecoder();
    while (!seen.text.includes(want)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before "${want}": ${seen.text}`);
      seen.text += dec.decode(value, { stream: true });
    }
  }

  void test('deploy sends status and output before the outcome is known', async () => {
    const res = await fetch(`${base}/api/apps/demo/deploy`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/gzip' },
      body: new Uint8Array(await targz({ 'x.txt': 'x' })),
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const seen = { text: '' };
    await readUntil(reader, seen, '-----> step 1\n');
    assert.doesNotMatch(seen.text, /DEPLOY/);
    release();
    await readUntil(reader, seen, 'DEPLOY OK');
    assert.equal((await reader.read()).done, true, 'the stream ends after the outcome');
    // Output without a trailing newline still leaves the outcome on a line of its own.
    assert.match(seen.text, /-----> step 2\n/);
    assert.equal(seen.text.trimEnd().split('\n').at(-1), '=====> DEPLOY OK v7');
  });

  void test('logs follow answers at once even when the app has not logged anything yet', async () => {
    await t.createApp('quiet');
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 3000);
    const res = await fetch(`${base}/api/apps/quiet/logs?follow=1`, { headers: auth, signal: abort.signal });
    clearTimeout(timer);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/plain/);
    abort.abort();
    await res.body?.cancel().catch(() => undefined);
  });

  void test('logs follow: tail, then live lines, until the client disconnects', async () => {
    platform.log('demo', 'demo.web.1', 'old line');
    const abort = new AbortController();
    const res = await fetch(`${base}/api/apps/demo/logs?lines=10&follow=1`, {
      headers: auth,
      signal: abort.signal,
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const seen = { text: '' };
    await readUntil(reader, seen, 'demo.web.1: old line\n');
    assert.equal(platform.followers, 1);
    platform.log('demo', 'demo.web.2', 'live line');
    platform.log('other', 'other.web.1', 'not mine');
    await readUntil(reader, seen, 'demo.web.2: live line\n');
    assert.doesNotMatch(seen.text, /not mine/);
    assert.equal(seen.text.match(/old line/g)?.length, 1);
    abort.abort();
    await reader.cancel().catch(() => undefined);
    for (let i = 0; i < 100 && platform.followers > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(platform.followers, 0, 'the subscription ends when the client goes away');
  });
});
