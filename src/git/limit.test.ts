import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../exec/index.js';
import { silentLogger } from '../log/index.js';
import { LoginLimiter } from '../auth/rate-limit.js';
import { createGitService, type GitService } from './index.js';

let root: string;
let svc: GitService;
let server: Server;
let port: number;
let checks = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gantry-git-limit-'));
  svc = createGitService({
    dataDir: join(root, 'data'),
    maxPushBytes: 1024 * 1024,
    logger: silentLogger,
    limiter: new LoginLimiter({ maxFailuresPerAddress: 3, maxFailuresPerUsername: 100 }),
    // As slow as argon2, so concurrent guesses overlap inside the check.
    authenticate: async (u, p) => {
      checks++;
      await sleep(100);
      return u === 'alice' && p === 's3cret'
        ? { userId: 'u1', username: 'alice', email: null, role: 'developer', groups: [], via: 'password' }
        : undefined;
    },
    appExists: async (name) => name === 'demo',
    authorize: () => true,
    onPush: async () => undefined,
  });
  await svc.start();
  await svc.ensureRepo('demo');
  server = createServer((req, res) => {
    if (!svc.handle(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  assert.ok(addr && typeof addr === 'object');
  port = addr.port;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((ok) => server.close(() => ok()));
  await svc.close();
  await rm(root, { recursive: true, force: true });
});

function refs(password: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const authorization = `Basic ${Buffer.from(`alice:${password}`).toString('base64')}`;
  return new Promise((ok, fail) => {
    const path = '/git/demo.git/info/refs?service=git-upload-pack';
    const req = request({ host: '127.0.0.1', port, path, headers: { authorization } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

void test('wrong basic-auth passwords are limited, even in parallel; git shows why', async () => {
  const replies = await Promise.all(Array.from({ length: 10 }, () => refs('guess')));
  assert.deepEqual(replies.map((r) => r.status).sort(), [401, 401, 401, ...Array<number>(7).fill(429)]);
  assert.equal(checks, 3, 'refused attempts never reach authenticate');
  const limited = replies.find((r) => r.status === 429)!;
  assert.ok(Number(limited.headers['retry-after']) >= 1);
  assert.match(limited.body, /too many failed logins/);

  // Even the right password is refused from this address until the window ends.
  assert.equal((await refs('s3cret')).status, 429);
  const r = await run('git', ['ls-remote', `http://alice:s3cret@127.0.0.1:${port}/git/demo.git`], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: root,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
    },
    timeoutMs: 20_000,
  });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^remote: too many failed logins; try again later$/m);
  assert.match(r.stderr, /error: 429/);
  assert.equal(checks, 3);
});
