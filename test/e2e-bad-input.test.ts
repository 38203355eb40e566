/**
 * Hostile and mistaken input: injection payloads in app names and refs, pushes
 * to the wrong branch, pushes over the size limit. Each gets a clear error and
 * nothing runs.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import {
  startTestServer,
  fixtureRepo,
  push,
  createApp,
  commitAll,
  git,
  ADMIN_PASSWORD,
  type TestServer,
} from './helpers/index.js';

const marker = `/tmp/gantry-pwned-${randomBytes(4).toString('hex')}`;
const PAYLOADS = [
  `$(touch ${marker})`,
  `;touch ${marker}`,
  '--upload-pack=touch',
  '..',
  'a/../b',
  'UPPER',
  '`id`',
  'x'.repeat(64),
];

describe('bad input', { timeout: 180_000 }, () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ maxPushBytes: 256 * 1024 });
  });
  after(async () => {
    await t?.close();
  });

  test('app names carrying shell or option payloads are refused by the API', async () => {
    for (const name of PAYLOADS) {
      const res = await fetch(`${t.url}/api/apps`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
      });
      assert.equal(res.status, 400, name);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.ok(body.error.message.length > 0);
    }
    const { apps } = await t.api<{ apps: unknown[] }>('GET', '/api/apps');
    assert.equal(apps.length, 0);
    assert.equal(existsSync(marker), false);
  });

  test('git pushes to payload app names fail and run nothing', async () => {
    const repo = await fixtureRepo('static-site');
    for (const name of PAYLOADS) {
      const u = new URL(t.url);
      u.username = 'admin';
      u.password = ADMIN_PASSWORD;
      u.pathname = `/git/${encodeURIComponent(name)}.git`;
      const r = await git(repo, ['push', u.toString(), 'HEAD:refs/heads/main']);
      assert.notEqual(r.code, 0, name);
    }
    assert.equal(existsSync(marker), false);
  });

  test('pushes to other branches or with bad credentials are rejected; the app stays undeployed', async () => {
    await createApp(t, 'branchy');
    const repo = await fixtureRepo('static-site');
    const other = await push(t, repo, 'branchy', 'feature');
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /main/);
    const u = new URL(t.url);
    u.username = 'admin';
    u.password = 'wrong-password';
    u.pathname = '/git/branchy.git';
    const denied = await git(repo, ['push', u.toString(), 'HEAD:refs/heads/main']);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Authentication failed|401|403/);
    const info = await t.api<{ currentVersion: number | null }>('GET', '/api/apps/branchy');
    assert.equal(info.currentVersion, null);
  });

  test('a push over the size limit is rejected with a clear error', async () => {
    await createApp(t, 'big');
    const repo = await fixtureRepo('static-site');
    await writeFile(join(repo, 'blob.bin'), randomBytes(1024 * 1024));
    await commitAll(repo, 'big blob');
    const r = await push(t, repo, 'big');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /too large|limit|maximum allowed size|413/i);
    const info = await t.api<{ currentVersion: number | null }>('GET', '/api/apps/big');
    assert.equal(info.currentVersion, null);
  });

  test('config keys that would break the platform are refused', async () => {
    await createApp(t, 'cfg');
    for (const key of ['PORT', 'GANTRY_APP', '1BAD', 'A-B', 'A B']) {
      const res = await fetch(`${t.url}/api/apps/cfg/config`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ set: { [key]: 'x' } }),
      });
      assert.equal(res.status, 400, key);
    }
  });

  test('paths with encoded dot segments or slashes are rejected before routing', async () => {
    // Raw request lines: fetch() would normalise %2e%2e away before sending.
    for (const p of [
      '/apps/cfg/%2e%2e/x',
      '/apps/cfg/%2E./x',
      '/apps/cfg/a%2fb',
      '/apps/cfg/a%5cb',
      '/apps/cfg/%00',
      '/apps/cfg/../x',
    ]) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: t.server.port, path: p }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 400, p);
    }
  });
});
