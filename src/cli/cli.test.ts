import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createServer, type AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../api/index.js';
import { FakePlatform, FAKE_PASSWORD } from '../api/fake-platform.js';
import { testIdentity, type TestIdentity } from '../api/testing.js';
import { runChecked } from '../exec/index.js';
import { silentLogger } from '../log/index.js';
import { main } from './index.js';

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

let api: FastifyInstance;
let platform: FakePlatform;
let identity: TestIdentity;
let url: string;
let home: string;
let env: Record<string, string>;

async function gantry(
  args: string[],
  opts: {
    cwd?: string;
    stdin?: string;
    env?: Record<string, string>;
    signal?: AbortSignal;
    onOut?: (s: string) => void;
  } = {},
): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: {
      write: (s: string) => {
        stdout += s;
        opts.onOut?.(stdout);
      },
    },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from([opts.stdin ?? '']),
    env: opts.env ?? env,
    cwd: opts.cwd ?? home,
    signal: opts.signal,
  });
  return { code, stdout, stderr };
}

/** A failure is exactly one `error: …` line on stderr. */
function assertOneErrorLine(r: RunResult, code: number, message: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.match(r.stderr, /^error: [^\n]+\n$/, `one error line, got: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, message);
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  return (
    await runChecked('git', args, {
      cwd,
      env: { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1' },
    })
  ).stdout;
}

before(async () => {
  identity = await testIdentity();
  platform = new FakePlatform({ records: identity.records });
  api = await buildApi({
    platform,
    ...identity.options,
    logger: silentLogger,
    version: '1.0.0',
    publicUrl: 'http://gantry.test',
  });
  url = await api.listen({ host: '127.0.0.1', port: 0 });
  home = await mkdtemp(join(tmpdir(), 'gantry-cli-test-'));
  env = { HOME: home, XDG_CONFIG_HOME: join(home, 'xdg'), PATH: process.env.PATH ?? '/usr/bin:/bin' };
});

after(async () => {
  await api.close();
  await identity.close();
  await rm(home, { recursive: true, force: true });
});

void describe('login', () => {
  void test('stores url and token in $XDG_CONFIG_HOME/gantry/config.json, mode 0600', async () => {
    const r = await gantry(['login', url, '--username', 'admin', '--password', FAKE_PASSWORD]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Logged in to http:\/\/127\.0\.0\.1:\d+ as admin/);
    const file = join(home, 'xdg', 'gantry', 'config.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(join(home, 'xdg', 'gantry'))).mode & 0o777, 0o700);
    const saved = JSON.parse(await readFile(file, 'utf8'));
    assert.equal(saved.url, url);
    assert.equal(identity.directory.resolveToken(saved.token)?.username, 'admin');
    const me = await gantry(['whoami']);
    assert.match(me.stdout, new RegExp(`^admin \\(admin\\) on ${url}\\n`));
    assert.match(me.stdout, /^Token: +.*scope full, never expires$/m);
  });

  void test('prompts for username and password on stdin', async () => {
    const r = await gantry(['login', url], { stdin: `admin\n${FAKE_PASSWORD}\n` });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.split('\n').slice(0, 2).join('|'), 'Username: |Password: ');
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(FAKE_PASSWORD));
  });

  void test('a wrong password is one error line, exit 1, and nothing is stored', async () => {
    const xdg = join(home, 'other-xdg');
    const r = await gantry(['login', url, '-u', 'admin', '-p', 'wrong'], {
      env: { ...env, XDG_CONFIG_HOME: xdg },
    });
    assertOneErrorLine(r, 1, /^error: invalid username or password$/m);
    await assert.rejects(stat(join(xdg, 'gantry', 'config.json')));
  });

  void test('GANTRY_URL and GANTRY_TOKEN work without a config file; logout forgets the file', async () => {
    const token = await identity.token('admin');
    const bare = { HOME: home, XDG_CONFIG_HOME: join(home, 'empty-xdg'), PATH: env.PATH! };
    assert.equal(
      (await gantry(['whoami'], { env: { ...bare, GANTRY_URL: url, GANTRY_TOKEN: token } })).code,
      0,
    );
    assertOneErrorLine(await gantry(['whoami'], { env: bare }), 1, /not logged in/);
    // The stored token is not sent to another server named by GANTRY_URL alone.
    assertOneErrorLine(
      await gantry(['whoami'], { env: { ...env, GANTRY_URL: 'http://127.0.0.2:9' } }),
      1,
      /not logged in/,
    );

    const xdg = join(home, 'logout-xdg');
    const e2 = { ...env, XDG_CONFIG_HOME: xdg };
    assert.equal((await gantry(['login', url, '-u', 'admin', '-p', FAKE_PASSWORD], { env: e2 })).code, 0);
    assert.equal((await gantry(['logout'], { env: e2 })).stdout, 'Logged out\n');
    assertOneErrorLine(await gantry(['apps'], { env: e2 }), 1, /not logged in/);
  });
});

void describe('commands', () => {
  before(async () => {
    const r = await gantry(['login', url, '-u', 'admin', '-p', FAKE_PASSWORD]);
    assert.equal(r.code, 0, r.stderr);
  });

  void test('apps:create, apps --json, apps:info', async () => {
    const created = await gantry(['apps:create', 'demo']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /Git URL: +http:\/\/gantry\.test\/git\/demo\.git/);
    const list = await gantry(['apps', '--json']);
    assert.equal(list.code, 0);
    const apps = JSON.parse(list.stdout);
    assert.deepEqual(
      apps.map((a: { name: string }) => a.name),
      ['demo'],
    );
    const human = await gantry(['apps']);
    assert.match(human.stdout, /^=== Apps\nName +Status +Release +Owner +Access +URL\n/);
    assert.match(human.stdout, /\ndemo +new +— +admin +own +http:\/\/gantry\.test\/apps\/demo\/\n/);
    const info = await gantry(['apps:info', '-a', 'demo']);
    assert.match(info.stdout, /^=== demo\n/);
    assert.match(info.stdout, /Formation: +web=1/);
  });

  void test('server errors are one line with exit 1; usage errors exit 2', async () => {
    assertOneErrorLine(await gantry(['apps:info', '-a', 'ghost']), 1, /^error: app ghost not found$/m);
    assertOneErrorLine(await gantry(['apps:create', 'demo']), 1, /already exists/);
    assertOneErrorLine(await gantry(['apps:create', 'Bad_Name']), 1, /invalid name/);
    assertOneErrorLine(await gantry(['rollback', 'vx', '-a', 'demo']), 2, /expected a release version/);
    assertOneErrorLine(await gantry(['config']), 2, /no app given/);
    const unknown = await gantry(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^error: unknown command 'frobnicate'/);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await gantry(['apps'], { env: { ...env, GANTRY_URL: deadUrl, GANTRY_TOKEN: 'x' } });
    assertOneErrorLine(unreachable, 1, /^error: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED$/m);
  });

  void test('config:set A=1 B=2 sends one change; config shows it three ways', async () => {
    const r = await gantry(['config:set', 'A=1', 'B=two=2', '-a', 'demo']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(platform.calls.at(-1), {
      method: 'updateConfig',
      args: ['demo', { set: { A: '1', B: 'two=2' } }],
    });
    assert.deepEqual(JSON.parse((await gantry(['config', '-a', 'demo', '--json'])).stdout), {
      A: '1',
      B: 'two=2',
    });
    assert.equal((await gantry(['config', '-a', 'demo'])).stdout, '=== demo Config Vars\nA: 1\nB: two=2\n');
    assert.equal((await gantry(['config', '-a', 'demo', '--shell'])).stdout, 'A=1\nB=two=2\n');
    assert.equal((await gantry(['config:get', 'B', '-a', 'demo'])).stdout, 'two=2\n');
    assertOneErrorLine(await gantry(['config:get', 'NOPE', '-a', 'demo']), 1, /NOPE is not set/);
    assert.equal((await gantry(['config:unset', 'A', '-a', 'demo'])).code, 0);
    assert.deepEqual(platform.calls.at(-1), { method: 'updateConfig', args: ['demo', { unset: ['A'] }] });
    assertOneErrorLine(await gantry(['config:set', 'novalue', '-a', 'demo']), 2, /expected KEY=VALUE/);
    assertOneErrorLine(await gantry(['config:set', 'PORT=1', '-a', 'demo']), 1, /PORT is set by Gantry/);
  });

  void test('ps:scale parses TYPE=COUNT; web=abc is a usage error that reaches nothing', async () => {
    const before = platform.calls.length;
    assertOneErrorLine(await gantry(['ps:scale', 'web=abc', '-a', 'demo']), 2, /expected TYPE=COUNT/);
    assertOneErrorLine(await gantry(['ps:scale', 'web=-1', '-a', 'demo']), 2, /expected TYPE=COUNT/);
    assert.equal(platform.calls.length, before);
    const ok = await gantry(['ps:scale', 'web=2', 'worker=1', '-a', 'demo']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(platform.calls.at(-1), { method: 'scale', args: ['demo', { web: 2, worker: 1 }] });
    assert.match(ok.stdout, /now running web at 2, worker at 1/);
    assert.equal((await gantry(['ps:restart', 'web', '-a', 'demo'])).code, 0);
    assert.deepEqual(platform.calls.at(-1), { method: 'restart', args: ['demo', 'web'] });
  });

  void test('deploy DIR uploads a tarball of the source, honouring .gitignore and skipping dependencies', async () => {
    const src = join(home, 'src-git');
    await mkdir(join(src, 'node_modules', 'x'), { recursive: true });
    await mkdir(join(src, '__pycache__'));
    await mkdir(join(src, 'pkg'));
    await writeFile(join(src, 'app.py'), 'print("hi")\n');
    await writeFile(join(src, 'Procfile'), 'web: python app.py\n');
    await writeFile(join(src, 'pkg', 'mod.py'), '');
    await writeFile(join(src, '@weird'), 'a file, not an archive to splice in');
    await writeFile(join(src, '.gitignore'), 'secret.env\n');
    await writeFile(join(src, 'secret.env'), 'TOKEN=1');
    await writeFile(join(src, 'node_modules', 'x', 'index.js'), '');
    await writeFile(join(src, '__pycache__', 'app.pyc'), '');
    await git(src, 'init', '-q');
    await git(src, 'add', 'app.py');

    const r = await gantry(['deploy', 'src-git', '-a', 'demo']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(platform.lastDeployFiles, ['.gitignore', '@weird', 'Procfile', 'app.py', 'pkg/mod.py']);
    assert.match(r.stdout, /^-----> Uploading 5 files/);
    assert.match(r.stdout, /-----> Received 5 files\n/);
    assert.ok(r.stdout.endsWith('=====> DEPLOY OK v1\n'), r.stdout);

    // Outside a git work tree the directory is walked, with the same skips.
    const plain = join(home, 'src-plain');
    await mkdir(join(plain, '.venv'), { recursive: true });
    await writeFile(join(plain, 'index.html'), '<h1>hi</h1>');
    await writeFile(join(plain, '.venv', 'pyvenv.cfg'), '');
    assert.equal((await gantry(['deploy', plain, '-a', 'demo'])).code, 0);
    assert.deepEqual(platform.lastDeployFiles, ['index.html']);

    const releases = JSON.parse((await gantry(['releases', '-a', 'demo', '--json'])).stdout);
    assert.deepEqual(
      releases.map((x: { version: number }) => x.version),
      [2, 1],
    );
    const builds = await gantry(['builds', '-a', 'demo']);
    assert.match(builds.stdout, /b1 +succeeded +v1/);
    assert.equal(
      (await gantry(['builds:log', 'b1', '-a', 'demo'])).stdout,
      '-----> Received 5 files\n-----> Build succeeded\n',
    );
  });

  void test('a failed deploy prints the stream and exits 1 with the reason', async () => {
    const src = join(home, 'src-fail');
    await mkdir(src);
    await writeFile(join(src, 'FAIL'), '');
    const r = await gantry(['deploy', '-a', 'demo'], { cwd: src });
    assert.match(r.stdout, /=====> DEPLOY FAILED: build failed: no buildpack detected\n$/);
    assertOneErrorLine(r, 1, /^error: deploy failed: build failed: no buildpack detected$/m);
    assertOneErrorLine(await gantry(['deploy', 'nope', '-a', 'demo']), 2, /not a directory/);
  });

  void test('git:remote adds a gantry remote; app commands then find the app without -a', async () => {
    const repo = join(home, 'repo');
    await mkdir(repo);
    await git(repo, 'init', '-q');
    const r = await gantry(['git:remote', '-a', 'demo'], { cwd: repo });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await git(repo, 'remote', 'get-url', 'gantry')).trim(), 'http://gantry.test/git/demo.git');
    const cfg = await gantry(['config:get', 'B'], { cwd: repo });
    assert.equal(cfg.stdout, 'two=2\n');
    assert.equal(
      (await gantry(['git:remote', '-a', 'demo'], { cwd: repo })).stdout.split('\n')[0],
      'Updated git remote gantry → http://gantry.test/git/demo.git',
    );
  });

  void test('logs prints lines; -f streams until stopped', async () => {
    platform.log('demo', 'demo.web.1', 'first', new Date('2026-01-01T00:00:00.000Z'));
    const r = await gantry(['logs', '-n', '5', '-a', 'demo']);
    assert.equal(r.stdout, '2026-01-01T00:00:00.000Z demo.web.1: first\n');
    assertOneErrorLine(await gantry(['logs', '-n', 'many', '-a', 'demo']), 2, /-n expects a number/);

    const stop = new AbortController();
    let sawLive!: () => void;
    const live = new Promise<void>((resolve) => (sawLive = resolve));
    const following = gantry(['logs', '-f', '-a', 'demo'], {
      signal: stop.signal,
      onOut: (all) => {
        if (all.includes('first\n') && platform.followers === 1 && !all.includes('second')) {
          platform.log('demo', 'demo.web.1', 'second');
        }
        if (all.includes('second\n')) sawLive();
      },
    });
    await live;
    stop.abort();
    const f = await following;
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stdout, /demo\.web\.1: first\n.*demo\.web\.1: second\n$/s);
  });

  void test('apps:destroy asks for the name unless --confirm', async () => {
    assert.equal((await gantry(['apps:create', 'doomed'])).code, 0);
    const wrong = await gantry(['apps:destroy', '-a', 'doomed'], { stdin: 'demo\n' });
    assert.equal(wrong.code, 1);
    assert.equal(
      wrong.stderr.split('\n').at(-2),
      'error: confirmation "demo" does not match doomed: nothing destroyed',
    );
    const typed = await gantry(['apps:destroy', '-a', 'doomed'], { stdin: 'doomed\n' });
    assert.equal(typed.code, 0, typed.stderr);
    assert.equal(typed.stdout, 'Destroyed doomed\n');
    assert.equal((await gantry(['apps:create', 'doomed2'])).code, 0);
    assert.equal((await gantry(['apps:destroy', '-a', 'doomed2', '--confirm', 'doomed2'])).code, 0);
    assert.deepEqual(
      JSON.parse((await gantry(['apps', '--json'])).stdout).map((a: { name: string }) => a.name),
      ['demo'],
    );
  });
});
