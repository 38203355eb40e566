import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../log/index.js';
import { MAX_THUMBNAIL_BYTES } from '../snapshots/image.js';
import { buildApi, type SsoStatus, type SsoStatusSource } from './index.js';
import { FakePlatform } from './fake-platform.js';
import { testApi, testIdentity, type TestIdentity } from './testing.js';

const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from('the picture')]);
const JPEG = Buffer.concat([Buffer.from('ffd8ffe0', 'hex'), Buffer.from('another picture')]);
const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');

const OKTA: SsoStatus = {
  name: 'okta',
  type: 'oidc',
  label: 'Okta',
  defaultRole: 'viewer',
  status: 'unknown',
  detail: 'not checked yet',
  checkedAt: null,
  logins: 3,
  failures: 1,
  lastLoginAt: '2026-01-02T03:04:05.000Z',
  lastFailureAt: '2026-01-01T00:00:00.000Z',
  lastError: 'state mismatch',
};

/** An SSO source that records checks and answers as a provider that is up. */
class FakeSso implements SsoStatusSource {
  checked: string[] = [];
  list(): SsoStatus[] {
    return [OKTA];
  }
  async check(name: string): Promise<SsoStatus> {
    this.checked.push(name);
    return {
      ...OKTA,
      status: 'ok',
      detail: 'discovery document fetched',
      checkedAt: new Date().toISOString(),
    };
  }
}

let id: TestIdentity;
let app: FastifyInstance;
let platform: FakePlatform;
const sso = new FakeSso();
const as = {} as Record<
  'admin' | 'owner' | 'collaborator' | 'viewer' | 'outsider' | 'developer',
  Record<string, string>
>;

before(async () => {
  id = await testIdentity();
  const { directory } = id;
  const sys = { username: null, ip: null };
  await id.user('olive', 'developer');
  await id.user('carl', 'developer');
  await id.user('dora', 'developer');
  await id.user('vera', 'viewer');
  await id.user('otto', 'viewer');
  platform = new FakePlatform({ records: id.records });
  for (const name of ['demo', 'busy', 'fresh']) {
    await platform.createApp(name, directory.getUser('olive')!.id);
    directory.appCreated(name, 'olive');
  }
  await directory.addCollaborator(sys, 'demo', { kind: 'user', name: 'carl' });
  await directory.addViewer(sys, 'demo', { kind: 'user', name: 'vera' });
  platform.deployFake('demo');
  platform.deployFake('busy');
  app = await buildApi({
    platform,
    ...id.options,
    logger: silentLogger,
    version: '1',
    publicUrl: 'http://gantry.test',
    sso,
  });
  const bearer = async (user: string) => ({ authorization: `Bearer ${await id.token(user)}` });
  as.admin = await bearer('admin');
  as.owner = await bearer('olive');
  as.collaborator = await bearer('carl');
  as.developer = await bearer('dora');
  as.viewer = await bearer('vera');
  as.outsider = await bearer('otto');
});
after(async () => {
  await app.close();
  await id.close();
});

const patch = (who: keyof typeof as, payload: object, name = 'demo') =>
  app.inject({ method: 'PATCH', url: `/api/apps/${name}`, headers: as[who], payload });
const upload = (who: keyof typeof as, body: Buffer, type = 'image/png') =>
  app.inject({
    method: 'PUT',
    url: '/api/apps/demo/thumbnail',
    headers: { ...as[who], 'content-type': type },
    payload: body,
  });
const audit = async (action: string) =>
  (await id.directory.listAudit({ action, limit: 10 })).map((e) => e.detail);

void describe('PATCH /api/apps/:app (portal fields)', () => {
  void test('a collaborator sets title, description and tags; they come back trimmed, lower-cased, unique', async () => {
    const r = await patch('collaborator', {
      title: '  Sales Forecast ',
      description: ' Weekly numbers. ',
      tags: ['Sales', 'forecast', ' sales ', 'q3-2026'],
    });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json();
    assert.equal(body.title, 'Sales Forecast');
    assert.equal(body.description, 'Weekly numbers.');
    assert.deepEqual(body.tags, ['sales', 'forecast', 'q3-2026']);
    assert.deepEqual([body.owner, body.visibility, body.access], ['olive', 'restricted', 'manage']);
    assert.equal(typeof body.gitUrl, 'string', 'the whole AppInfo, as GET returns it');
    assert.deepEqual((await audit('app.meta'))[0], {
      title: 'Sales Forecast',
      description: 'Weekly numbers.',
      tags: ['sales', 'forecast', 'q3-2026'],
    });

    const list = await app.inject({ url: '/api/apps', headers: as.viewer });
    const demo = list.json().apps.find((a: { name: string }) => a.name === 'demo');
    assert.equal(demo.title, 'Sales Forecast');
    assert.deepEqual(demo.tags, ['sales', 'forecast', 'q3-2026']);
    assert.ok(demo.lastDeployAt, 'a deployed app says when it went live');
  });

  void test('fields left out stay; an empty title clears it to null', async () => {
    await patch('owner', { title: 'Keep', description: 'kept', tags: ['a'] });
    const r = await patch('owner', { title: '' });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual([r.json().title, r.json().description, r.json().tags], [null, 'kept', ['a']]);
    const n = await patch('owner', { title: null });
    assert.equal(n.json().title, null);
  });

  void test('a viewer may not change them; an outsider does not see the app', async () => {
    assert.equal((await patch('viewer', { title: 'x' })).statusCode, 403);
    assert.equal((await patch('outsider', { title: 'x' })).json().error.code, 'GANTRY_APP_NOT_FOUND');
  });

  void test('bad tags and lengths are refused with a message that says why', async () => {
    const bad = await patch('owner', { tags: ['ok', 'Not A Tag!'] });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'GANTRY_BAD_REQUEST');
    assert.match(bad.json().error.message, /^tag "Not A Tag!" is not valid: use 1 to 30 lower-case letters/);
    const long = await patch('owner', { tags: ['a'.repeat(31)] });
    assert.equal(long.statusCode, 400);
    const many = await patch('owner', { tags: Array.from({ length: 11 }, (_, i) => `t${i}`) });
    assert.equal(many.statusCode, 400);
    assert.match(many.json().error.message, /at most 10 tags/);
    // Duplicates do not count against the limit.
    const dup = await patch('owner', {
      tags: [...Array.from({ length: 10 }, (_, i) => `t${i}`), 'T1', 't2'],
    });
    assert.equal(dup.statusCode, 200, dup.body);
    assert.equal(dup.json().tags.length, 10);
    const title = await patch('owner', { title: 'x'.repeat(81) });
    assert.match(title.json().error.message, /title is longer than 80 characters/);
    assert.equal(
      (await patch('owner', { title: ` ${'é'.repeat(80)} ` })).statusCode,
      200,
      '80 characters fit',
    );
    const desc = await patch('owner', { description: 'x'.repeat(501) });
    assert.match(desc.json().error.message, /description is longer than 500 characters/);
    // Other fields are dropped (Fastify's removeAdditional), never passed on.
    const other = await patch('owner', { owner: 'dora', visibility: 'public' });
    assert.deepEqual([other.json().owner, other.json().visibility], ['olive', 'restricted']);
    assert.deepEqual(platform.calls.at(-1), { method: 'setAppMeta', args: ['demo', {}] });
  });
});

void describe('thumbnails', () => {
  void test('none yet: 404 with a clear message', async () => {
    const r = await app.inject({ url: '/api/apps/demo/thumbnail', headers: as.viewer });
    assert.equal(r.statusCode, 404);
    assert.deepEqual(r.json().error, { code: 'GANTRY_NOT_FOUND', message: 'app demo has no thumbnail yet' });
  });

  void test('a collaborator uploads; a viewer opens it with an ETag, and may not upload', async () => {
    const put = await upload('collaborator', PNG);
    assert.equal(put.statusCode, 200, put.body);
    const info = put.json();
    assert.equal(info.source, 'upload');
    const v = new URL(info.url, 'http://x').searchParams.get('v')!;
    assert.ok(v, info.url);
    assert.deepEqual((await audit('app.thumbnail'))[0], { source: 'upload', bytes: PNG.length });

    const get = await app.inject({ url: '/api/apps/demo/thumbnail', headers: as.viewer });
    assert.equal(get.statusCode, 200);
    assert.equal(get.headers['content-type'], 'image/png');
    assert.deepEqual(get.rawPayload, PNG);
    assert.equal(get.headers.etag, `"${v}"`);
    assert.equal(get.headers['cache-control'], 'private, no-cache');
    const versioned = await app.inject({ url: info.url, headers: as.viewer });
    assert.equal(versioned.headers['cache-control'], 'private, max-age=31536000, immutable');
    const stale = await app.inject({ url: '/api/apps/demo/thumbnail?v=old', headers: as.viewer });
    assert.equal(stale.headers['cache-control'], 'private, no-cache');

    const again = await app.inject({
      url: '/api/apps/demo/thumbnail',
      headers: { ...as.viewer, 'if-none-match': `W/"nope", "${v}"` },
    });
    assert.equal(again.statusCode, 304);
    assert.equal(again.rawPayload.length, 0);
    const changed = await app.inject({
      url: '/api/apps/demo/thumbnail',
      headers: { ...as.viewer, 'if-none-match': '"nope"' },
    });
    assert.equal(changed.statusCode, 200);

    assert.equal((await upload('viewer', JPEG)).statusCode, 403);
    const shown = await app.inject({ url: '/api/apps/demo', headers: as.owner });
    assert.deepEqual(shown.json().thumbnail, info);
    assert.equal(
      (await app.inject({ url: '/api/apps/demo/thumbnail', headers: as.outsider })).json().error.code,
      'GANTRY_APP_NOT_FOUND',
    );
  });

  void test('the type comes from the bytes: SVG and other non-images are refused with 400', async () => {
    for (const [body, type] of [
      [SVG, 'image/svg+xml'],
      [SVG, 'image/png'],
      [Buffer.alloc(0), 'image/png'],
    ] as const) {
      const r = await upload('owner', body, type);
      assert.equal(r.statusCode, 400, `${type}: ${r.body}`);
      assert.equal(r.json().error.message, 'not a PNG, JPEG or WebP image');
    }
    const json = await app.inject({
      method: 'PUT',
      url: '/api/apps/demo/thumbnail',
      headers: as.owner,
      payload: { image: 'x' },
    });
    assert.equal(json.statusCode, 400);
    assert.match(json.json().error.message, /^send the image as the request body/);
    // A JPEG sent as image/png is a JPEG.
    assert.equal((await upload('owner', JPEG, 'image/png')).statusCode, 200);
    const get = await app.inject({ url: '/api/apps/demo/thumbnail', headers: as.owner });
    assert.equal(get.headers['content-type'], 'image/jpeg');
  });

  void test('more than 2 MiB is a 413 that says so; exactly 2 MiB is fine', async () => {
    const big = Buffer.alloc(MAX_THUMBNAIL_BYTES + 1);
    PNG.copy(big);
    const r = await upload('owner', big);
    assert.equal(r.statusCode, 413);
    assert.deepEqual(r.json().error, {
      code: 'GANTRY_PUSH_TOO_LARGE',
      message: 'the image is larger than 2 MB',
    });
    assert.equal((await upload('owner', big.subarray(0, MAX_THUMBNAIL_BYTES))).statusCode, 200);
  });

  void test('captures: refused while an upload is in place; DELETE goes back to automatic ones', async () => {
    await upload('owner', PNG);
    const refused = await app.inject({
      method: 'POST',
      url: '/api/apps/demo/thumbnail/capture',
      headers: as.owner,
    });
    assert.equal(refused.statusCode, 409);
    assert.equal(
      (await app.inject({ method: 'DELETE', url: '/api/apps/demo/thumbnail', headers: as.viewer }))
        .statusCode,
      403,
    );
    const del = await app.inject({
      method: 'DELETE',
      url: '/api/apps/demo/thumbnail',
      headers: as.collaborator,
    });
    assert.equal(del.statusCode, 204);
    const shown = (await app.inject({ url: '/api/apps/demo', headers: as.owner })).json();
    assert.equal(shown.thumbnail.source, 'auto', 'a capture replaced the upload');
    const capture = await app.inject({
      method: 'POST',
      url: '/api/apps/demo/thumbnail/capture',
      headers: as.collaborator,
    });
    assert.equal(capture.statusCode, 200, capture.body);
    assert.equal(capture.json().source, 'auto');
    assert.notEqual(capture.json().url, shown.thumbnail.url, 'a new picture, a new version');

    const fresh = await app.inject({
      method: 'POST',
      url: '/api/apps/fresh/thumbnail/capture',
      headers: as.owner,
    });
    assert.equal(fresh.statusCode, 409);
    assert.equal(fresh.json().error.code, 'GANTRY_NO_RELEASE');
    platform.portal.browser = false;
    try {
      const none = await app.inject({
        method: 'POST',
        url: '/api/apps/demo/thumbnail/capture',
        headers: as.owner,
      });
      assert.equal(none.statusCode, 501);
    } finally {
      platform.portal.browser = true;
    }
  });
});

void describe('admin', () => {
  void test('overview: every app, busiest first, with totals; developers are refused', async () => {
    const step = 60_000;
    platform.addMetric('busy', {
      t: Math.floor(Date.now() / step) * step,
      rps: 5,
      p50Ms: 20,
      p95Ms: 120,
      errors: 2,
      cpuPercent: 10,
      memoryBytes: 1,
      replicas: 1,
    });
    const r = await app.inject({ url: '/api/admin/overview', headers: as.admin });
    assert.equal(r.statusCode, 200, r.body);
    const { totals, apps } = r.json();
    assert.deepEqual(
      apps.map((a: { name: string }) => a.name),
      ['busy', 'demo', 'fresh'],
    );
    const busy = apps[0];
    assert.equal(busy.owner, 'olive');
    assert.equal(busy.rps, 1, 'averaged over 5 minutes');
    assert.deepEqual([busy.p95Ms, busy.errors, busy.processes, busy.webReplicas], [120, 2, 1, 1]);
    assert.equal(apps[2].p95Ms, null);
    assert.deepEqual(
      { apps: totals.apps, running: totals.running, stopped: totals.stopped, processes: totals.processes },
      { apps: 3, running: 2, stopped: 1, processes: 2 },
    );
    assert.equal((await app.inject({ url: '/api/admin/overview', headers: as.developer })).statusCode, 403);
  });

  void test("tokens: everyone's, with their username, newest first, never the secret", async () => {
    await id.directory.createToken({ username: null, ip: null }, 'carl', {
      name: 'ci',
      scope: { kind: 'read' },
      expiresAt: null,
    });
    const r = await app.inject({ url: '/api/admin/tokens', headers: as.admin });
    assert.equal(r.statusCode, 200, r.body);
    const tokens: { username: string; name: string; createdAt: string }[] = r.json().tokens;
    assert.deepEqual([...new Set(tokens.map((t) => t.username))].sort(), [
      'admin',
      'carl',
      'dora',
      'olive',
      'otto',
      'vera',
    ]);
    assert.deepEqual(tokens[0], { ...tokens[0], username: 'carl', name: 'ci' });
    const times = tokens.map((t) => t.createdAt);
    assert.deepEqual(times, [...times].sort().reverse());
    assert.doesNotMatch(r.body, /gty_/);
    assert.equal((await app.inject({ url: '/api/admin/tokens', headers: as.developer })).statusCode, 403);
  });

  void test('sso: the providers and an active check; unknown names 404; developers refused', async () => {
    const list = await app.inject({ url: '/api/admin/sso', headers: as.admin });
    assert.deepEqual(list.json(), { providers: [OKTA] });
    const check = await app.inject({ method: 'POST', url: '/api/admin/sso/okta/check', headers: as.admin });
    assert.equal(check.statusCode, 200, check.body);
    assert.equal(check.json().status, 'ok');
    assert.deepEqual(sso.checked, ['okta']);
    const ghost = await app.inject({ method: 'POST', url: '/api/admin/sso/ghost/check', headers: as.admin });
    assert.equal(ghost.statusCode, 404);
    assert.equal(ghost.json().error.message, 'no SSO provider named ghost');
    assert.deepEqual(sso.checked, ['okta'], 'unknown names are not passed on');
    for (const [method, url] of [
      ['GET', '/api/admin/sso'],
      ['POST', '/api/admin/sso/okta/check'],
    ] as const) {
      assert.equal((await app.inject({ method, url, headers: as.developer })).statusCode, 403);
    }
  });

  void test('sso without a source: no providers, and checks 404', async () => {
    const t = await testApi();
    try {
      assert.deepEqual((await t.app.inject({ url: '/api/admin/sso', headers: t.auth })).json(), {
        providers: [],
      });
      const r = await t.app.inject({ method: 'POST', url: '/api/admin/sso/okta/check', headers: t.auth });
      assert.equal(r.statusCode, 404);
    } finally {
      await t.close();
    }
  });
});
