import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { silentLogger } from '../log/index.js';
import { buildApi } from './index.js';
import { FakePlatform } from './fake-platform.js';
import { testIdentity, type TestIdentity } from './testing.js';

const PUBLIC_URL = 'http://gantry.test';

/** A real OpenSSH ed25519 public key line and its SHA256 fingerprint. */
function sshKey(comment: string): { line: string; fingerprint: string } {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const blob = Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
  const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  return { line: `ssh-ed25519 ${blob.toString('base64')} ${comment}`, fingerprint };
}

async function targz(files: Record<string, string>): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'gantry-api-audit-'));
  try {
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
    const chunks: Buffer[] = [];
    for await (const c of tar.c(
      { gzip: true, cwd: dir, portable: true },
      Object.keys(files),
    ) as AsyncIterable<Buffer>)
      chunks.push(c);
    return Buffer.concat(chunks);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void describe('identity routes', () => {
  let app: FastifyInstance;
  let id: TestIdentity;
  let rotations = 0;
  const as: Record<string, Record<string, string>> = {};
  const call = (who: string, opts: InjectOptions) =>
    app.inject({ ...opts, headers: { ...as[who], ...(opts.headers as Record<string, string>) } });

  void before(async () => {
    id = await testIdentity();
    await id.user('olive', 'developer');
    await id.user('carl', 'developer');
    await id.user('vera', 'viewer');
    await id.directory.createGroup({ username: null, ip: null }, 'team');
    await id.directory.addToGroup({ username: null, ip: null }, 'team', 'carl');
    app = await buildApi({
      platform: new FakePlatform({ records: id.records }),
      ...id.options,
      logger: silentLogger,
      version: '1',
      publicUrl: PUBLIC_URL,
      providers: [
        { name: 'okta', type: 'oidc', label: 'Okta' },
        { name: 'corp', type: 'ldap', label: 'Corp' },
      ],
      jwks: () => ({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'abc', kid: 'k1' }] }),
      rotateMasterKey: async () => ({ keyId: `k${++rotations}`, reencrypted: 7 }),
    });
    for (const u of ['admin', 'olive', 'carl', 'vera'])
      as[u] = { authorization: `Bearer ${await id.token(u)}` };
  });
  void after(async () => {
    await app.close();
    await id.close();
  });

  void test('users: admins create, list, change and delete them; others may not', async () => {
    const created = await call('admin', {
      method: 'POST',
      url: '/api/users',
      payload: { username: 'dana', password: 'long enough pw', role: 'developer', email: 'dana@example.com' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const user = created.json().user;
    assert.deepEqual(
      { ...user, createdAt: typeof user.createdAt },
      {
        username: 'dana',
        email: 'dana@example.com',
        role: 'developer',
        groups: [],
        source: 'local',
        createdAt: 'string',
      },
    );
    assert.equal(created.body.includes('long enough pw'), false);
    const dup = await call('admin', {
      method: 'POST',
      url: '/api/users',
      payload: { username: 'dana', role: 'viewer' },
    });
    assert.equal(dup.statusCode, 409);
    const bad = await call('admin', {
      method: 'POST',
      url: '/api/users',
      payload: { username: '$(id)', role: 'viewer' },
    });
    assert.equal(bad.statusCode, 400);
    const list = (await call('admin', { url: '/api/users' }))
      .json()
      .users.map((u: { username: string }) => u.username);
    assert.deepEqual(list, ['admin', 'carl', 'dana', 'olive', 'vera']);
    const patched = await call('admin', {
      method: 'PATCH',
      url: '/api/users/dana',
      payload: { role: 'viewer' },
    });
    assert.equal(patched.json().user.role, 'viewer');
    assert.equal((await call('olive', { url: '/api/users' })).statusCode, 403);
    assert.equal((await call('admin', { method: 'DELETE', url: '/api/users/dana' })).statusCode, 204);
    assert.equal((await call('admin', { method: 'DELETE', url: '/api/users/dana' })).statusCode, 404);
    const last = await call('admin', { method: 'DELETE', url: '/api/users/admin' });
    assert.equal(last.statusCode, 409, 'the last admin stays');
  });

  void test('groups: create, add and remove members, delete', async () => {
    const g = await call('admin', { method: 'POST', url: '/api/groups', payload: { name: 'ops' } });
    assert.equal(g.statusCode, 201);
    assert.deepEqual(g.json().group.members, []);
    const added = await call('admin', { method: 'PUT', url: '/api/groups/ops/members/olive' });
    assert.deepEqual(added.json().group.members, ['olive']);
    const listed = (await call('admin', { url: '/api/groups' })).json().groups;
    assert.deepEqual(
      listed.map((x: { name: string; members: string[] }) => [x.name, x.members]),
      [
        ['ops', ['olive']],
        ['team', ['carl']],
      ],
    );
    const who = (await call('olive', { url: '/api/whoami' })).json();
    assert.deepEqual(who.groups, ['ops']);
    const removed = await call('admin', { method: 'DELETE', url: '/api/groups/ops/members/olive' });
    assert.deepEqual(removed.json().group.members, []);
    assert.equal((await call('admin', { method: 'DELETE', url: '/api/groups/ops' })).statusCode, 204);
    assert.equal(
      (await call('admin', { method: 'PUT', url: '/api/groups/ops/members/olive' })).statusCode,
      404,
    );
  });

  void test('tokens: create (shown once), scopes, list, ?user= for admins only, revoke', async () => {
    const r = await call('olive', {
      method: 'POST',
      url: '/api/tokens',
      payload: { name: 'ci', scope: 'read', expiresIn: 3600 },
    });
    assert.equal(r.statusCode, 201, r.body);
    const { token, info } = r.json();
    assert.match(token, /^gty_/);
    assert.equal(info.scope, 'read');
    assert.ok(Math.abs(Date.parse(info.expiresAt) - Date.now() - 3600_000) < 60_000);
    const read = { authorization: `Bearer ${token}` };
    assert.equal((await app.inject({ url: '/api/apps', headers: read })).statusCode, 200);
    const write = await app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: read,
      payload: { name: 'x' },
    });
    assert.equal(write.statusCode, 403);
    assert.match(write.json().error.message, /read-only/);

    const list = await call('olive', { url: '/api/tokens' });
    assert.ok(list.json().tokens.some((t: { id: string }) => t.id === info.id));
    assert.doesNotMatch(list.body, /gty_/, 'tokens are never listed');
    assert.equal((await call('olive', { url: '/api/tokens?user=admin' })).statusCode, 403);
    const other = await call('admin', { url: '/api/tokens?user=olive' });
    assert.ok(other.json().tokens.some((t: { id: string }) => t.id === info.id));
    const badScope = await call('olive', {
      method: 'POST',
      url: '/api/tokens',
      payload: { name: 'x', scope: 'root' },
    });
    assert.equal(badScope.statusCode, 400);
    assert.match(badScope.json().error.message, /full, read or app:NAME/);

    assert.equal((await call('olive', { method: 'DELETE', url: `/api/tokens/${info.id}` })).statusCode, 204);
    assert.equal((await app.inject({ url: '/api/apps', headers: read })).statusCode, 401);
  });

  void test('SSH keys: add, list, remove by URL-encoded fingerprint; duplicates and junk refused', async () => {
    const key = sshKey('olive@laptop');
    const r = await call('olive', { method: 'POST', url: '/api/keys', payload: { publicKey: key.line } });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.json().key.fingerprint, key.fingerprint);
    assert.equal(r.json().key.type, 'ssh-ed25519');
    assert.equal(r.json().key.name, 'olive@laptop');
    const dup = await call('carl', { method: 'POST', url: '/api/keys', payload: { publicKey: key.line } });
    assert.equal(dup.statusCode, 409);
    const junk = await call('olive', {
      method: 'POST',
      url: '/api/keys',
      payload: { publicKey: 'ssh-rsa $(id)' },
    });
    assert.equal(junk.statusCode, 400);
    assert.deepEqual(
      (await call('olive', { url: '/api/keys' }))
        .json()
        .keys.map((k: { fingerprint: string }) => k.fingerprint),
      [key.fingerprint],
    );
    const del = await call('olive', {
      method: 'DELETE',
      url: `/api/keys/${encodeURIComponent(key.fingerprint)}`,
    });
    assert.equal(del.statusCode, 204, del.body);
    assert.deepEqual((await call('olive', { url: '/api/keys' })).json().keys, []);
  });

  void test('sharing: owner adds collaborators; collaborators manage but cannot re-share; access and visibility', async () => {
    const created = await call('olive', { method: 'POST', url: '/api/apps', payload: { name: 'shop' } });
    assert.equal(created.statusCode, 201);
    assert.equal(created.json().owner, 'olive');
    assert.equal(created.json().access, 'own');
    assert.equal(
      (await call('vera', { method: 'POST', url: '/api/apps', payload: { name: 'nope' } })).statusCode,
      403,
    );

    const col = await call('olive', {
      method: 'POST',
      url: '/api/apps/shop/collaborators',
      payload: { principal: 'group:team' },
    });
    assert.deepEqual(col.json(), { owner: 'olive', collaborators: ['group:team'] });
    const bad = await call('olive', {
      method: 'POST',
      url: '/api/apps/shop/collaborators',
      payload: { principal: 'team; rm -rf /' },
    });
    assert.equal(bad.statusCode, 400);
    // carl is in team: may configure, may not change who collaborates or delete.
    const cfg = await call('carl', {
      method: 'PATCH',
      url: '/api/apps/shop/config',
      payload: { set: { A: '1' } },
    });
    assert.equal(cfg.statusCode, 200);
    assert.equal(
      (
        await call('carl', {
          method: 'POST',
          url: '/api/apps/shop/collaborators',
          payload: { principal: 'vera' },
        })
      ).statusCode,
      403,
    );
    assert.equal((await call('carl', { method: 'DELETE', url: '/api/apps/shop' })).statusCode, 403);

    // vera cannot see it until it is shared with her.
    assert.equal((await call('vera', { url: '/api/apps/shop' })).statusCode, 404);
    const viewers = await call('carl', {
      method: 'POST',
      url: '/api/apps/shop/access',
      payload: { principal: 'user:vera' },
    });
    assert.deepEqual(viewers.json(), {
      visibility: 'restricted',
      viewers: ['user:vera'],
      owner: 'olive',
      collaborators: ['group:team'],
    });
    const veraApps = (await call('vera', { url: '/api/apps' })).json().apps;
    assert.deepEqual(
      veraApps.map((a: { name: string; access: string }) => [a.name, a.access]),
      [['shop', 'view']],
    );
    assert.equal(
      (await call('vera', { url: '/api/apps/shop/config' })).statusCode,
      403,
      'viewers only open it',
    );
    const vis = await call('carl', {
      method: 'PUT',
      url: '/api/apps/shop/access/visibility',
      payload: { visibility: 'authenticated' },
    });
    assert.equal(vis.json().visibility, 'authenticated');
    const removed = await call('olive', { method: 'DELETE', url: '/api/apps/shop/access/user%3Avera' });
    assert.deepEqual(removed.json().viewers, []);
    const gone = await call('olive', { method: 'DELETE', url: '/api/apps/shop/collaborators/group:team' });
    assert.deepEqual(gone.json().collaborators, []);
    assert.equal((await call('carl', { url: '/api/apps/shop/config' })).statusCode, 403);
  });

  void test('whoami, session and providers', async () => {
    const who = (await call('olive', { url: '/api/whoami' })).json();
    assert.equal(who.username, 'olive');
    assert.equal(who.role, 'developer');
    assert.equal(who.via, 'token');
    assert.equal(who.token.scope, 'full');
    assert.equal(who.token.expiresAt, null);
    const s = (await call('olive', { url: '/api/session' })).json();
    assert.equal(s.csrfToken, '', 'token callers need no CSRF token');
    assert.equal(s.user.username, 'olive');
    const p = await app.inject({ url: '/api/auth/providers' });
    assert.equal(p.statusCode, 200);
    assert.deepEqual(p.json().providers, [
      { name: 'okta', type: 'oidc', label: 'Okta', loginUrl: '/auth/okta/start' },
      { name: 'corp', type: 'ldap', label: 'Corp' },
    ]);
  });

  void test('JWKS is public and cacheable; master-key rotation is admin-only and audited', async () => {
    const j = await app.inject({ url: '/.well-known/jwks.json' });
    assert.equal(j.statusCode, 200);
    assert.equal(j.headers['cache-control'], 'public, max-age=300');
    assert.equal(j.json().keys[0].kid, 'k1');
    assert.equal(
      (await call('olive', { method: 'POST', url: '/api/admin/master-key/rotate' })).statusCode,
      403,
    );
    const r = await call('admin', { method: 'POST', url: '/api/admin/master-key/rotate' });
    assert.deepEqual(r.json(), { keyId: 'k1', reencrypted: 7 });
    const [ev] = (await call('admin', { url: '/api/audit?action=secrets.rotate' })).json().events;
    assert.equal(ev.actor, 'admin');
    assert.deepEqual(ev.detail, { keyId: 'k1', reencrypted: 7 });
  });
});

void describe('CSRF', () => {
  let app: FastifyInstance;
  let id: TestIdentity;
  let cookie: string;
  let csrf: string;

  void before(async () => {
    id = await testIdentity();
    await id.user('olive', 'developer');
    app = await buildApi({
      platform: new FakePlatform({ records: id.records }),
      ...id.options,
      logger: silentLogger,
      version: '1',
      publicUrl: PUBLIC_URL,
    });
    const s = await id.directory.createSession(id.directory.getUser('olive')!.id, {
      ip: null,
      userAgent: null,
      provider: 'password',
      ttlMs: 60_000,
    });
    cookie = `${id.options.cookieName}=${s.cookie}`;
    csrf = s.identity.session!.csrf;
  });
  void after(async () => {
    await app.close();
    await id.close();
  });

  const create = (name: string, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/api/apps', headers, payload: { name } });

  void test('a cookie-authenticated write without the token is 403; with it, it works', async () => {
    const none = await create('a1', { cookie });
    assert.equal(none.statusCode, 403);
    assert.deepEqual(none.json().error, {
      code: 'GANTRY_FORBIDDEN',
      message: 'missing or invalid CSRF token',
    });
    assert.equal((await create('a1', { cookie, 'x-csrf-token': 'x'.repeat(43) })).statusCode, 403);
    assert.equal((await create('a1', { cookie, 'x-csrf-token': '' })).statusCode, 403);
    assert.equal((await create('a1', { cookie, 'x-csrf-token': csrf })).statusCode, 201);
    assert.equal((await create('a2', { cookie, 'x-csrf-token': csrf, origin: PUBLIC_URL })).statusCode, 201);
    const cross = await create('a3', { cookie, 'x-csrf-token': csrf, origin: 'https://evil.example' });
    assert.equal(cross.statusCode, 403);
    // Reads need no token.
    assert.equal((await app.inject({ url: '/api/apps', headers: { cookie } })).statusCode, 200);
    const names = (await app.inject({ url: '/api/apps', headers: { cookie } }))
      .json()
      .apps.map((a: { name: string }) => a.name);
    assert.deepEqual(names, ['a1', 'a2']);
  });

  void test('token-authenticated writes need no CSRF token; a bad cookie is 401', async () => {
    const token = await id.token('olive');
    assert.equal((await create('b1', { authorization: `Bearer ${token}` })).statusCode, 201);
    assert.equal(
      (await create('b2', { cookie: `${id.options.cookieName}=${'A'.repeat(43)}` })).statusCode,
      401,
    );
  });
});

void describe('audit of app actions', () => {
  void test('each audited action is recorded with actor and address; config values never are', async () => {
    const id = await testIdentity();
    const app = await buildApi({
      platform: new FakePlatform({ records: id.records }),
      ...id.options,
      logger: silentLogger,
      version: '1',
      publicUrl: PUBLIC_URL,
    });
    try {
      const auth = { authorization: `Bearer ${await id.token('admin')}` };
      const req = (method: InjectOptions['method'], url: string, payload?: object | Buffer, headers = {}) =>
        app.inject({ method, url, payload, headers: { ...auth, ...headers }, remoteAddress: '10.7.7.7' });
      const SECRET = 'hunter2-very-secret-value';
      assert.equal((await req('POST', '/api/apps', { name: 'aud' })).statusCode, 201);
      assert.equal(
        (await req('PATCH', '/api/apps/aud/config', { set: { DB_PASSWORD: SECRET } })).statusCode,
        200,
      );
      assert.equal((await req('PATCH', '/api/apps/aud/config', { unset: ['DB_PASSWORD'] })).statusCode, 200);
      assert.equal((await req('PATCH', '/api/apps/aud/formation', { web: 2 })).statusCode, 200);
      assert.equal((await req('POST', '/api/apps/aud/restart', { type: 'web' })).statusCode, 200);
      const gz = { 'content-type': 'application/gzip' };
      const ok1 = await req('POST', '/api/apps/aud/deploy', await targz({ 'a.txt': 'a' }), gz);
      assert.match(ok1.body, /DEPLOY OK v/);
      await req('POST', '/api/apps/aud/deploy', await targz({ 'b.txt': 'b' }), gz);
      const failed = await req('POST', '/api/apps/aud/deploy', await targz({ FAIL: '' }), gz);
      assert.match(failed.body, /DEPLOY FAILED/);
      assert.equal((await req('POST', '/api/apps/aud/rollback', {})).statusCode, 200);
      assert.equal((await req('DELETE', '/api/apps/aud')).statusCode, 204);

      const r = await req('GET', '/api/audit?target=app:aud&limit=50');
      assert.equal(r.statusCode, 200);
      const events = r.json().events as { action: string; actor: string; ip: string; detail: object }[];
      assert.deepEqual(events.map((e) => e.action).reverse(), [
        'app.create',
        'app.config',
        'app.config',
        'app.scale',
        'app.restart',
        'app.deploy',
        'app.deploy',
        'app.deploy.failed',
        'app.rollback',
        'app.destroy',
      ]);
      for (const e of events) {
        assert.equal(e.actor, 'admin');
        assert.equal(e.ip, '10.7.7.7');
      }
      const config = events.filter((e) => e.action === 'app.config').reverse();
      assert.deepEqual(config[0]!.detail, { set: ['DB_PASSWORD'], unset: [] });
      assert.deepEqual(config[1]!.detail, { set: [], unset: ['DB_PASSWORD'] });
      assert.doesNotMatch(r.body, /hunter2/, 'config values never reach the audit log');
      const all = await id.store.db.selectFrom('audit_log').select('detail').execute();
      assert.ok(all.every((row) => !row.detail.includes('hunter2')));
      const failedEv = events.find((e) => e.action === 'app.deploy.failed')!;
      assert.match(JSON.stringify(failedEv.detail), /no buildpack detected/);
      // Filters and limit.
      const scale = (await req('GET', '/api/audit?action=app.scale')).json().events;
      assert.equal(scale.length, 1);
      assert.deepEqual(scale[0].detail, { formation: { web: 2 } });
      assert.equal((await req('GET', '/api/audit?limit=2')).json().events.length, 2);
      assert.equal((await req('GET', '/api/audit?before=yesterday')).statusCode, 400);
    } finally {
      await app.close();
      await id.close();
    }
  });
});
