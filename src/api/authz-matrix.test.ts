/**
 * The authorization matrix: every registered route (read from Fastify's own
 * route tree, so a route added anywhere, later, is in it) × every kind of
 * caller, against the outcome this table says. A route missing from the
 * table fails the test: adding a route means deciding who may call it.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { silentLogger } from '../log/index.js';
import { GantryError } from '../errors/index.js';
import { buildApi, isApiPath } from './index.js';
import { FakePlatform } from './fake-platform.js';
import { routesOf, testIdentity, type TestIdentity } from './testing.js';

type Level =
  | 'public'
  /** Public, but acts on the browser's session: needs its CSRF token. */
  | 'logout'
  | 'user'
  /** Any caller, app-scoped tokens included. */
  | 'whoami'
  | 'admin'
  | 'create-app'
  | 'self'
  /** Open the app (its portal picture): viewers too. */
  | 'view'
  | 'read'
  | 'manage'
  | 'own';

/** Who may call what. HEAD routes take their GET's entry. */
const MATRIX: Record<string, Level> = {
  'GET /api/health': 'public',
  'GET /api/openapi.json': 'public',
  'GET /.well-known/jwks.json': 'public',
  'GET /': 'public',
  'POST /api/login': 'public',
  'GET /api/auth/providers': 'public',
  'GET /login': 'public',
  'POST /login': 'public',
  'POST /logout': 'logout',
  'GET /api/whoami': 'whoami',
  'GET /api/session': 'whoami',
  'GET /api/apps': 'user',
  'POST /api/apps': 'create-app',
  'GET /api/apps/:app': 'read',
  'DELETE /api/apps/:app': 'own',
  'GET /api/apps/:app/config': 'read',
  'PATCH /api/apps/:app/config': 'manage',
  'GET /api/apps/:app/ps': 'read',
  'PATCH /api/apps/:app/formation': 'manage',
  'POST /api/apps/:app/restart': 'manage',
  'GET /api/apps/:app/logs': 'read',
  'GET /api/apps/:app/releases': 'read',
  'POST /api/apps/:app/rollback': 'manage',
  'GET /api/apps/:app/builds': 'read',
  'GET /api/apps/:app/builds/:id/log': 'read',
  'POST /api/apps/:app/deploy': 'manage',
  'GET /api/apps/:app/collaborators': 'manage',
  'POST /api/apps/:app/collaborators': 'own',
  'DELETE /api/apps/:app/collaborators/:principal': 'own',
  'GET /api/apps/:app/access': 'manage',
  'PUT /api/apps/:app/access/visibility': 'manage',
  'POST /api/apps/:app/access': 'manage',
  'DELETE /api/apps/:app/access/:principal': 'manage',
  'GET /api/users': 'admin',
  'POST /api/users': 'admin',
  'PATCH /api/users/:username': 'admin',
  'DELETE /api/users/:username': 'admin',
  'GET /api/groups': 'admin',
  'POST /api/groups': 'admin',
  'DELETE /api/groups/:group': 'admin',
  'PUT /api/groups/:group/members/:username': 'admin',
  'DELETE /api/groups/:group/members/:username': 'admin',
  'GET /api/tokens': 'self',
  'POST /api/tokens': 'self',
  'DELETE /api/tokens/:id': 'self',
  'GET /api/keys': 'self',
  'POST /api/keys': 'self',
  'DELETE /api/keys/:key': 'self',
  'GET /api/audit': 'admin',
  'POST /api/admin/master-key/rotate': 'admin',
  'GET /api/apps/:app/scaling': 'read',
  'PATCH /api/apps/:app/scaling': 'manage',
  'POST /api/apps/:app/sleep': 'manage',
  'POST /api/apps/:app/wake': 'manage',
  'GET /api/apps/:app/limits': 'read',
  'PUT /api/apps/:app/limits/:type': 'manage',
  'DELETE /api/apps/:app/limits/:type': 'manage',
  'GET /api/apps/:app/events': 'read',
  'GET /api/apps/:app/metrics': 'read',
  'GET /api/apps/:app/cron': 'read',
  'GET /api/apps/:app/cron/runs': 'read',
  'POST /api/apps/:app/cron/:id/run': 'manage',
  'POST /api/apps/:app/run': 'manage',
  'PATCH /api/apps/:app': 'manage',
  'GET /api/apps/:app/thumbnail': 'view',
  'PUT /api/apps/:app/thumbnail': 'manage',
  'DELETE /api/apps/:app/thumbnail': 'manage',
  'POST /api/apps/:app/thumbnail/capture': 'manage',
  'GET /api/apps/:app/builds/:id/stream': 'read',
  'GET /api/apps/:app/activity': 'read',
  'GET /api/apps/:app/logs/stream': 'read',
  'GET /api/apps/:app/metrics/stream': 'read',
  'GET /api/admin/overview': 'admin',
  'GET /api/admin/tokens': 'admin',
  'GET /api/admin/sso': 'admin',
  'POST /api/admin/sso/:name/check': 'admin',
  'GET /metrics': 'admin',
  'GET /robots.txt': 'public',
};

const CALLERS = [
  'admin',
  'owner',
  'collaborator',
  'viewer',
  'outsider',
  'anonymous',
  'otherAppToken',
  'readToken',
  'cookieNoCsrf',
] as const;
type Caller = (typeof CALLERS)[number];
type Outcome = 'allowed' | 401 | 403 | 404;

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The expected outcome, written out per caller (not derived from the code under test). */
function expected(level: Level, caller: Caller, method: string): Outcome {
  if (level === 'public') return 'allowed';
  if (level === 'logout') return caller === 'cookieNoCsrf' ? 403 : 'allowed';
  if (caller === 'anonymous') return 401;
  if (caller === 'otherAppToken') return level === 'whoami' ? 'allowed' : 403;
  if ((caller === 'readToken' || caller === 'cookieNoCsrf') && !SAFE.has(method)) return 403;
  if (level === 'whoami' || level === 'user' || level === 'self') return 'allowed';
  const row: Record<
    Exclude<Level, 'public' | 'logout' | 'whoami' | 'user' | 'self'>,
    Partial<Record<Caller, Outcome>>
  > = {
    // readToken: an admin's token, but admin operations need full scope.
    admin: { admin: 'allowed', cookieNoCsrf: 'allowed' },
    'create-app': { admin: 'allowed', owner: 'allowed', collaborator: 'allowed' },
    view: {
      admin: 'allowed',
      owner: 'allowed',
      collaborator: 'allowed',
      viewer: 'allowed',
      readToken: 'allowed',
      cookieNoCsrf: 'allowed',
      outsider: 404,
    },
    read: {
      admin: 'allowed',
      owner: 'allowed',
      collaborator: 'allowed',
      readToken: 'allowed',
      cookieNoCsrf: 'allowed',
      viewer: 403,
      outsider: 404,
    },
    // A read-only token never has the manage right, even to look (collaborators, access lists).
    manage: {
      admin: 'allowed',
      owner: 'allowed',
      collaborator: 'allowed',
      cookieNoCsrf: 'allowed',
      viewer: 403,
      outsider: 404,
    },
    own: {
      admin: 'allowed',
      owner: 'allowed',
      readToken: 'allowed',
      cookieNoCsrf: 'allowed',
      viewer: 403,
      outsider: 404,
    },
  };
  return row[level][caller] ?? 403;
}

const PARAMS: Record<string, string> = {
  app: 'demo',
  id: 'nope',
  principal: 'user:nobody',
  username: 'nobody',
  group: 'nogroup',
  key: 'nokey',
  type: 'web',
};
const fill = (path: string): string => path.replace(/:(\w+)/g, (_m, p: string) => PARAMS[p] ?? 'x');

/** Bodies that get past authorization but change nothing (they fail validation or name nothing). */
const BODIES: Record<string, unknown> = {
  'POST /api/apps/:app/restart': { type: 'NOT A TYPE' },
  'POST /api/apps/:app/rollback': { version: 0 },
  'PATCH /api/users/:username': {},
  // A type the app has no limits for (and an empty body: 400 after authorization).
  'PUT /api/apps/:app/limits/:type': {},
  'POST /api/apps/:app/run': { command: [] },
  'PATCH /api/apps/:app': { tags: ['Not A Tag!'] },
};

/**
 * Query strings for the live streams that fail validation (after authorization):
 * an allowed caller would otherwise get a stream that never ends.
 */
const QUERIES: Record<string, string> = {
  'GET /api/apps/:app/logs/stream': '?lines=-1',
  'GET /api/apps/:app/metrics/stream': '?range=never',
};

function classify(r: { statusCode: number; body: string }): Outcome | 'error' {
  if (r.statusCode === 401 || r.statusCode === 403) return r.statusCode;
  if (r.statusCode === 404 && r.body.includes('GANTRY_APP_NOT_FOUND')) return 404;
  // 501: the matrix platform refuses to really destroy the app.
  if (r.statusCode >= 500 && r.statusCode !== 501) return 'error';
  return 'allowed';
}

/**
 * FakePlatform that never really destroys (the matrix app must survive its own
 * DELETE) and opens no activity stream (an allowed caller would wait forever).
 */
class MatrixPlatform extends FakePlatform {
  override async destroyApp(): Promise<void> {
    throw new GantryError('GANTRY_UNSUPPORTED', 'not in the matrix');
  }
  override async watchApp(): Promise<() => void> {
    throw new GantryError('GANTRY_UNSUPPORTED', 'not in the matrix');
  }
}

void describe('authorization matrix', () => {
  let app: FastifyInstance;
  let id: TestIdentity;
  const headers = {} as Record<Caller, Record<string, string>>;

  void before(async () => {
    id = await testIdentity();
    const { directory } = id;
    const sys = { username: null, ip: null };
    await id.user('olive', 'developer');
    await id.user('carl', 'developer');
    await id.user('vera', 'viewer');
    await id.user('otto', 'viewer');
    await directory.createGroup(sys, 'team');
    await directory.createGroup(sys, 'readers');
    await directory.addToGroup(sys, 'team', 'carl');
    await directory.addToGroup(sys, 'readers', 'vera');
    const platform = new MatrixPlatform({ records: id.records });
    for (const name of ['demo', 'other']) {
      await platform.createApp(name, directory.getUser('olive')!.id);
      directory.appCreated(name, 'olive');
    }
    await directory.addCollaborator(sys, 'demo', { kind: 'group', name: 'team' });
    await directory.addViewer(sys, 'demo', { kind: 'group', name: 'readers' });
    app = await buildApi({
      platform,
      ...id.options,
      logger: silentLogger,
      version: '1',
      publicUrl: 'http://gantry.test',
      statusPage: async () => 'ok',
      jwks: () => ({ keys: [] }),
      rotateMasterKey: async () => ({ keyId: 'k2', reencrypted: 0 }),
    });
    const bearer = async (user: string, scope?: string) => ({
      authorization: `Bearer ${await id.token(user, scope)}`,
    });
    headers.admin = await bearer('admin');
    headers.owner = await bearer('olive');
    headers.collaborator = await bearer('carl');
    headers.viewer = await bearer('vera');
    headers.outsider = await bearer('otto');
    headers.anonymous = {};
    headers.otherAppToken = await bearer('olive', 'app:other');
    headers.readToken = await bearer('admin', 'read');
    const session = await directory.createSession(directory.getUser('admin')!.id, {
      ip: null,
      userAgent: null,
      provider: 'password',
      ttlMs: 3600_000,
    });
    headers.cookieNoCsrf = { cookie: `${id.options.cookieName}=${session.cookie}` };
  });
  void after(async () => {
    await app.close();
    await id.close();
  });

  void test('every route has an entry, and every entry a route', () => {
    const routes = routesOf(app);
    const key = (r: string) => r.replace(/^HEAD /, 'GET ');
    assert.deepEqual(
      routes.filter((r) => MATRIX[key(r)] === undefined),
      [],
      'routes without a matrix entry: decide who may call them',
    );
    assert.deepEqual(
      Object.keys(MATRIX).filter((k) => !routes.includes(k)),
      [],
      'matrix entries without a route',
    );
    assert.ok(routes.filter((r) => r.startsWith('HEAD ')).length >= 20, 'HEAD routes are in the matrix too');
  });

  void test('each route × caller gets the expected outcome (HEAD included)', async () => {
    const wrong: string[] = [];
    for (const route of routesOf(app)) {
      const [method, path] = route.split(' ') as [string, string];
      const level = MATRIX[route.replace(/^HEAD /, 'GET ')]!;
      for (const caller of CALLERS) {
        const req: InjectOptions = {
          method: method as 'GET',
          url: fill(path) + (QUERIES[route] ?? ''),
          headers: { ...headers[caller] },
        };
        if (!SAFE.has(method) && method !== 'DELETE') {
          if (path === '/login') {
            req.payload = '';
            req.headers!['content-type'] = 'application/x-www-form-urlencoded';
          } else if (!path.endsWith('/deploy') && path !== '/logout') {
            req.payload = (BODIES[route] ?? {}) as object;
          }
        }
        const r = await app.inject(req);
        if (method === 'HEAD') {
          // No body to tell an app 404 from another: HEAD must answer exactly as GET (checked below).
          const get = await app.inject({ ...req, method: 'GET' });
          if (r.statusCode !== get.statusCode)
            wrong.push(`${route} as ${caller}: ${r.statusCode}, GET ${get.statusCode}`);
          continue;
        }
        const got = classify(r);
        const want = expected(level, caller, method);
        if (got !== want)
          wrong.push(`${route} as ${caller}: want ${want}, got ${r.statusCode} ${r.body.slice(0, 120)}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  void test('OPTIONS reaches nothing: 401 for strangers under /api, else 404', async () => {
    const paths = [...new Set(routesOf(app).map((r) => r.split(' ')[1]!))];
    for (const path of paths) {
      for (const caller of CALLERS) {
        const r = await app.inject({ method: 'OPTIONS', url: fill(path), headers: headers[caller] });
        const want = caller === 'anonymous' && isApiPath(path) ? 401 : 404;
        assert.equal(r.statusCode, want, `OPTIONS ${path} as ${caller}: ${r.body}`);
      }
    }
  });

  void test('an unknown app is the same 404 for everyone, admins included', async () => {
    for (const caller of ['admin', 'owner', 'collaborator', 'viewer', 'outsider'] as const) {
      for (const url of ['/api/apps/ghost', '/api/apps/ghost/config', '/api/apps/ghost/access']) {
        const r = await app.inject({ url, headers: headers[caller] });
        assert.equal(r.statusCode, 404, `${url} as ${caller}`);
        assert.deepEqual(r.json().error, { code: 'GANTRY_APP_NOT_FOUND', message: 'app ghost not found' });
      }
    }
    // A restricted app the caller may not see answers exactly like a missing one.
    const hidden = await app.inject({ url: '/api/apps/demo', headers: headers.outsider });
    assert.deepEqual(hidden.json().error, { code: 'GANTRY_APP_NOT_FOUND', message: 'app demo not found' });
  });

  void test('an app token manages its own app, but never destroys it or reaches anything else', async () => {
    const own = { authorization: `Bearer ${await id.token('olive', 'app:demo')}` };
    assert.equal((await app.inject({ url: '/api/apps/demo/config', headers: own })).statusCode, 200);
    const set = await app.inject({
      method: 'PATCH',
      url: '/api/apps/demo/config',
      headers: own,
      payload: { set: { A: '1' } },
    });
    assert.equal(set.statusCode, 200);
    assert.equal(
      (await app.inject({ method: 'DELETE', url: '/api/apps/demo', headers: own })).statusCode,
      403,
    );
    assert.equal((await app.inject({ url: '/api/apps', headers: own })).statusCode, 403);
    assert.equal((await app.inject({ url: '/api/tokens', headers: own })).statusCode, 403);
    assert.equal((await app.inject({ url: '/api/apps/other', headers: own })).statusCode, 403);
    const who = await app.inject({ url: '/api/whoami', headers: own });
    assert.equal(who.json().token.scope, 'app:demo');
  });

  void test('GET /api/apps lists only what the caller may see, with their right on each', async () => {
    const list = async (caller: Caller) =>
      (await app.inject({ url: '/api/apps', headers: headers[caller] }))
        .json()
        .apps.map((a: { name: string; access: string }) => `${a.name}:${a.access}`);
    assert.deepEqual(await list('admin'), ['demo:own', 'other:own']);
    assert.deepEqual(await list('owner'), ['demo:own', 'other:own']);
    assert.deepEqual(await list('collaborator'), ['demo:manage']);
    assert.deepEqual(await list('viewer'), ['demo:view']);
    assert.deepEqual(await list('outsider'), []);
  });
});

void describe('default-deny at startup', () => {
  void test('a route without config.access makes buildApi throw', async () => {
    const id = await testIdentity();
    try {
      await assert.rejects(
        buildApi({
          platform: new FakePlatform(),
          ...id.options,
          logger: silentLogger,
          version: '1',
          publicUrl: 'http://gantry.test',
          extraRoutes: async (app) => {
            app.get('/auth/oops', async () => 'open');
          },
        }),
        /GET \/auth\/oops declares no config.access/,
      );
    } finally {
      await id.close();
    }
  });

  void test('routes added later through extraRoutes are enumerated (and would fail the matrix)', async () => {
    const id = await testIdentity();
    const app = await buildApi({
      platform: new FakePlatform(),
      ...id.options,
      logger: silentLogger,
      version: '1',
      publicUrl: 'http://gantry.test',
      extraRoutes: async (a) => {
        a.get('/auth/corp/start', { config: { public: true } }, async () => 'sso');
        a.get('/auth/corp/secret', { config: { access: 'admin' } }, async () => 'x');
      },
    });
    try {
      const unlisted = routesOf(app).filter((r) => MATRIX[r.replace(/^HEAD /, 'GET ')] === undefined);
      assert.deepEqual(unlisted.sort(), [
        'GET /auth/corp/secret',
        'GET /auth/corp/start',
        'HEAD /auth/corp/secret',
        'HEAD /auth/corp/start',
      ]);
      assert.equal((await app.inject({ url: '/auth/corp/start' })).statusCode, 200);
      assert.equal((await app.inject({ url: '/auth/corp/secret' })).statusCode, 401);
    } finally {
      await app.close();
      await id.close();
    }
  });
});
