/**
 * The core loop with real parts: git push over HTTP → build in bubblewrap →
 * sandboxed processes → served through the router; redeploys, config changes,
 * rollbacks, crashes and self-healing.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  startTestServer,
  deployFixture,
  push,
  commitAll,
  fixtureRepo,
  eventually,
  git,
  type TestServer,
} from './helpers/index.js';
import type { ProcessStatus } from '../src/runtime/types.js';
import type { ReleaseInfo } from '../src/api/platform.js';

/** Host pids and uids of every process below `pid` (the sandbox's bwrap), depth first. */
async function descendants(pid: number): Promise<{ pid: number; uid: number }[]> {
  const out: { pid: number; uid: number }[] = [];
  const walk = async (p: number): Promise<void> => {
    const children = await readFile(`/proc/${p}/task/${p}/children`, 'utf8').catch(() => '');
    for (const c of children.split(' ').filter(Boolean).map(Number)) {
      const status = await readFile(`/proc/${c}/status`, 'utf8').catch(() => '');
      const m = /^Uid:\s+(\d+)/m.exec(status);
      if (m) out.push({ pid: c, uid: Number(m[1]) });
      await walk(c);
    }
  };
  await walk(pid);
  return out;
}

async function descendantUids(pid: number): Promise<number[]> {
  return (await descendants(pid)).map((d) => d.uid);
}

describe('git push deploys', { timeout: 300_000 }, () => {
  let t: TestServer;
  let repo: string;
  before(async () => {
    t = await startTestServer();
    ({ repo } = await deployFixture(t, 'hello', 'python-stdlib'));
  });
  after(async () => {
    await t?.close();
  });

  test('the app answers at /apps/NAME/ and sees the full path and forwarded headers', async () => {
    const res = await fetch(`${t.url}/apps/hello/`);
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.match(body, /hello from python/);
    assert.match(body, /v1/);
    const h = (await (await fetch(`${t.url}/apps/hello/headers?x=1`)).json()) as {
      path: string;
      headers: Record<string, string>;
    };
    assert.equal(h.path, '/apps/hello/headers?x=1');
    assert.equal(h.headers['x-forwarded-prefix'], '/apps/hello');
    assert.equal(h.headers['x-forwarded-proto'], 'http');
    assert.match(h.headers['x-forwarded-for'] ?? '', /127\.0\.0\.1/);
  });

  test('/apps/NAME redirects to /apps/NAME/; unknown apps get a 404 page', async () => {
    const r = await fetch(`${t.url}/apps/hello?q=1`, { redirect: 'manual' });
    assert.ok([301, 308].includes(r.status));
    assert.equal(r.headers.get('location'), '/apps/hello/?q=1');
    // Anonymous: an unknown app asks for a login like a restricted one (names don't leak).
    const anon = await fetch(`${t.url}/apps/nope/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(anon.status, 302);
    assert.equal(anon.headers.get('location'), '/login?next=%2Fapps%2Fnope%2F');
    const nf = await fetch(`${t.url}/apps/nope/`, {
      headers: { accept: 'text/html', authorization: `Bearer ${t.token}` },
    });
    assert.equal(nf.status, 404);
    assert.match(await nf.text(), /not found/i);
  });

  test('SSE streams through the router event by event', async () => {
    const res = await fetch(`${t.url}/apps/hello/events`);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    const t0 = Date.now();
    const first = await reader.read();
    const firstAt = Date.now() - t0;
    assert.match(new TextDecoder().decode(first.value), /tick 1/);
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    assert.match(rest, /tick 3/);
    assert.ok(firstAt < 500, `first event arrived after ${firstAt} ms: the router buffered the stream`);
  });

  test('processes run sandboxed as the app uid, named APP.TYPE.N, and the worker runs after scaling', async () => {
    const { processes: ps } = await t.api<{ processes: ProcessStatus[] }>('GET', '/api/apps/hello/ps');
    const web = ps.find((p) => p.type === 'web');
    assert.equal(web?.name, 'hello.web.1');
    assert.equal(web?.state, 'running');
    assert.equal(ps.filter((p) => p.type === 'worker').length, 0, 'non-web types default to 0');
    await t.api('PATCH', '/api/apps/hello/formation', { worker: 1 });
    await eventually(
      async () => {
        const logs = await fetch(`${t.url}/api/apps/hello/logs?lines=200`, {
          headers: { authorization: `Bearer ${t.token}` },
        });
        return (await logs.text()).includes('hello.worker.1: worker heartbeat');
      },
      20_000,
      'worker heartbeat in the logs',
    );
    // The sandbox's host pid is root's bwrap; the app itself (a descendant) runs as an unprivileged uid.
    const uids = await descendantUids(web!.pid!);
    assert.ok(
      uids.some((u) => u >= 200000),
      `app processes run as the app uid (saw ${uids.join(', ')})`,
    );
    // Restarting one type restarts just that type.
    const workerBefore = (
      await t.api<{ processes: ProcessStatus[] }>('GET', '/api/apps/hello/ps')
    ).processes.find((p) => p.type === 'worker')!;
    await t.api('POST', '/api/apps/hello/restart', { type: 'worker' });
    const workerAfter = (
      await t.api<{ processes: ProcessStatus[] }>('GET', '/api/apps/hello/ps')
    ).processes.find((p) => p.type === 'worker')!;
    assert.notEqual(workerAfter.pid, workerBefore.pid);
    await assert.rejects(
      t.api('POST', '/api/apps/hello/restart', { type: 'clock' }),
      /no process type clock/,
    );
    await t.api('PATCH', '/api/apps/hello/formation', { worker: 0 });
  });

  test('config:set rolls out a new release that sees the value', async () => {
    const { release } = await t.api<{ release: ReleaseInfo }>('PATCH', '/api/apps/hello/config', {
      set: { GREETING: 'bonjour' },
    });
    assert.equal(release.version, 2);
    const body = await (await fetch(`${t.url}/apps/hello/`)).text();
    assert.match(body, /bonjour/);
    assert.match(body, /v2/);
  });

  test('a push whose web process crashes is rejected and the old release keeps serving', async () => {
    const bad = await fixtureRepo('crash-on-start');
    const r = await push(t, bad, 'hello');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /exited with status 3/);
    assert.match(r.stderr, /boom: missing DATABASE_URL/, 'the pusher sees the crashing process output');
    const body = await (await fetch(`${t.url}/apps/hello/`)).text();
    assert.match(body, /hello from python/);
    const { releases } = await t.api<{ releases: ReleaseInfo[] }>('GET', '/api/apps/hello/releases');
    assert.equal(releases[0]?.version, 2, 'no release was created');
    // The rejected commit did not move the branch.
    const head = await git(join(t.dataDir, 'repos', 'hello.git'), ['rev-parse', 'refs/heads/main']);
    const ours = await git(repo, ['rev-parse', 'HEAD']);
    assert.equal(head.stdout.trim(), ours.stdout.trim());
  });

  test('a redeploy replaces the app; rollback brings the old slug back without a build', async () => {
    await writeFile(join(repo, 'VERSION'), 'two');
    const src = await readFile(join(repo, 'app.py'), 'utf8');
    await writeFile(join(repo, 'app.py'), src.replace('hello from python', 'hello again from python'));
    await commitAll(repo, 'second');
    const r = await push(t, repo, 'hello');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /remote: .*Using cached/i, 'unchanged requirements reuse the dependency cache');
    assert.match(await (await fetch(`${t.url}/apps/hello/`)).text(), /hello again from python/);
    const {
      release: { version },
    } = await t.api<{ release: ReleaseInfo }>('POST', '/api/apps/hello/rollback', { version: 2 });
    assert.equal(version, 4);
    const body = await (await fetch(`${t.url}/apps/hello/`)).text();
    assert.match(body, /hello from python/);
    assert.doesNotMatch(body, /again/);
    const { builds } = await t.api<{ builds: unknown[] }>('GET', '/api/apps/hello/builds');
    assert.equal(builds.length, 3, 'rollback did not build (2 successful pushes + 1 failed)');
  });

  test('two racing pushes: one goes live, the other is refused and never served', async () => {
    const a = await fixtureRepo('python-stdlib');
    const b = await fixtureRepo('python-stdlib');
    for (const [dir, word] of [
      [a, 'alpha'],
      [b, 'bravo'],
    ] as const) {
      const src = await readFile(join(dir, 'app.py'), 'utf8');
      await writeFile(join(dir, 'app.py'), src.replace('hello from python', `hello from ${word}`));
      await commitAll(dir, word);
    }
    const [ra, rb] = await Promise.all([push(t, a, 'hello'), push(t, b, 'hello')]);
    assert.equal(
      [ra, rb].filter((r) => r.code === 0).length,
      1,
      `exactly one push wins:\n${ra.stderr}\n${rb.stderr}`,
    );
    const [winner, winnerDir, loser] = ra.code === 0 ? [ra, a, rb] : [rb, b, ra];
    assert.match(loser.stderr, /another push landed first/);
    const word = winnerDir === a ? 'alpha' : 'bravo';
    assert.match(
      await (await fetch(`${t.url}/apps/hello/`)).text(),
      new RegExp(`hello from ${word}`),
      winner.stderr,
    );
    const head = await git(join(t.dataDir, 'repos', 'hello.git'), ['rev-parse', 'refs/heads/main']);
    assert.equal(head.stdout.trim(), (await git(winnerDir, ['rev-parse', 'HEAD'])).stdout.trim());
  });

  test('kill -9 of an app process brings it back by itself', async () => {
    const { currentVersion } = await t.api<{ currentVersion: number }>('GET', '/api/apps/hello');
    const serving = async (): Promise<ProcessStatus | undefined> =>
      (await t.api<{ processes: ProcessStatus[] }>('GET', '/api/apps/hello/ps')).processes.find(
        (p) => p.type === 'web' && p.release === currentVersion,
      );
    const before = (await serving())!;
    // Kill the app itself (the deepest process in the sandbox), as an OOM killer or a stray kill would.
    const app = (await descendants(before.pid!)).filter((d) => d.uid >= 200000).pop();
    assert.ok(app, 'found the app process inside the sandbox');
    process.kill(app.pid, 'SIGKILL');
    const after = await eventually(
      async () => {
        const p = await serving();
        return p && p.restarts > before.restarts && p.state === 'running' ? p : undefined;
      },
      20_000,
      'the web process to restart',
    );
    assert.notEqual(after.pid, before.pid);
    await eventually(
      async () => (await fetch(`${t.url}/apps/hello/`)).status === 200,
      20_000,
      'the app to answer again',
    );
  });

  test('the server restarts with the app still deployed', async () => {
    const { startServer } = await import('../src/server.js');
    const config = t.server.config;
    await t.server.close();
    const again = await startServer({ ...config, port: t.server.port }, { logger: t.server.logger });
    t.server = again;
    await eventually(
      async () => (await fetch(`${t.url}/apps/hello/`)).status === 200,
      30_000,
      'the app after restart',
    );
  });
});
