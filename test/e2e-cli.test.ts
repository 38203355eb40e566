/**
 * The `gantry` CLI against a real server: login, create, deploy a directory
 * without git, config, releases, rollback, logs, destroy.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stat, writeFile, cp } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../src/cli/index.js';
import {
  startTestServer,
  fixtureRepo,
  tempDir,
  ADMIN_PASSWORD,
  FIXTURES,
  type TestServer,
} from './helpers/index.js';
import { run } from '../src/exec/index.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

describe('gantry CLI end to end', { timeout: 240_000 }, () => {
  let t: TestServer;
  let home: string;
  const gantryIn = async (cwd: string, ...argv: string[]): Promise<Run> => {
    let out = '';
    let err = '';
    const code = await main(argv, {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      stdin: Readable.from([]),
      env: { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), PATH: process.env.PATH },
      cwd,
    });
    return { code, out, err };
  };
  const gantry = (...argv: string[]): Promise<Run> => gantryIn(home, ...argv);

  before(async () => {
    t = await startTestServer();
    home = await tempDir('gantry-cli-home-');
  });
  after(async () => {
    await t?.close();
  });

  test('login stores a private token; a wrong password is one error line', async () => {
    const bad = await gantry('login', t.url, '--username', 'admin', '--password', 'nope');
    assert.equal(bad.code, 1);
    assert.equal(bad.err.trim().split('\n').length, 1);
    assert.match(bad.err, /^error: /);
    const ok = await gantry('login', t.url, '--username', 'admin', '--password', ADMIN_PASSWORD);
    assert.equal(ok.code, 0, ok.err);
    const st = await stat(join(home, '.config', 'gantry', 'config.json'));
    assert.equal(st.mode & 0o777, 0o600);
    assert.match((await gantry('whoami')).out, /admin/);
  });

  test('create, deploy a directory, configure, roll back, destroy', async () => {
    assert.equal((await gantry('apps:create', 'site')).code, 0);
    // New apps are restricted; this one is opened anonymously below.
    assert.equal((await gantry('access:visibility', '-a', 'site', 'public')).code, 0);
    const dir = await tempDir('gantry-cli-site-');
    await cp(join(FIXTURES, 'static-site'), dir, { recursive: true });
    const d1 = await gantry('deploy', dir, '-a', 'site');
    assert.equal(d1.code, 0, d1.err + d1.out);
    assert.match(d1.out, /Static/i);
    assert.match(await (await fetch(`${t.url}/apps/site/`)).text(), /Static fixture/);

    await writeFile(join(dir, 'index.html'), '<h1>second version</h1>');
    assert.equal((await gantry('deploy', dir, '-a', 'site')).code, 0);
    assert.match(await (await fetch(`${t.url}/apps/site/`)).text(), /second version/);

    assert.equal((await gantry('config:set', 'COLOR=blue', 'SIZE=2', '-a', 'site')).code, 0);
    const cfg = JSON.parse((await gantry('config', '-a', 'site', '--json')).out) as Record<string, string>;
    assert.deepEqual(cfg, { COLOR: 'blue', SIZE: '2' });

    const releases = JSON.parse((await gantry('releases', '-a', 'site', '--json')).out) as {
      version: number;
    }[];
    assert.deepEqual(
      releases.map((r) => r.version),
      [3, 2, 1],
    );
    const rb = await gantry('rollback', 'v1', '-a', 'site');
    assert.equal(rb.code, 0, rb.err);
    assert.match(await (await fetch(`${t.url}/apps/site/`)).text(), /Static fixture/);
    const after = JSON.parse((await gantry('config', '-a', 'site', '--json')).out) as Record<string, string>;
    assert.deepEqual(after, {}, 'rollback restores the config of v1');

    const apps = JSON.parse((await gantry('apps', '--json')).out) as { name: string }[];
    assert.deepEqual(
      apps.map((a) => a.name),
      ['site'],
    );
    const wrong = await gantry('apps:destroy', '-a', 'site', '--confirm', 'other');
    assert.notEqual(wrong.code, 0);
    assert.equal((await gantry('apps:destroy', '-a', 'site', '--confirm', 'site')).code, 0);
    // Gone: anonymous callers are asked to log in, the admin gets the missing-app 404.
    assert.equal((await fetch(`${t.url}/apps/site/`)).status, 401);
    const gone = await fetch(`${t.url}/apps/site/`, { headers: { authorization: `Bearer ${t.token}` } });
    assert.equal(gone.status, 404);
  });

  test('after git:remote, a plain `git push gantry` authenticates with the login token', async () => {
    assert.equal((await gantry('apps:create', 'pushed')).code, 0);
    assert.equal((await gantry('access:visibility', '-a', 'pushed', 'public')).code, 0);
    const repo = await fixtureRepo('static-site');
    const remote = await gantryIn(repo, 'git:remote', '-a', 'pushed');
    assert.equal(remote.code, 0, remote.err);
    // No credentials in the URL and no prompt possible: only the helper can answer.
    const r = await run('git', ['push', 'gantry', 'HEAD:main'], {
      cwd: repo,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        XDG_CONFIG_HOME: join(home, '.config'),
        GIT_TERMINAL_PROMPT: '0',
      },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /is live/);
    assert.match(await (await fetch(`${t.url}/apps/pushed/`)).text(), /Static fixture/);
  });

  test('a failing deploy exits non-zero with the reason', async () => {
    await gantry('apps:create', 'broken');
    const dir = await tempDir('gantry-cli-broken-');
    await writeFile(join(dir, 'README.txt'), 'nothing to run here');
    const r = await gantry('deploy', dir, '-a', 'broken');
    assert.equal(r.code, 1);
    assert.match(r.out + r.err, /could not detect/i);
  });

  test('unknown apps and bad arguments are one clear line', async () => {
    const r = await gantry('ps', '-a', 'ghost');
    assert.equal(r.code, 1);
    assert.match(r.err, /ghost/);
    const u = await gantry('ps:scale', 'web=lots', '-a', 'ghost');
    assert.equal(u.code, 2);
  });
});
