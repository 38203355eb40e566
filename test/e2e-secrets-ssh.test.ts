/**
 * Secrets and SSH end to end: a canary config value reaches the app but never the
 * database file, the server log, build output, API errors, error pages or the
 * audit log; and a real `git push` over SSH with a user's key deploys exactly like
 * HTTPS, while other users' keys and shell access are refused.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startTestServer, fixtureRepo, tempDir, commitAll, type TestServer } from './helpers/index.js';
import { run, runChecked } from '../src/exec/index.js';

const CANARY = `canary-${Math.random().toString(36).slice(2)}-d2f9`;
const PW = 'pass-word-123';

let t: TestServer;
let logText = '';

async function login(username: string): Promise<string> {
  const res = await fetch(`${t.url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PW }),
  });
  return ((await res.json()) as { token: string }).token;
}

async function sshKey(): Promise<{ path: string; pub: string }> {
  const dir = await tempDir('gantry-sshkey-');
  const path = join(dir, 'id_ed25519');
  await runChecked('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', path]);
  return { path, pub: (await readFile(`${path}.pub`, 'utf8')).trim() };
}

async function sshPush(repo: string, key: string, app: string) {
  const port = t.server.sshPort!;
  return run(
    'git',
    ['push', '--porcelain', `ssh://git@127.0.0.1:${port}/${app}.git`, '+HEAD:refs/heads/main'],
    {
      cwd: repo,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: repo,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_SSH_COMMAND: `ssh -i ${key} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`,
      },
    },
  );
}

describe('secrets at rest and SSH push, end to end', { timeout: 240_000 }, () => {
  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logText += chunk.toString();
        cb();
      },
    });
    t = await startTestServer({}, { logger: pino({ level: 'debug' }, sink) });
    await t.api('POST', '/api/users', { username: 'dev', password: PW, role: 'developer' });
    await t.api('POST', '/api/users', { username: 'other', password: PW, role: 'developer' });
  });
  after(async () => t?.close());

  test('git push over SSH with the user key deploys; other keys and shells are refused', async () => {
    const dev = await login('dev');
    const other = await login('other');
    const post = (token: string, path: string, body: unknown) =>
      fetch(`${t.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    assert.equal((await post(dev, '/api/apps', { name: 'vault' })).status, 201);
    const devKey = await sshKey();
    const otherKey = await sshKey();
    assert.equal((await post(dev, '/api/keys', { publicKey: devKey.pub })).status, 201);
    assert.equal((await post(other, '/api/keys', { publicKey: otherKey.pub })).status, 201);

    const repo = await fixtureRepo('python-stdlib');
    const denied = await sshPush(repo, otherKey.path, 'vault');
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /app not found/);

    const ok = await sshPush(repo, devKey.path, 'vault');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /remote: .*DEPLOY OK v1|remote: .*v1/);
    const res = await fetch(`${t.url}/apps/vault/`, { headers: { authorization: `Bearer ${dev}` } });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /hello from python/);

    const shell = await run(
      'ssh',
      [
        '-i',
        devKey.path,
        '-p',
        String(t.server.sshPort),
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'LogLevel=ERROR',
        'git@127.0.0.1',
        'cat /etc/passwd',
      ],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: repo } },
    );
    assert.notEqual(shell.code, 0);
    assert.match(shell.stderr, /only git push\/fetch/);
    assert.doesNotMatch(shell.stdout, /root:/);
  });

  test('a canary config value reaches the app and nothing else', async () => {
    const dev = await login('dev');
    const put = await fetch(`${t.url}/api/apps/vault/config`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${dev}`, 'content-type': 'application/json' },
      body: JSON.stringify({ set: { GREETING: CANARY } }),
    });
    assert.ok(put.ok, await put.text());
    // The app sees it.
    const page = await fetch(`${t.url}/apps/vault/`, { headers: { authorization: `Bearer ${dev}` } });
    assert.match(await page.text(), new RegExp(`greeting=${CANARY}`));

    // Another developer can't read it, and the refusal doesn't echo it.
    const other = await login('other');
    const theirs = await fetch(`${t.url}/api/apps/vault/config`, {
      headers: { authorization: `Bearer ${other}` },
    });
    assert.equal(theirs.status, 404);
    assert.doesNotMatch(await theirs.text(), new RegExp(CANARY));
    // A bad request about config doesn't echo values either.
    const bad = await fetch(`${t.url}/api/apps/vault/config`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${dev}`, 'content-type': 'application/json' },
      body: JSON.stringify({ set: { 'bad key!': CANARY } }),
    });
    assert.equal(bad.status, 400);
    assert.doesNotMatch(await bad.text(), new RegExp(CANARY));

    // A rebuild streams build output that must not contain it, even when the build prints env.
    const repo = await fixtureRepo('python-stdlib');
    await commitAll(repo, 'again');
    const key = await sshKey();
    await fetch(`${t.url}/api/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${dev}`, 'content-type': 'application/json' },
      body: JSON.stringify({ publicKey: key.pub, name: 'second' }),
    });
    const pushed = await sshPush(repo, key.path, 'vault');
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.doesNotMatch(pushed.stderr + pushed.stdout, new RegExp(CANARY));

    // Error pages: a 404 inside the app's prefix and the missing-app page.
    for (const path of ['/apps/vault/nope', '/apps/missing/']) {
      const r = await fetch(`${t.url}${path}`, {
        headers: { authorization: `Bearer ${dev}`, accept: 'text/html' },
      });
      assert.doesNotMatch(await r.text(), new RegExp(CANARY));
    }
    // Audit log, server log, and every file in the data dir except the app's own sandbox data.
    const audit = await t.api<unknown>('GET', '/api/audit?limit=1000');
    assert.doesNotMatch(JSON.stringify(audit), new RegExp(CANARY));
    assert.ok(logText.length > 1000, 'the server did log');
    assert.doesNotMatch(logText, new RegExp(CANARY));
    const hits: string[] = [];
    let keySeen = false;
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) {
          if (e.name === 'node_modules' || e.name === '.venv') continue;
          await walk(p);
        } else if (e.isFile()) {
          const buf = await readFile(p).catch(() => Buffer.alloc(0));
          if (buf.includes(CANARY)) hits.push(p);
          if (p.includes('gantry.db') && buf.includes('GREETING')) keySeen = true;
        }
      }
    };
    await walk(t.dataDir);
    assert.deepEqual(hits, [], 'no file in the data dir holds the value in plain text');
    assert.ok(keySeen, 'the scan sees the config key name in the database files');
  });
});
