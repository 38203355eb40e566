import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { silentLogger } from '../log/index.js';
import { isGantryError } from '../errors/index.js';
import { runRuntimeContract, SERVER_PY, waitFor } from './contract.js';
import { assertSandboxAvailable, LocalRuntime, type LogLine } from './index.js';
import { descendantsOf, pidsOfUid, uidOf } from './proctree.js';

const roots: string[] = [];
const uids: number[] = [];
let nextUid = 200_000 + (process.pid % 1000) * 50;

async function makeSlug(files: Record<string, string>) {
  const root = await mkdtemp(join(tmpdir(), 'gantry-rt-'));
  roots.push(root);
  await chmod(root, 0o755);
  const slugPath = join(root, 'slug');
  await mkdir(slugPath, { mode: 0o755 });
  for (const [name, text] of Object.entries(files)) {
    await writeFile(join(slugPath, name), text);
    await chmod(join(slugPath, name), 0o644);
  }
  const uid = nextUid++;
  uids.push(uid);
  return { slugPath, dataPath: join(root, 'data'), uid };
}

function fast(logSink: (l: LogLine) => void = () => undefined): LocalRuntime {
  return new LocalRuntime({
    logger: silentLogger,
    logSink,
    stopGraceMs: 5000,
    backoff: { initialMs: 100, maxMs: 2000, resetAfterMs: 60_000 },
    usageIntervalMs: 200,
  });
}

void after(async () => {
  // Nothing may outlive a runtime: no process of any test uid is left.
  const leftovers = uids.flatMap((u) => pidsOfUid(u));
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
  assert.deepEqual(leftovers, [], 'orphan app processes left behind');
});

runRuntimeContract({ name: 'local', create: ({ logSink }) => fast(logSink), makeSlug });

void describe('local runtime: sandbox', () => {
  void test('processes run as the app uid on the host, data dir is theirs (0700)', async () => {
    const rt = fast();
    try {
      const slug = await makeSlug({ 'server.py': SERVER_PY });
      await rt.apply({
        id: 'uidapp@v1',
        app: 'uidapp',
        release: 1,
        ...slug,
        env: {},
        processes: [{ type: 'web', command: 'python3 server.py', count: 1, web: true }],
      });
      const [p] = await waitFor('running', () => {
        const ps = rt.list('uidapp');
        return ps[0]?.state === 'running' ? ps : undefined;
      });
      const tree = await waitFor('python under the sandbox', () => {
        const t = descendantsOf(p!.pid!);
        return t.length >= 3 ? t : undefined;
      });
      // bwrap's init stays root (it holds the mounts); everything of the app runs as the app uid.
      const appPids = tree.filter((pid) => uidOf(pid) !== 0);
      assert.ok(appPids.length >= 2, 'shell and python run unprivileged');
      for (const pid of appPids) assert.equal(uidOf(pid), slug.uid);
      assert.deepEqual(pidsOfUid(slug.uid).sort(), [...appPids].sort());
      const st = await stat(slug.dataPath);
      assert.equal(st.mode & 0o777, 0o700);
      assert.equal(st.uid, slug.uid);
      await rt.close({ graceMs: 2000 });
      assert.deepEqual(pidsOfUid(slug.uid), [], 'close leaves nothing behind');
    } finally {
      await rt.close();
    }
  });

  void test('cannot see host files outside its binds, /tmp is private per app', async () => {
    const rt = fast();
    try {
      const gantryData = await mkdtemp(join(tmpdir(), 'gantry-data-'));
      roots.push(gantryData);
      await chmod(gantryData, 0o755);
      await writeFile(join(gantryData, 'secret'), 'top secret', { mode: 0o644 });
      const a = await makeSlug({});
      const b = await makeSlug({});
      const run = (slug: typeof a, app: string, command: string) =>
        rt.runOnce({ app, name: `${app}.run`, ...slug, env: {}, command });
      const peek = await run(
        a,
        'appa',
        `cat ${join(gantryData, 'secret')} /root/.bashrc; ls /work; echo done`,
      );
      assert.doesNotMatch(peek.output, /top secret/);
      assert.match(peek.output, /No such file/);
      assert.match(peek.output, /done/);
      const rootWrite = await run(a, 'appa', 'touch /app/x || touch /usr/x || echo ro');
      assert.match(rootWrite.output, /ro$/m);
      // App A keeps a file in its /tmp while app B looks for it.
      await rt.apply({
        id: 'appa@v1',
        app: 'appa',
        release: 1,
        ...a,
        env: {},
        processes: [
          {
            type: 'worker',
            command: 'echo mine > /tmp/marker && echo ready && sleep 1000',
            count: 1,
            web: false,
          },
        ],
      });
      const lines: LogLine[] = [];
      const rt2 = fast((l) => lines.push(l));
      try {
        await waitFor('app a ready', async () => {
          const r = await rt2.runOnce({ app: 'appa', name: 'appa.check', ...a, env: {}, command: 'true' });
          return r.exitCode === 0 && rt.list('appa')[0]?.state === 'running' ? true : undefined;
        });
        await new Promise((r) => setTimeout(r, 200));
        const look = await run(b, 'appb', 'cat /tmp/marker || echo absent');
        assert.match(look.output, /absent/);
        assert.ok(!existsSync('/tmp/marker'), 'not on the host /tmp either');
      } finally {
        await rt2.close();
      }
    } finally {
      await rt.close();
    }
  });

  void test('refuses uid 0', async () => {
    const rt = fast();
    const slug = await makeSlug({});
    await assert.rejects(
      rt.runOnce({ app: 'evil', name: 'evil.run', ...slug, uid: 0, env: {}, command: 'id' }),
      (e) => isGantryError(e, 'GANTRY_BAD_REQUEST'),
    );
    await rt.close();
  });
});

void describe('assertSandboxAvailable', () => {
  void test('passes when bwrap works here', async () => {
    await assertSandboxAvailable({ logger: silentLogger });
  });

  void test('explains how to fix a missing bwrap', async () => {
    await assert.rejects(
      assertSandboxAvailable({ logger: silentLogger, bwrap: '/nonexistent/bwrap' }),
      (e) => {
        assert.ok(isGantryError(e, 'GANTRY_SANDBOX_UNAVAILABLE'));
        assert.match(e.message, /apt-get install bubblewrap/);
        assert.match(e.message, /GANTRY_UNSAFE_NO_SANDBOX=1/);
        return true;
      },
    );
  });

  void test('reports a bwrap that is installed but cannot create a sandbox', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gantry-fakebwrap-'));
    roots.push(dir);
    const fake = join(dir, 'bwrap');
    await writeFile(fake, '#!/bin/sh\necho "bwrap: No permissions to creating new namespace" >&2\nexit 1\n', {
      mode: 0o755,
    });
    await assert.rejects(assertSandboxAvailable({ logger: silentLogger, bwrap: fake }), (e) => {
      assert.ok(isGantryError(e, 'GANTRY_SANDBOX_UNAVAILABLE'));
      assert.match(e.message, /cannot create a sandbox here: bwrap: No permissions/);
      return true;
    });
  });

  void test('unsafe mode skips the check but warns loudly', async () => {
    const out: string[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          out.push(chunk.toString());
          cb();
        },
      }),
    );
    await assertSandboxAvailable({ logger, unsafeNoSandbox: true, bwrap: '/nonexistent/bwrap' });
    assert.match(out.join(''), /"level":40.*WITHOUT a sandbox/);
  });
});

void describe('local runtime: unsafe mode', () => {
  void test('runs without bwrap in the slug dir and reaps what the app leaves behind', async () => {
    const rt = new LocalRuntime({
      logger: silentLogger,
      logSink: () => undefined,
      unsafeNoSandbox: true,
      stopGraceMs: 2000,
    });
    try {
      const slug = await makeSlug({ 'hello.txt': 'hi from the slug' });
      const res = await rt.runOnce({
        app: 'dev',
        name: 'dev.run',
        ...slug,
        env: {},
        command: 'cat hello.txt; (sleep 1000 &) ; echo $$',
      });
      assert.match(res.output, /hi from the slug/);
      const shellPid = Number(/(\d+)\s*$/.exec(res.output)![1]);
      // The orphaned sleep was in the shell's process group: gone with it.
      await waitFor('orphan reaped', () => {
        try {
          process.kill(-shellPid, 0);
          return undefined;
        } catch {
          return true;
        }
      });
      assert.equal(await readFile(join(slug.slugPath, 'hello.txt'), 'utf8'), 'hi from the slug');
    } finally {
      await rt.close();
    }
  });
});
