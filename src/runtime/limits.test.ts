/**
 * Resource limits of the local runtime against real cgroups and real
 * sandboxes (this suite expects root: Gantry's production setup).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../log/index.js';
import { waitFor } from './contract.js';
import { cgroupDir, parseMountinfo, parseProcCgroup } from './cgroups.js';
import { CgroupManager, LocalRuntime, type LogLine, type RuntimeEvent } from './index.js';
import { descendantsOf, pidsOfUid, treeUsage } from './proctree.js';

const MB = 1024 * 1024;
const roots: string[] = [];
const uids: number[] = [];
let nextUid = 400_000 + (process.pid % 1000) * 20;
let seq = 0;

async function makeSlug() {
  const root = await mkdtemp(join(tmpdir(), 'gantry-lim-'));
  roots.push(root);
  await chmod(root, 0o755);
  const slugPath = join(root, 'slug');
  await mkdir(slugPath, { mode: 0o755 });
  await writeFile(join(slugPath, 'hello.txt'), 'hi');
  const uid = nextUid++;
  uids.push(uid);
  return { slugPath, dataPath: join(root, 'data'), uid };
}

function runtime(opts: { unsafe?: boolean; cgroups?: CgroupManager } = {}) {
  const logs: LogLine[] = [];
  const events: RuntimeEvent[] = [];
  const rt = new LocalRuntime({
    logger: silentLogger,
    logSink: (l) => logs.push(l),
    stopGraceMs: 3000,
    backoff: { initialMs: 100, maxMs: 1000, resetAfterMs: 60_000 },
    usageIntervalMs: 250,
    unsafeNoSandbox: opts.unsafe,
    cgroups: opts.cgroups,
  });
  rt.onEvent((e) => events.push(e));
  return { rt, logs, events };
}

async function deploy(rt: LocalRuntime, type: string, command: string, limits?: object) {
  const slug = await makeSlug();
  const app = `lim${process.pid % 1000}x${++seq}`;
  await rt.apply({
    id: `${app}@v1`,
    app,
    release: 1,
    ...slug,
    env: {},
    processes: [{ type, command, count: 1, web: type === 'web', limits }],
  });
  return { app, slug };
}

/** `<Gantry's memory cgroup>/gantry/APP` on this (v1) host. */
function memoryAppDir(app: string): string {
  const mount = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).find(
    (m) => m.fstype === 'cgroup' && m.superOptions.includes('memory'),
  )!;
  const own = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8')).find((c) =>
    c.controllers.includes('memory'),
  )!;
  return join(cgroupDir(mount, own.path), 'gantry', app);
}

const ALLOC_300MB = `/usr/bin/python3 -c "x = bytearray(300 * 1024 * 1024); print('survived', flush=True)"`;
const v1 = !existsSync('/sys/fs/cgroup/cgroup.controllers');

void after(async () => {
  const leftovers = uids.flatMap((u) => pidsOfUid(u));
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
  assert.deepEqual(leftovers, [], 'orphan app processes left behind');
});

void describe('local runtime: resource limits', () => {
  void test('capabilities() reports the cgroup hierarchy of this host, enforced as root', async () => {
    const { rt } = runtime();
    try {
      assert.deepEqual(rt.capabilities(), { limits: true, cgroup: v1 ? 'v1' : 'v2' });
    } finally {
      await rt.close();
    }
  });

  void test('over its memory limit: oom event and log line, counted, then restarted by the backoff', async () => {
    const { rt, logs, events } = runtime();
    try {
      // The first run allocates 300 MB under a 64 MB limit; the restarted one just sleeps.
      const { app } = await deploy(
        rt,
        'web',
        `if [ -e /data/ran ]; then exec sleep 1000; fi; touch /data/ran; exec ${ALLOC_300MB}`,
        { memoryBytes: 64 * MB },
      );
      const sentence = 'out of memory: web.1 exceeded its 64 MB limit';
      const oom = await waitFor('oom event', () => events.find((e) => e.kind === 'oom'), 20_000);
      assert.equal(oom.detail, sentence);
      assert.equal(oom.process, `${app}.web.1`);
      const back = await waitFor(
        'restarted',
        () => rt.list(app).find((p) => p.restarts === 1 && p.state === 'running'),
        20_000,
      );
      assert.equal(back.oomKills, 1);
      assert.equal(back.limits?.memoryBytes, 64 * MB);
      const kinds = events.filter((e) => e.process === `${app}.web.1`).map((e) => e.kind);
      assert.deepEqual(kinds.slice(0, 5), ['start', 'oom', 'exit', 'crash', 'restart']);
      assert.ok(
        logs.some((l) => l.stream === 'system' && l.text === sentence && l.process === `${app}.web.1`),
      );
      assert.ok(!logs.some((l) => l.text === 'survived'), 'the allocation never succeeded');
    } finally {
      await rt.close();
    }
  });

  void test('a cpu limit of 0.2 throttles a busy loop', async () => {
    const { rt } = runtime();
    try {
      const { app } = await deploy(rt, 'worker', 'exec /usr/bin/python3 -c "while True: pass"', { cpu: 0.2 });
      const p = await waitFor('running', () => rt.list(app).find((q) => q.state === 'running'));
      // Measured independently of the runtime's own sampling, over the whole sandbox tree.
      await new Promise((r) => setTimeout(r, 500));
      const a = treeUsage(p.pid!);
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, 1500));
      const b = treeUsage(p.pid!);
      const percent = (b.cpuUsec - a.cpuUsec) / ((Date.now() - t0) * 10);
      assert.ok(percent <= 30, `busy loop used ${percent.toFixed(1)}% of a core under a 20% limit`);
      assert.ok(percent > 2, `busy loop used ${percent.toFixed(1)}%: did it run?`);
      const sampled = rt.list(app)[0]!.usage!;
      assert.ok(sampled.cpuPercent <= 30 && sampled.cpuPercent > 2, `sampled ${sampled.cpuPercent}%`);
    } finally {
      await rt.close();
    }
  });

  void test('a pids limit makes fork fail', async () => {
    const { rt } = runtime();
    try {
      const slug = await makeSlug();
      const command = `exec /usr/bin/python3 -c "
import os, time
n = 0
try:
    for i in range(40):
        if os.fork() == 0:
            time.sleep(20)
            os._exit(0)
        n += 1
except OSError as e:
    print('fork failed:', e.strerror)
print('forked', n)
"`;
      const res = await rt.runOnce({
        app: 'limpids',
        name: 'limpids.run',
        ...slug,
        env: {},
        command,
        limits: { pids: 12 },
      });
      assert.match(res.output, /fork failed: Resource temporarily unavailable/);
      const forked = Number(/forked (\d+)/.exec(res.output)?.[1]);
      assert.ok(forked < 12, `${forked} children under a 12-task limit`);
      const free = await rt.runOnce({ app: 'limpids', name: 'limpids.run', ...slug, env: {}, command });
      assert.match(free.output, /forked 40/, 'without the limit every fork works');
    } finally {
      await rt.close();
    }
  });

  void test('usage is sampled for a running process; every process of the sandbox is in its cgroup', async () => {
    const { rt } = runtime();
    try {
      const hold = `exec /usr/bin/python3 -c "import time; x = b'x' * (40 * 1024 * 1024); time.sleep(1000)"`;
      const limits = { memoryBytes: 256 * MB, cpu: 1, pids: 100 };
      const { app } = await deploy(rt, 'worker', hold, limits);
      const p = await waitFor('usage with 40 MB', () =>
        rt.list(app).find((q) => (q.usage?.memoryBytes ?? 0) > 40 * MB),
      );
      assert.ok(p.usage!.memoryBytes < 120 * MB, `${p.usage!.memoryBytes} bytes`);
      assert.deepEqual(p.limits, limits);
      assert.equal(p.oomKills, 0);
      // bwrap, its init and the app (forked after placement) all belong to the app's cgroup.
      const tree = [p.pid!, ...descendantsOf(p.pid!)];
      assert.ok(tree.length >= 3);
      for (const pid of tree) {
        const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
        for (const c of v1 ? ['memory', 'cpu', 'pids'] : ['']) {
          const line = lines.find(
            (l) => l.split(':')[1]?.split(',').includes(c) || (c === '' && l.startsWith('0::')),
          );
          assert.match(
            line ?? '',
            new RegExp(`/gantry/${app}/worker\\.1-[0-9a-f]{8}$`),
            `pid ${pid}: ${line}`,
          );
        }
      }
      if (v1) assert.ok(existsSync(memoryAppDir(app)));
      await rt.remove(`${app}@v1`, { graceMs: 2000 });
      // The process's cgroup is removed, and with the app's last one, the app's directory.
      if (v1) assert.equal(existsSync(memoryAppDir(app)), false);
    } finally {
      await rt.close();
    }
  });

  void test('without cgroups: usage from /proc, limits reported as not enforced', async () => {
    const { rt, logs } = runtime({ cgroups: CgroupManager.disabled(silentLogger, 'disabled for this test') });
    try {
      assert.deepEqual(rt.capabilities(), { limits: false, cgroup: null, reason: 'disabled for this test' });
      const hold = `exec /usr/bin/python3 -c "import time; x = b'x' * (40 * 1024 * 1024); time.sleep(1000)"`;
      const { app } = await deploy(rt, 'worker', hold, { memoryBytes: 64 * MB });
      const p = await waitFor('usage with 40 MB', () =>
        rt.list(app).find((q) => (q.usage?.memoryBytes ?? 0) > 40 * MB),
      );
      assert.equal(p.limits, undefined);
      assert.ok(
        logs.some(
          (l) =>
            l.text === 'Resource limits not enforced on this server (memoryBytes): disabled for this test',
        ),
      );
    } finally {
      await rt.close();
    }
  });

  void test('runOnce: an OOM kill is reported; an abort stops even a process that ignores SIGTERM', async () => {
    const { rt, logs } = runtime();
    try {
      const slug = await makeSlug();
      const base = { app: 'limrun', name: 'limrun.run', ...slug, env: {} };
      const res = await rt.runOnce({ ...base, command: ALLOC_300MB, limits: { memoryBytes: 64 * MB } });
      assert.equal(res.oomKilled, true);
      assert.notEqual(res.exitCode, 0);
      assert.doesNotMatch(res.output, /survived/);
      assert.ok(
        logs.some(
          (l) => l.process === 'limrun.run' && l.text === 'out of memory: run exceeded its 64 MB limit',
        ),
      );
      const ok = await rt.runOnce({ ...base, command: 'echo fine', limits: { memoryBytes: 64 * MB } });
      assert.deepEqual([ok.exitCode, ok.oomKilled], [0, false]);

      const ac = new AbortController();
      const t0 = Date.now();
      const stubborn = await rt.runOnce({
        ...base,
        command: `exec /usr/bin/python3 -c "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(30)"`,
        onOutput: (t) => {
          if (t.includes('ready')) ac.abort();
        },
        signal: ac.signal,
      });
      const took = Date.now() - t0;
      assert.ok(took >= 1500 && took < 8000, `stopped after ${took} ms (2 s grace)`);
      assert.notEqual(stubborn.exitCode, 0);
    } finally {
      await rt.close();
    }
  });

  void test('unsafe mode: limits apply too, and the cgroup catches daemons that left the process group', async () => {
    const { rt } = runtime({ unsafe: true });
    try {
      const slug = await makeSlug();
      const base = { app: 'limdev', name: 'limdev.run', ...slug, env: {} };
      const res = await rt.runOnce({ ...base, command: ALLOC_300MB, limits: { memoryBytes: 64 * MB } });
      assert.equal(res.oomKilled, true);
      // The pause keeps this about daemons: unsafe placement happens just after spawn (documented race).
      const daemon = await rt.runOnce({
        ...base,
        command: 'sleep 0.3; setsid sleep 1000 & echo "daemon=$!"',
      });
      const pid = Number(/daemon=(\d+)/.exec(daemon.output)?.[1]);
      assert.ok(pid > 0);
      await waitFor('daemon killed', () => !existsSync(`/proc/${pid}`) || undefined);
    } finally {
      await rt.close();
    }
  });
});
