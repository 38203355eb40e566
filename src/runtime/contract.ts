/**
 * The runtime contract suite: every backend (local, docker, kubernetes —
 * the latter two against faithful fakes) runs these same tests, as hono runs
 * every router through one common case file. A backend passes `create` (a
 * fresh runtime wired to the given log sink, with fast restart backoff:
 * ~100 ms initial) and `makeSlug` (turns files into a slug the backend can run).
 *
 * The test app is a tiny python3 HTTP server (`server.py`) that reports its
 * instance id and environment, can kill itself with SIGKILL (`/die`), and
 * writes /data/terminated-INSTANCE when it receives SIGTERM.
 */
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeploymentSpec, LogLine, LogSink, ProcessStatus, Runtime, RuntimeEvent } from './types.js';

export interface ContractOptions {
  name: string;
  create: (ctx: { logSink: LogSink }) => Promise<Runtime> | Runtime;
  makeSlug: (files: Record<string, string>) => Promise<{ slugPath: string; dataPath: string; uid: number }>;
}

export { SERVER_PY, httpGet, waitFor, type HttpReply } from './contract-helpers.js';
import { SERVER_PY, httpGet, waitFor, type AppInfo } from './contract-helpers.js';

async function getInfo(p: ProcessStatus): Promise<AppInfo> {
  const r = await httpGet(p.host, p.port!);
  assert.equal(r.status, 200);
  return JSON.parse(r.body) as AppInfo;
}

/** Waits until every listed web process of `app` answers, returns the statuses. */
async function waitAnswering(rt: Runtime, app: string, count: number): Promise<ProcessStatus[]> {
  return waitFor(`${count} answering web processes of ${app}`, async () => {
    const ps = rt.list(app).filter((p) => p.type === 'web' && p.state === 'running');
    if (ps.length !== count) return undefined;
    for (const p of ps) await getInfo(p);
    return ps;
  });
}

async function refused(host: string, port: number): Promise<boolean> {
  try {
    await httpGet(host, port, '/', 500);
    return false;
  } catch {
    return true;
  }
}

let seq = 0;

export function runRuntimeContract(opts: ContractOptions): void {
  void describe(`runtime contract: ${opts.name}`, () => {
    let rt: Runtime | undefined;
    let logs: LogLine[] = [];
    let events: RuntimeEvent[] = [];

    async function setup(): Promise<Runtime> {
      logs = [];
      events = [];
      rt = await opts.create({ logSink: (l) => logs.push(l) });
      rt.onEvent((e) => events.push(e));
      return rt;
    }

    async function deployment(
      processes: DeploymentSpec['processes'],
      env: Record<string, string> = {},
      files: Record<string, string> = { 'server.py': SERVER_PY },
    ): Promise<DeploymentSpec> {
      const slug = await opts.makeSlug(files);
      const app = `ct${process.pid % 1000}x${++seq}`;
      return { id: `${app}@v1`, app, release: 1, ...slug, env, processes };
    }

    const web = (count: number, command = 'python3 server.py') => ({
      type: 'web',
      command,
      count,
      web: true,
    });

    void afterEach(async () => {
      await rt?.close();
      rt = undefined;
    });
    void after(async () => {
      await rt?.close();
    });

    void test('apply starts N web processes that answer on their PORT, with env vars and named log lines', async () => {
      const r = await setup();
      const spec = await deployment([web(2)], { GREETING: 'hello $(touch /tmp/pwned); id' });
      await r.apply(spec);
      const ps = await waitAnswering(r, spec.app, 2);
      assert.deepEqual(ps.map((p) => p.name).sort(), [`${spec.app}.web.1`, `${spec.app}.web.2`]);
      assert.notEqual(ps[0]!.port, ps[1]!.port);
      for (const p of ps) {
        const info = await getInfo(p);
        assert.equal(info.port, p.port);
        assert.equal(info.greeting, 'hello $(touch /tmp/pwned); id');
        assert.equal(p.deployment, spec.id);
        assert.equal(p.release, 1);
        assert.equal(p.restarts, 0);
      }
      await waitFor('log lines', () =>
        ps.every((p) =>
          logs.some(
            (l) => l.process === p.name && l.stream === 'stdout' && l.text === `listening on ${p.port}`,
          ),
        ),
      );
      assert.ok(
        logs.some(
          (l) =>
            l.process === `${spec.app}.web.1` && l.stream === 'system' && /Starting process/.test(l.text),
        ),
      );
      assert.ok(events.some((e) => e.kind === 'start' && e.process === `${spec.app}.web.1`));
      // Applying the same spec again changes nothing.
      await r.apply(spec);
      assert.deepEqual(
        r
          .list(spec.app)
          .map((p) => p.pid)
          .sort(),
        ps.map((p) => p.pid).sort(),
      );
    });

    void test('scales up and down through apply, surplus stopped highest index first', async () => {
      const r = await setup();
      const spec = await deployment([
        web(1),
        { type: 'worker', command: 'sleep 1000', count: 1, web: false },
      ]);
      await r.apply(spec);
      const [first] = await waitAnswering(r, spec.app, 1);
      await r.apply({
        ...spec,
        processes: [web(3), { type: 'worker', command: 'sleep 1000', count: 0, web: false }],
      });
      const three = await waitAnswering(r, spec.app, 3);
      assert.deepEqual(three.map((p) => p.index).sort(), [1, 2, 3]);
      assert.equal(r.list(spec.app).filter((p) => p.type === 'worker').length, 0);
      await r.apply({ ...spec, processes: [web(1)] });
      const one = r.list(spec.app);
      assert.equal(one.length, 1);
      assert.equal(one[0]!.name, `${spec.app}.web.1`);
      assert.equal(one[0]!.pid, first!.pid, 'the remaining process was left alone');
      for (const p of three.filter((x) => x.index > 1)) assert.ok(await refused(p.host, p.port!));
    });

    void test('worker processes run without a PORT', async () => {
      const r = await setup();
      const spec = await deployment([
        { type: 'worker', command: 'echo "port=[${PORT:-none}]"; sleep 1000', count: 1, web: false },
      ]);
      await r.apply(spec);
      await waitFor('worker output', () =>
        logs.some((l) => l.process === `${spec.app}.worker.1` && l.text === 'port=[none]'),
      );
      const [w] = r.list(spec.app);
      assert.equal(w!.port, undefined);
      assert.equal(w!.state, 'running');
    });

    void test('a process killed with SIGKILL comes back by itself', async () => {
      const r = await setup();
      const spec = await deployment([web(1)]);
      await r.apply(spec);
      const [p] = await waitAnswering(r, spec.app, 1);
      const before = await getInfo(p!);
      await httpGet(p!.host, p!.port!, '/die').catch(() => undefined);
      const crashed = await waitFor('crash event', () => events.find((e) => e.kind === 'crash'));
      assert.equal(crashed.process, `${spec.app}.web.1`);
      const back = await waitFor('restarted process', async () => {
        const [q] = r.list(spec.app);
        if (!q || q.restarts < 1 || q.state !== 'running') return undefined;
        const info = await getInfo(q);
        return info.instance !== before.instance ? q : undefined;
      });
      assert.equal(back.restarts, 1);
      assert.ok(back.lastExit, 'last exit recorded');
      assert.ok(events.some((e) => e.kind === 'restart'));
    });

    void test('a process that exits at once is reported crashed and retried with growing delays', async () => {
      const r = await setup();
      const spec = await deployment([{ type: 'worker', command: 'echo boom; exit 3', count: 1, web: false }]);
      await r.apply(spec);
      const crashed = await waitFor('crashed state', () =>
        r.list(spec.app).find((p) => p.state === 'crashed' && p.nextRestartAt),
      );
      assert.equal(crashed.lastExit?.code, 3);
      await waitFor('4 restarts', () => events.filter((e) => e.kind === 'restart').length >= 4, 20_000);
      const t = events.filter((e) => e.kind === 'restart').map((e) => e.time.getTime());
      const gap1 = t[1]! - t[0]!;
      const gap3 = t[3]! - t[2]!;
      assert.ok(gap3 > gap1 * 1.5, `delays grow: ${gap1} ms then ${gap3} ms`);
      assert.ok(logs.some((l) => l.text === 'boom' && l.process === `${spec.app}.worker.1`));
      assert.ok(logs.some((l) => l.stream === 'system' && /exited with status 3/.test(l.text)));
      assert.ok(r.list(spec.app)[0]!.restarts >= 4);
    });

    void test('remove delivers SIGTERM, waits for the app to finish, and stops everything', async () => {
      const r = await setup();
      const spec = await deployment([web(2)]);
      await r.apply(spec);
      const ps = await waitAnswering(r, spec.app, 2);
      const instances = await Promise.all(ps.map(async (p) => (await getInfo(p)).instance));
      const t0 = Date.now();
      await r.remove(spec.id, { graceMs: 10_000 });
      const took = Date.now() - t0;
      assert.ok(took < 5000, `graceful stop took ${took} ms (SIGKILL after the grace period?)`);
      assert.deepEqual(r.list(spec.app), []);
      for (const p of ps) assert.ok(await refused(p.host, p.port!), `port ${p.port} still answers`);
      for (const id of instances) {
        assert.equal(await readFile(join(spec.dataPath, `terminated-${id}`), 'utf8'), 'SIGTERM');
      }
      assert.ok(events.some((e) => e.kind === 'stop' && e.process === `${spec.app}.web.1`));
      assert.ok(!events.some((e) => e.kind === 'crash'), 'a requested stop is not a crash');
      await r.remove(spec.id); // idempotent
    });

    void test('a plain python3 -m http.server stops quickly on remove', async () => {
      const r = await setup();
      const spec = await deployment(
        [web(1, 'python3 -m http.server --bind 127.0.0.1 $PORT')],
        {},
        { 'index.html': 'hi' },
      );
      await r.apply(spec);
      const [p] = await waitFor('http.server', async () => {
        const ps = r.list(spec.app).filter((x) => x.state === 'running');
        if (ps.length !== 1) return undefined;
        const res = await httpGet(ps[0]!.host, ps[0]!.port!, '/index.html');
        return res.body === 'hi' ? ps : undefined;
      });
      const t0 = Date.now();
      await r.remove(spec.id, { graceMs: 10_000 });
      assert.ok(Date.now() - t0 < 3000, `stop took ${Date.now() - t0} ms`);
      assert.ok(await refused(p!.host, p!.port!));
    });

    void test('a process ignoring SIGTERM is killed after the grace period', async () => {
      const r = await setup();
      const spec = await deployment([
        { type: 'worker', command: "trap '' TERM; while true; do sleep 0.1; done", count: 1, web: false },
      ]);
      await r.apply(spec);
      await waitFor('running', () => r.list(spec.app)[0]?.state === 'running');
      const t0 = Date.now();
      await r.remove(spec.id, { graceMs: 600 });
      const took = Date.now() - t0;
      assert.ok(took >= 500 && took < 4000, `stopped after ${took} ms`);
      assert.deepEqual(r.list(spec.app), []);
    });

    void test('restart replaces every process, a web type without a gap', async () => {
      const r = await setup();
      const spec = await deployment([
        web(1),
        { type: 'worker', command: 'sleep 1000', count: 1, web: false },
      ]);
      await r.apply(spec);
      const ps = await waitAnswering(r, spec.app, 1);
      const before = (await getInfo(ps[0]!)).instance;
      const worker = r.list(spec.app).find((p) => p.type === 'worker')!;
      // Meanwhile, something listed must answer at every moment (what the router would see).
      let polling = true;
      let gaps = 0;
      let polls = 0;
      const answered = async (): Promise<boolean> => {
        const candidates = r.list(spec.app).filter((p) => p.type === 'web' && p.port !== undefined);
        const answers = await Promise.all(
          candidates.map((p) =>
            httpGet(p.host, p.port!, '/', 1000).then(
              () => true,
              () => false,
            ),
          ),
        );
        return answers.some(Boolean);
      };
      const poller = (async () => {
        while (polling) {
          polls++;
          // A snapshot can go stale while its requests are in flight (the new process began
          // listening, the old one was told to stop): like the router, look again at once.
          // A real gap fails both looks.
          if (!(await answered()) && !(await answered())) gaps++;
          await new Promise((res) => setTimeout(res, 10));
        }
      })();
      try {
        await r.restart(spec.id);
      } finally {
        polling = false;
        await poller;
      }
      assert.ok(polls >= 3, `polled ${polls} times`);
      assert.equal(gaps, 0, 'no web process answered during the restart');
      const after1 = await waitAnswering(r, spec.app, 1);
      assert.equal(r.list(spec.app).length, 2);
      assert.notEqual((await getInfo(after1[0]!)).instance, before, 'a new web process');
      // The old one stopped gracefully.
      assert.equal(await readFile(join(spec.dataPath, `terminated-${before}`), 'utf8'), 'SIGTERM');
      const worker2 = r.list(spec.app).find((p) => p.type === 'worker')!;
      assert.ok(
        events.some((e) => e.kind === 'stop' && e.process === worker.name),
        'the worker was restarted too',
      );
      assert.equal(worker2.state, 'running');
    });

    void test('runOnce returns output and exit code, streams output, honours a timeout', async () => {
      const r = await setup();
      const spec = await deployment([]);
      const chunks: string[] = [];
      const base = { app: spec.app, slugPath: spec.slugPath, dataPath: spec.dataPath, uid: spec.uid };
      const res = await r.runOnce({
        ...base,
        name: `${spec.app}.release`,
        env: { WHO: 'release; $(id)' },
        command: 'echo "who=$WHO"; echo oops >&2; test -z "$PORT" && touch /data/ran; exit 7',
        onOutput: (t) => chunks.push(t),
      });
      assert.equal(res.exitCode, 7);
      assert.match(res.output, /who=release; \$\(id\)/);
      assert.match(res.output, /oops/);
      assert.match(chunks.join(''), /who=release/);
      await readFile(join(spec.dataPath, 'ran'));
      assert.ok(
        logs.some((l) => l.process === `${spec.app}.release` && l.stream === 'stderr' && l.text === 'oops'),
      );
      const t0 = Date.now();
      const slow = await r.runOnce({
        ...base,
        name: `${spec.app}.run`,
        env: {},
        command: 'sleep 30',
        timeoutMs: 300,
      });
      assert.ok(Date.now() - t0 < 5000);
      assert.notEqual(slow.exitCode, 0);
    });

    void test('capabilities say whether limits hold; limits are echoed and usage is sampled', async () => {
      const r = await setup();
      const caps = r.capabilities();
      assert.equal(caps.cgroup === null, !caps.limits);
      if (!caps.limits) assert.ok(caps.reason, 'says why limits are not enforced');
      const limits = { memoryBytes: 256 * 1024 * 1024, cpu: 1, pids: 200 };
      const spec = await deployment([{ ...web(1), limits }]);
      await r.apply(spec);
      await waitAnswering(r, spec.app, 1);
      const p = await waitFor(
        'a usage sample',
        () => r.list(spec.app).find((q) => q.usage !== undefined),
        20_000,
      );
      const usage = p.usage!;
      assert.ok(usage.memoryBytes > 1024 * 1024, `python uses ${usage.memoryBytes} bytes?`);
      assert.ok(usage.memoryBytes < limits.memoryBytes);
      assert.ok(usage.cpuPercent >= 0 && usage.cpuPercent <= 400, `cpu ${usage.cpuPercent}%`);
      assert.ok(usage.at instanceof Date);
      if (caps.limits) {
        assert.ok(p.limits && Object.keys(p.limits).length > 0, 'enforced limits are listed');
        for (const [k, v] of Object.entries(p.limits)) assert.equal(v, limits[k as keyof typeof limits]);
      } else assert.equal(p.limits, undefined);
      assert.equal(p.oomKills ?? 0, 0);
    });

    void test('runOnce stops the command when its signal aborts', async () => {
      const r = await setup();
      const spec = await deployment([]);
      const ac = new AbortController();
      const t0 = Date.now();
      const res = await r.runOnce({
        app: spec.app,
        name: `${spec.app}.run`,
        slugPath: spec.slugPath,
        dataPath: spec.dataPath,
        uid: spec.uid,
        env: {},
        command: 'echo started; sleep 30',
        onOutput: (t) => {
          if (t.includes('started')) ac.abort();
        },
        signal: ac.signal,
      });
      assert.ok(Date.now() - t0 < 6000, `stopped after ${Date.now() - t0} ms`);
      assert.notEqual(res.exitCode, 0);
      assert.match(res.output, /started/);
      assert.ok(!res.oomKilled);
    });
  });
}
