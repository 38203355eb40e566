import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { connect } from 'node:net';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { run, spawnProcess } from '../exec/index.js';
import { GantryError, isGantryError } from '../errors/index.js';
import { silentLogger } from '../log/index.js';
import type { Identity } from '../identity/types.js';
import { createGitService, gitPaths, ZERO_SHA, type GitService, type PushContext } from './index.js';
import { HookServer } from './hook-server.js';

const LIMIT = 256 * 1024;
const unique = randomBytes(6).toString('hex');
const pwned = `/tmp/pwned-${unique}`;

let root: string;
let dataDir: string;
let svc: GitService;
let server: Server;
let base: string;
const apps = new Set(['demo', 'fail', 'branches', 'big', 'clone', 'hang', 'tokens']);
const calls: PushContext[] = [];
/** bob is a valid user who may manage none of the apps. */
const passwords: Record<string, string> = { alice: 's3cret', bob: 'b0b' };
const authorizeCalls: string[] = [];

function identity(username: string): Identity {
  return { userId: `u-${username}`, username, email: null, role: 'developer', groups: [], via: 'password' };
}
let onPush: (ctx: PushContext) => Promise<void> = async () => undefined;

function pktLine(s: string): string {
  return (Buffer.byteLength(s) + 4).toString(16).padStart(4, '0') + s;
}

function clientEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: root,
    LANG: 'C.UTF-8',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Dev',
    GIT_AUTHOR_EMAIL: 'dev@example.com',
    GIT_COMMITTER_NAME: 'Dev',
    GIT_COMMITTER_EMAIL: 'dev@example.com',
  };
}

const git = (cwd: string, ...args: string[]) =>
  run('git', args, { cwd, env: clientEnv(), timeoutMs: 20_000 });
const url = (app: string, auth = 'alice:s3cret') => `http://${auth}@${base}/git/${app}.git`;

/** A client work tree with one commit of `files`; returns its dir and HEAD sha. */
async function workRepo(
  name: string,
  files: Record<string, string | Buffer>,
): Promise<{ dir: string; sha: string }> {
  const dir = join(root, 'work', name);
  await mkdir(dir, { recursive: true });
  await git(dir, 'init', '-q', '-b', 'main');
  return { dir, sha: await commit(dir, files) };
}

async function commit(dir: string, files: Record<string, string | Buffer>): Promise<string> {
  for (const [f, content] of Object.entries(files)) {
    await mkdir(join(dir, f, '..'), { recursive: true });
    await writeFile(join(dir, f), content);
  }
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'change');
  return (await git(dir, 'rev-parse', 'HEAD')).stdout.trim();
}

async function bareRef(app: string, ref = 'refs/heads/main'): Promise<string | undefined> {
  const r = await run('git', ['rev-parse', '--verify', '--quiet', ref], {
    env: { ...clientEnv(), GIT_DIR: join(dataDir, 'repos', `${app}.git`) },
  });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

function httpGet(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((ok, fail) => {
    const [host, port] = base.split(':');
    const req = request({ host, port: Number(port), path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

function httpPost(
  path: string,
  body: Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const [host, port] = base.split(':');
    const req = request({ host, port: Number(port), path, method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: text }));
    });
    // The server may answer (413) before the whole body is sent; the answer is what matters.
    req.on('error', fail);
    req.end(body);
  });
}

/** Talks to a hook socket as the hook script does; returns the replies. */
function hookRequest(socketPath: string, msg: unknown): Promise<unknown[]> {
  return new Promise((ok, fail) => {
    const s = connect(socketPath);
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (buf += d));
    s.on('end', () =>
      ok(
        buf
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as unknown),
      ),
    );
    s.on('error', fail);
    s.write(JSON.stringify(msg) + '\n');
  });
}

const BASIC = { authorization: `Basic ${Buffer.from('alice:s3cret').toString('base64')}` };

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gantry-git-'));
  dataDir = join(root, 'data');
  svc = createGitService({
    dataDir,
    maxPushBytes: LIMIT,
    logger: silentLogger,
    authenticate: async (u, p) =>
      passwords[u] !== undefined && passwords[u] === p ? identity(u) : undefined,
    appExists: async (name) => apps.has(name),
    authorize: (id, app, op) => {
      authorizeCalls.push(`${id.username} ${op} ${app}`);
      return id.username === 'alice';
    },
    onPush: (ctx) => {
      calls.push(ctx);
      return onPush(ctx);
    },
  });
  await svc.start();
  for (const app of apps) await svc.ensureRepo(app);
  server = createServer((req, res) => {
    if (!svc.handle(req, res)) {
      res.statusCode = 418;
      res.end('not git');
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  assert.ok(addr && typeof addr === 'object');
  base = `127.0.0.1:${addr.port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((ok) => server.close(() => ok()));
  await svc.close();
  await rm(root, { recursive: true, force: true });
});

describe('git push over HTTP', { timeout: 60_000 }, () => {
  test('a push runs onPush with the pushed sha, streams output live, and updates main', async () => {
    const { dir, sha } = await workRepo('demo', { 'app.py': 'print("hi")\n', 'lib/util.py': 'X = 1\n' });
    let exported: string[] = [];
    onPush = async (ctx) => {
      ctx.output('-----> Building demo\nstep two\n');
      // The pushed objects are only readable through gitEnv while the push is quarantined.
      const dest = join(root, 'export-in-hook');
      await svc.exportCommit({ repoPath: ctx.repoPath, sha: ctx.update.newSha, dest, gitEnv: ctx.gitEnv });
      exported = readdirSync(dest).sort();
      ctx.output('-----> Done\n');
    };
    calls.length = 0;
    const r = await git(dir, 'push', url('demo'), 'HEAD:main');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(calls.length, 1);
    const ctx = calls[0]!;
    assert.equal(ctx.app, 'demo');
    assert.equal(ctx.user, 'alice');
    assert.equal(ctx.identity.username, 'alice');
    assert.equal(ctx.ip, '127.0.0.1');
    assert.deepEqual(ctx.update, { ref: 'refs/heads/main', oldSha: ZERO_SHA, newSha: sha });
    assert.ok(ctx.gitEnv.GIT_QUARANTINE_PATH?.startsWith(ctx.repoPath + '/objects/'));
    assert.deepEqual(exported, ['app.py', 'lib']);
    assert.match(r.stderr, /^remote: -----> Building demo\s*$/m);
    assert.match(r.stderr, /^remote: step two\s*$/m);
    assert.match(r.stderr, /^remote: -----> Done\s*$/m);
    assert.equal(await bareRef('demo'), sha);
  });

  test('output reaches the pusher while onPush is still running', async () => {
    const { dir } = await workRepo('live', { 'a.txt': 'a' });
    let stderr = '';
    let seenLive = false;
    onPush = async (ctx) => {
      ctx.output('live-marker\n');
      const t0 = Date.now();
      while (!stderr.includes('remote: live-marker') && Date.now() - t0 < 10_000)
        await new Promise((r) => setTimeout(r, 50));
      seenLive = stderr.includes('remote: live-marker');
    };
    const r = await run('git', ['push', url('demo'), '+HEAD:main'], {
      cwd: dir,
      env: clientEnv(),
      onStderr: (c) => (stderr += c.toString()),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(seenLive, 'the pusher saw the output before onPush returned');
  });

  test('a failing deploy rejects the push with its message and leaves the ref alone', async () => {
    const { dir, sha: first } = await workRepo('fail', { 'a.txt': 'one' });
    onPush = async () => undefined;
    assert.equal((await git(dir, 'push', url('fail'), 'HEAD:main')).code, 0);
    const second = await commit(dir, { 'a.txt': 'two' });
    onPush = async (ctx) => {
      ctx.output('building...\n');
      throw new GantryError('GANTRY_BUILD_FAILED', 'build failed: no Procfile and no known app type');
    };
    const r = await git(dir, 'push', url('fail'), 'HEAD:main');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /remote: {2}! build failed: no Procfile and no known app type/);
    assert.match(r.stderr, /\[remote rejected\] +HEAD -> main \(pre-receive hook declined\)/);
    assert.equal(await bareRef('fail'), first);
    const cat = await run('git', ['cat-file', '-e', second], {
      env: { ...clientEnv(), GIT_DIR: join(dataDir, 'repos', 'fail.git') },
    });
    assert.notEqual(cat.code, 0, 'quarantined objects of a rejected push must not stay in the repo');
  });

  test('an unexpected error is shown as an internal error, without its details', async () => {
    const { dir } = await workRepo('fail2', { 'a.txt': 'x' });
    onPush = async () => {
      throw new Error('secret db password in stack');
    };
    const r = await git(dir, 'push', url('fail'), '+HEAD:main');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /! internal error/);
    assert.doesNotMatch(r.stderr, /secret db password/);
  });

  test('a wrong password gets 401 and never reaches onPush', async () => {
    const { dir } = await workRepo('badauth', { 'a.txt': 'x' });
    calls.length = 0;
    const r = await git(dir, 'push', url('demo', 'alice:wrong'), '+HEAD:main');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Authentication failed/);
    assert.equal(calls.length, 0);
    const res = await httpGet('/git/demo.git/info/refs?service=git-receive-pack');
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'], 'Basic realm="Gantry"');
    const fetchNoAuth = await httpGet('/git/demo.git/info/refs?service=git-upload-pack');
    assert.equal(fetchNoAuth.status, 401);
  });

  test('pushes to other branches, and deletions, are refused with a hint', async () => {
    const { dir } = await workRepo('branches', { 'a.txt': 'x' });
    onPush = async () => undefined;
    calls.length = 0;
    const r = await git(dir, 'push', url('branches'), 'HEAD:feature');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /only main or master can be pushed .*git push gantry HEAD:main/);
    assert.equal(await bareRef('branches', 'refs/heads/feature'), undefined);
    const tag = await git(dir, 'push', url('branches'), 'HEAD:refs/tags/v1');
    assert.notEqual(tag.code, 0);
    assert.equal(calls.length, 0);

    assert.equal((await git(dir, 'push', url('branches'), 'HEAD:master')).code, 0);
    assert.ok(await bareRef('branches', 'refs/heads/master'));
    const head = await run('git', ['symbolic-ref', 'HEAD'], {
      env: { ...clientEnv(), GIT_DIR: join(dataDir, 'repos', 'branches.git') },
    });
    assert.equal(head.stdout.trim(), 'refs/heads/master', 'HEAD follows the deployed branch');
    const del = await git(dir, 'push', url('branches'), ':master');
    assert.notEqual(del.code, 0);
    assert.ok(await bareRef('branches', 'refs/heads/master'), 'master must survive a delete push');
  });

  test('a push over the size limit is refused with a clear error', async () => {
    const { dir } = await workRepo('big', { 'blob.bin': randomBytes(LIMIT * 3) });
    calls.length = 0;
    const r = await git(dir, 'push', url('big'), 'HEAD:main');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /remote: fatal: pack exceeds maximum allowed size/);
    assert.equal(calls.length, 0);
    assert.equal(await bareRef('big'), undefined);
  });

  test('a request body over the limit stops receive-pack with 413, also when gzipped', async () => {
    // A command list that never ends: receive-pack keeps reading and writes nothing, so only
    // Gantry's own byte count can stop it.
    const line = (i: number) =>
      `${ZERO_SHA} ${'1'.repeat(40)} refs/heads/b${i}${i === 0 ? '\0report-status' : ''}\n`;
    const body = Buffer.from(Array.from({ length: 20_000 }, (_, i) => pktLine(line(i))).join(''));
    assert.ok(body.length > LIMIT + 1024 * 1024);
    calls.length = 0;
    const headers = { ...BASIC, 'content-type': 'application/x-git-receive-pack-request' };
    const plain = await httpPost('/git/big.git/git-receive-pack', body, headers);
    assert.equal(plain.status, 413);
    assert.match(plain.body, /larger than the limit of 256 KiB/);
    const zipped = gzipSync(body);
    assert.ok(zipped.length < LIMIT);
    const bomb = await httpPost('/git/big.git/git-receive-pack', zipped, {
      ...headers,
      'content-encoding': 'gzip',
    });
    assert.equal(bomb.status, 413);
    assert.equal(calls.length, 0);
  });

  test('an unknown app gets a clear error', async () => {
    const { dir } = await workRepo('unknown', { 'a.txt': 'x' });
    const r = await git(dir, 'push', url('nope'), 'HEAD:main');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /remote: app not found: nope .*`gantry apps:create nope`/);
    assert.equal(existsSync(join(dataDir, 'repos', 'nope.git')), false);
  });

  test('a user who may not manage the app gets the same answer as for an unknown app', async () => {
    const { dir } = await workRepo('forbidden', { 'a.txt': 'x' });
    calls.length = 0;
    authorizeCalls.length = 0;
    const before = await bareRef('demo');
    const push = await git(dir, 'push', url('demo', 'bob:b0b'), '+HEAD:main');
    assert.notEqual(push.code, 0);
    assert.match(push.stderr, /remote: app not found: demo /);
    const unknown = await git(dir, 'push', url('nope', 'bob:b0b'), '+HEAD:main');
    assert.equal(
      unknown.stderr.replace(/nope/g, 'X').replace(/127\.0\.0\.1:\d+/g, 'H'),
      push.stderr.replace(/demo/g, 'X').replace(/127\.0\.0\.1:\d+/g, 'H'),
      'an existing app must not be told apart from an unknown one',
    );
    const clone = await git(root, 'clone', '-q', url('demo', 'bob:b0b'), join(root, 'bob-clone'));
    assert.notEqual(clone.code, 0);
    assert.match(clone.stderr, /app not found: demo/);
    assert.ok(authorizeCalls.includes('bob push demo'));
    assert.ok(authorizeCalls.includes('bob fetch demo'));
    const refs = await httpGet('/git/demo.git/info/refs?service=git-upload-pack', {
      authorization: `Basic ${Buffer.from('bob:b0b').toString('base64')}`,
    });
    assert.equal(refs.status, 404);
    assert.equal(calls.length, 0);
    assert.equal(await bareRef('demo'), before);
  });

  test('hostile app names in the URL run nothing', async () => {
    const { dir } = await workRepo('hostile', { 'a.txt': 'x' });
    calls.length = 0;
    const names = [
      `$(touch ${pwned})`,
      `;touch ${pwned}`,
      ';id',
      '--upload-pack=touch',
      '..',
      '../demo',
      '`id`',
    ];
    for (const name of names) {
      const r = await git(dir, 'push', `http://alice:s3cret@${base}/git/${name}.git`, 'HEAD:main');
      assert.notEqual(r.code, 0, name);
      for (const path of [
        `/git/${encodeURIComponent(name)}.git/info/refs?service=git-upload-pack`,
        `/git/${encodeURIComponent(name)}/git-receive-pack`,
      ]) {
        const res = await httpGet(path, BASIC);
        assert.ok([400, 404, 418].includes(res.status), `${name}: ${res.status}`);
      }
    }
    const raw = await httpGet('/git/../demo.git/info/refs?service=git-upload-pack', BASIC);
    assert.equal(raw.status, 404);
    assert.equal(existsSync(pwned), false);
    assert.equal(calls.length, 0);
    assert.deepEqual(readdirSync(join(dataDir, 'repos')).sort(), [...apps].map((a) => `${a}.git`).sort());
  });

  test('other paths under /git/ are 404, others are not handled', async () => {
    assert.equal((await httpGet('/git/demo.git/objects/info/packs', BASIC)).status, 404);
    assert.equal((await httpGet('/git/demo.git/HEAD', BASIC)).status, 404);
    assert.equal((await httpGet('/gitx/demo.git/info/refs', BASIC)).status, 418);
    assert.equal((await httpGet('/git/demo.git/info/refs', BASIC)).status, 400, 'dumb protocol');
  });
});

describe('clone, fetch and export', { timeout: 30_000 }, () => {
  test('clone and fetch what was deployed', async () => {
    const { dir, sha } = await workRepo('clone-src', { 'README.md': '# hi\n' });
    onPush = async () => undefined;
    assert.equal((await git(dir, 'push', url('clone'), 'HEAD:main')).code, 0);
    const dest = join(root, 'cloned');
    const c = await git(root, 'clone', '-q', url('clone'), dest);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(readFileSync(join(dest, 'README.md'), 'utf8'), '# hi\n');
    assert.equal((await git(dest, 'rev-parse', 'HEAD')).stdout.trim(), sha);
    const next = await commit(dir, { 'README.md': '# v2\n' });
    assert.equal((await git(dir, 'push', url('clone'), 'HEAD:main')).code, 0);
    const f = await git(dest, 'fetch', '-q', 'origin');
    assert.equal(f.code, 0, f.stderr);
    assert.equal((await git(dest, 'rev-parse', 'origin/main')).stdout.trim(), next);
    // Protocol v0 as well (older clients).
    const v0 = await git(
      root,
      '-c',
      'protocol.version=0',
      'clone',
      '-q',
      url('clone'),
      join(root, 'cloned-v0'),
    );
    assert.equal(v0.code, 0, v0.stderr);
    const noAuth = await git(root, 'clone', '-q', url('clone', 'alice:nope'), join(root, 'cloned-x'));
    assert.notEqual(noAuth.code, 0);
  });

  test('exportCommit writes the files of the commit and no .git', async () => {
    const { dir, sha } = await workRepo('export-src', { 'app.py': 'x', 'pkg/mod.py': 'y' });
    onPush = async () => undefined;
    assert.equal((await git(dir, 'push', url('demo'), '+HEAD:main')).code, 0);
    const dest = join(root, 'export');
    const repoPath = join(dataDir, 'repos', 'demo.git');
    await svc.exportCommit({ repoPath, sha, dest });
    assert.deepEqual(readdirSync(dest).sort(), ['app.py', 'pkg']);
    assert.equal(readFileSync(join(dest, 'pkg/mod.py'), 'utf8'), 'y');
    await assert.rejects(svc.exportCommit({ repoPath, sha, dest }), /not empty/);
    for (const bad of ['--output=/tmp/x', 'HEAD', sha.slice(0, 39), `${sha}\n`])
      await assert.rejects(svc.exportCommit({ repoPath, sha: bad, dest: join(root, 'e2') }), (e) =>
        isGantryError(e, 'GANTRY_INVALID_REF'),
      );
  });

  test('exportCommit refuses a tree that unpacks past maxBytes (a compressible push)', async () => {
    // 2 MiB of zeros packs to a few KiB but must not be unpacked past the bound.
    const { dir, sha } = await workRepo('export-bomb', { 'zeros.bin': '\0'.repeat(2 * 1024 * 1024) });
    onPush = async () => undefined;
    assert.equal((await git(dir, 'push', url('demo'), '+HEAD:main')).code, 0);
    const repoPath = join(dataDir, 'repos', 'demo.git');
    await assert.rejects(
      svc.exportCommit({ repoPath, sha, dest: join(root, 'export-bomb'), maxBytes: 1024 * 1024 }),
      (e) => isGantryError(e, 'GANTRY_PUSH_TOO_LARGE'),
    );
    await svc.exportCommit({ repoPath, sha, dest: join(root, 'export-ok'), maxBytes: 4 * 1024 * 1024 });
  });

  test('ensureRepo is idempotent and removeRepo deletes', async () => {
    const p = await svc.ensureRepo('tmp-app');
    assert.equal(await svc.ensureRepo('tmp-app'), p);
    const cfg = readFileSync(join(p, 'config'), 'utf8');
    assert.match(cfg, /fsckObjects = true/);
    assert.match(cfg, /maxInputSize = 262144/);
    await svc.removeRepo('tmp-app');
    assert.equal(existsSync(p), false);
    await assert.rejects(svc.ensureRepo('../x'), (e) => isGantryError(e, 'GANTRY_INVALID_APP_NAME'));
  });
});

describe('the pre-receive hook', { timeout: 30_000 }, () => {
  test('refuses a connection without the right token, and a token used twice', async () => {
    const socketPath = join(root, 'h.sock');
    const seen: PushContext[] = [];
    const hooks = new HookServer({
      socketPath,
      logger: silentLogger,
      onPush: async (ctx) => void seen.push(ctx),
    });
    await hooks.start();
    try {
      const repoPath = join(root, 'r.git');
      const token = hooks.register({
        app: 'demo',
        user: 'alice',
        identity: identity('alice'),
        ip: null,
        repoPath,
        signal: new AbortController().signal,
        finished: Promise.resolve(),
      });
      const stdin = `${ZERO_SHA} ${'a'.repeat(40)} refs/heads/main\n`;
      const ask = (t: string) => hookRequest(socketPath, { token: t, stdin, cwd: repoPath, env: {} });
      const refused = { ok: false, error: 'push refused: pushes must go through the Gantry server' };
      assert.deepEqual(await ask('f'.repeat(64)), [refused]);
      assert.deepEqual(await ask(''), [refused]);
      assert.equal(seen.length, 0);
      assert.deepEqual(await ask(token), [{ ok: true }]);
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.gitEnv.GIT_DIR, repoPath);
      assert.deepEqual(await ask(token), [refused], 'a token is good for one hook run only');
      assert.equal(seen.length, 1);
    } finally {
      await hooks.close();
    }
  });

  test('the server socket of a running service refuses strangers', async () => {
    const stdin = `${ZERO_SHA} ${'a'.repeat(40)} refs/heads/main\n`;
    const reply = await hookRequest(gitPaths(dataDir).socketPath, { token: 'x', stdin, cwd: '/', env: {} });
    assert.equal((reply[0] as { ok: boolean }).ok, false);
  });

  test('a push straight into the repo on disk (no token) is refused', async () => {
    const { dir } = await workRepo('local', { 'a.txt': 'x' });
    calls.length = 0;
    const before = await bareRef('tokens');
    const r = await git(dir, 'push', join(dataDir, 'repos', 'tokens.git'), 'HEAD:main');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pushes must go through the Gantry server/);
    assert.equal(calls.length, 0);
    assert.equal(await bareRef('tokens'), before);
  });

  test('a pusher that disconnects aborts onPush and the ref stays', async () => {
    const { dir } = await workRepo('hang', { 'a.txt': 'x' });
    let started!: () => void;
    const running = new Promise<void>((ok) => (started = ok));
    let aborted!: () => void;
    const abortSeen = new Promise<void>((ok) => (aborted = ok));
    onPush = async (ctx) => {
      started();
      await new Promise<void>((ok) => ctx.signal.addEventListener('abort', () => ok(), { once: true }));
      aborted();
      throw new GantryError('GANTRY_BUILD_FAILED', 'aborted');
    };
    const child = spawnProcess('git', ['push', url('hang'), 'HEAD:main'], {
      cwd: dir,
      env: clientEnv(),
      stdio: 'ignore',
    });
    const exited = new Promise((ok) => child.on('close', ok));
    await running;
    // Drop the pusher's HTTP connection, as a network failure or a killed client would.
    server.closeAllConnections();
    child.kill('SIGKILL');
    await exited;
    await abortSeen;
    assert.equal(await bareRef('hang'), undefined);
  });
});
