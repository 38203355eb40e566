/**
 * The elastic-app commands (autoscale, ps:sleep/wake, limits, events, cron,
 * run, metrics) against the real API over HTTP, with FakePlatform behind it.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { testApi, type TestApi } from '../api/testing.js';
import type { FakePlatform } from '../api/fake-platform.js';
import { cronJobId } from '../api/fake-jobs.js';
import { main } from './index.js';

const MiB = 1024 ** 2;

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

let t: TestApi;
let platform: FakePlatform;
let env: Record<string, string>;

async function gantry(args: string[], useEnv = env): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from(['']),
    env: useEnv,
    cwd: '/',
  });
  return { code, stdout, stderr };
}

function assertOneErrorLine(r: RunResult, code: number, message: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.match(r.stderr, /^error: [^\n]+\n$/, `one error line, got: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, message);
}

const ok = (r: RunResult): RunResult => {
  assert.equal(r.code, 0, r.stderr);
  return r;
};

const TICK = { schedule: '@hourly', command: 'echo tick' };
const BROKEN = { schedule: '@daily', command: 'exit 4' };

before(async () => {
  t = await testApi();
  platform = t.platform;
  await t.createApp('demo');
  await t.createApp('fresh');
  platform.deployFake('demo', {
    processTypes: { web: 'python app.py', worker: 'python work.py' },
    cron: [TICK, BROKEN],
  });
  await platform.updateConfig('demo', { set: { GREETING: 'hello' } });
  const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GANTRY_URL: url,
    GANTRY_TOKEN: await t.identity.token('admin'),
  };
});
after(() => t.close());

void describe('autoscale, ps:sleep, ps:wake, ps', () => {
  void test('autoscale shows each setting as set or default, the state and replicas', async () => {
    const r = ok(await gantry(['autoscale', '-a', 'demo']));
    assert.match(r.stdout, /^=== demo Autoscaling\n/);
    assert.match(r.stdout, /^State: +awake, 1 web process$/m);
    assert.match(r.stdout, /^Min: +0 \(default\) — sleeps when idle$/m);
    assert.match(r.stdout, /^Max: +none \(default\) — not autoscaled/m);
    assert.match(r.stdout, /^Idle timeout: +15m \(default\)$/m);
    assert.match(r.stdout, /^Affinity: +off \(default\)$/m);
  });

  void test('autoscale:set sends exactly what was given; "none" and "default" reset', async () => {
    const r = ok(
      await gantry([
        'autoscale:set',
        '-a',
        'demo',
        '--min',
        '0',
        '--max',
        '4',
        '--idle-timeout',
        '30m',
        '--affinity',
        'on',
      ]),
    );
    assert.deepEqual(platform.calls.at(-1), {
      method: 'setScaling',
      args: ['demo', { min: 0, max: 4, idleTimeoutMs: 1_800_000, affinity: true }],
    });
    assert.match(r.stdout, /^Max: +4 \(set\) — autoscaled between 1 and 4$/m);
    assert.match(r.stdout, /^Idle timeout: +30m \(set\)$/m);
    assert.match(r.stdout, /^Concurrency: +10 \(default\)/m);

    ok(
      await gantry([
        'autoscale:set',
        '-a',
        'demo',
        '--max',
        'none',
        '--idle-timeout',
        'default',
        '--affinity',
        'default',
      ]),
    );
    assert.deepEqual(platform.calls.at(-1)!.args[1], { max: null, idleTimeoutMs: null, affinity: null });
    const json = JSON.parse(ok(await gantry(['autoscale', '-a', 'demo', '--json'])).stdout);
    assert.deepEqual(json.custom, ['min']);
  });

  void test('autoscale:set: mistakes are usage errors that reach nothing; server refusals one line', async () => {
    const before = platform.calls.length;
    for (const [args, message] of [
      [[], /give at least one of --min/],
      [['--min', 'two'], /--min expects a whole number/],
      [['--max', '0'], /--max expects a whole number from 1/],
      [['--idle-timeout', '15'], /expects a duration like 30s/],
      [['--idle-timeout', 'none'], /set --min 1/],
      [['--idle-timeout', '1ms'], /from 1s to 7d/],
      [['--affinity', 'yes'], /on, off or default/],
      [['--min', '5', '--max', '2'], /must not be above --max/],
    ] as const) {
      assertOneErrorLine(await gantry(['autoscale:set', '-a', 'demo', ...args]), 2, message);
    }
    assert.equal(platform.calls.length, before);
    assertOneErrorLine(
      await gantry(['autoscale:set', '-a', 'demo', '--max', '50']),
      1,
      /^error: at most 10 web processes/,
    );
  });

  void test('ps:scale web on an autoscaled app says to use autoscale:set', async () => {
    ok(await gantry(['autoscale:set', '-a', 'demo', '--max', '3']));
    assertOneErrorLine(
      await gantry(['ps:scale', 'web=2', '-a', 'demo']),
      1,
      /autoscaled \(0–3\).*autoscale:set/,
    );
    ok(await gantry(['autoscale:set', '-a', 'demo', '--max', 'none']));
  });

  void test('ps: type.N, state, restarts, uptime, CPU, memory against its limit; the asleep line', async () => {
    ok(await gantry(['ps:scale', 'worker=1', '-a', 'demo']));
    platform.setUsage('demo', 'demo.web.1', { cpuPercent: 12.345, memoryBytes: 84 * MiB });
    ok(await gantry(['limits:set', 'web', '--memory', '512M', '-a', 'demo']));
    const r = ok(await gantry(['ps', '-a', 'demo']));
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], '=== demo Processes');
    assert.match(lines[1]!, /^Process +State +Release +Restarts +Uptime +CPU +Memory$/);
    assert.match(r.stdout, /^web\.1 +running +v\d +0 +\d+d\d*h? +12\.3% +84 MB \/ 512 MB$/m);
    assert.match(r.stdout, /^worker\.1 +running +v\d +0 +\S+ +1\.5% +84 MB \/ 1 GB$/m);
    assert.doesNotMatch(r.stdout, /asleep/);

    assert.equal(
      ok(await gantry(['ps:sleep', '-a', 'demo'])).stdout,
      'demo is asleep: it wakes on the next request\n',
    );
    const asleep = ok(await gantry(['ps', '-a', 'demo']));
    assert.doesNotMatch(asleep.stdout, /^web\.1/m);
    assert.match(asleep.stdout, /^worker\.1 /m);
    assert.ok(asleep.stdout.endsWith('web: asleep — wakes on the next request\n'), asleep.stdout);
    assert.match(
      ok(await gantry(['autoscale', '-a', 'demo'])).stdout,
      /^State: +asleep — wakes on the next request$/m,
    );
    assert.equal(ok(await gantry(['ps:wake', '-a', 'demo'])).stdout, 'demo is awake, 1 web process\n');
    assertOneErrorLine(await gantry(['ps:sleep', '-a', 'fresh']), 1, /fresh has not been deployed yet/);
    ok(await gantry(['limits:unset', 'web', '-a', 'demo']));
  });
});

void describe('limits', () => {
  void test("limits: per type with the app's own marked, defaults, maxima, enforcement", async () => {
    ok(await gantry(['limits:set', 'worker', '--memory', '256M', '-a', 'demo']));
    const r = ok(await gantry(['limits', '-a', 'demo']));
    assert.match(r.stdout, /^Type +Memory +CPU +PIDs$/m);
    assert.match(r.stdout, /^web +1 GB +unlimited +1024$/m);
    assert.match(r.stdout, /^worker +256 MB \* +unlimited +1024$/m);
    assert.match(r.stdout, /^Defaults: +memory 1 GB, CPU unlimited, PIDs 1024$/m);
    assert.match(r.stdout, /^Maxima: +memory 8 GB, CPU unlimited, PIDs 4096$/m);
    assert.match(r.stdout, /^Enforced: +yes \(cgroup v2\)$/m);

    platform.elastic.capabilities = { enforced: false, cgroup: null, reason: 'no writable cgroup hierarchy' };
    try {
      const off = ok(await gantry(['limits', '-a', 'demo']));
      assert.match(off.stdout, /^Enforced: +no — no writable cgroup hierarchy$/m);
    } finally {
      platform.elastic.capabilities = { enforced: true, cgroup: 'v2' };
    }
  });

  void test('limits:set keeps the limits not named; "default" drops one; limits:unset resets', async () => {
    ok(await gantry(['limits:set', 'worker', '--cpu', '0.5', '--pids', '100', '-a', 'demo']));
    assert.deepEqual(platform.calls.at(-1), {
      method: 'setLimits',
      args: ['demo', 'worker', { memoryBytes: 256 * MiB, cpu: 0.5, pids: 100 }],
    });
    const r = ok(await gantry(['limits:set', 'worker', '--memory', 'default', '-a', 'demo']));
    assert.deepEqual(platform.calls.at(-1)!.args[2], { cpu: 0.5, pids: 100 });
    assert.equal(r.stdout, 'worker processes of demo now run with memory 1 GB, CPU 0.5 cores, PIDs 100\n');
    const unset = ok(await gantry(['limits:unset', 'worker', '-a', 'demo']));
    assert.deepEqual(platform.calls.at(-1), { method: 'setLimits', args: ['demo', 'worker', null] });
    assert.match(unset.stdout, /follow the server defaults: memory 1 GB, CPU unlimited, PIDs 1024/);
  });

  void test('limits:set: mistakes are usage errors; values over the maxima are refused by the server', async () => {
    for (const [args, message] of [
      [['web'], /give at least one of --memory/],
      [['web', '--memory', '512'], /--memory expects a size like 512M/],
      [['web', '--cpu', '0'], /--cpu expects a number of CPU cores/],
      [['Web', '--cpu', '1'], /invalid process type "Web"/],
    ] as const) {
      assertOneErrorLine(await gantry(['limits:set', ...args, '-a', 'demo']), 2, message);
    }
    assertOneErrorLine(
      await gantry(['limits:set', 'web', '--memory', '16G', '-a', 'demo']),
      1,
      /maximum of 8 GB/,
    );
  });
});

void describe('events, metrics', () => {
  void test('events: time, process (type.N), message, newest first', async () => {
    platform.event('demo', 'oom', 'demo.web.1', 'out of memory: web.1 exceeded its 512 MB limit');
    platform.event('demo', 'wake', null, 'awake after 1.2s');
    const r = ok(await gantry(['events', '-a', 'demo', '-n', '2']));
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], '=== demo Events');
    assert.match(lines[1]!, /^Time +Process +Message$/);
    assert.match(lines[3]!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ +— +awake after 1\.2s$/);
    assert.match(
      lines[4]!,
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ +web\.1 +out of memory: web\.1 exceeded its 512 MB limit$/,
    );
    assert.equal(lines.length, 5);
    assertOneErrorLine(await gantry(['events', '-a', 'demo', '-n', '0']), 2, /-n expects a whole number/);
  });

  void test('metrics: the latest sample and twelve rows', async () => {
    const step = 60_000;
    const last = Math.floor(Date.now() / step) * step;
    platform.addMetric('demo', {
      t: last,
      rps: 2.5,
      p50Ms: 12,
      p95Ms: 40,
      errors: 1,
      cpuPercent: 7,
      memoryBytes: 90 * MiB,
      replicas: 1,
    });
    const r = ok(await gantry(['metrics', '-a', 'demo']));
    assert.match(r.stdout, /^=== demo Metrics \(last hour\)\n/);
    assert.match(
      r.stdout,
      /^Latest \(.*\): 2\.5 req\/s, p50 12 ms, p95 40 ms, 1 error, CPU 7\.0%, memory 90 MB, 1 web process$/m,
    );
    const rows = r.stdout.split('\n').filter((l) => /^\d\d:\d\d /.test(l));
    assert.equal(rows.length, 12);
    assert.match(rows.at(-1)!, / 40 ms +1 +/);
    assertOneErrorLine(
      await gantry(['metrics', '-a', 'demo', '--range', '7d']),
      2,
      /--range expects 1h or 24h/,
    );
  });
});

void describe('cron', () => {
  const tick = cronJobId(TICK.schedule, TICK.command);
  const broken = cronJobId(BROKEN.schedule, BROKEN.command);

  void test("cron lists jobs; cron:run streams output and exits with the job's code; --runs is the history", async () => {
    const list = ok(await gantry(['cron', '-a', 'demo']));
    assert.match(list.stdout, /^ID +Schedule +Command +Next run +Last run$/m);
    assert.match(list.stdout, new RegExp(`^${tick} +@hourly +echo tick +in \\S+ +—$`, 'm'));

    const run = await gantry(['cron:run', tick, '-a', 'demo']);
    assert.deepEqual(run, { code: 0, stdout: 'tick\n', stderr: '' });
    const failed = await gantry(['cron:run', broken, '-a', 'demo']);
    assert.deepEqual(failed, { code: 4, stdout: '', stderr: '' });

    const after = ok(await gantry(['cron', '-a', 'demo']));
    assert.match(
      after.stdout,
      new RegExp(`^${broken} +@daily +exit 4 +in \\S+ +failed \\(exit 4\\) \\d+s ago$`, 'm'),
    );
    const runs = ok(await gantry(['cron', '-a', 'demo', '--runs']));
    assert.match(runs.stdout, /^Run +Job +Trigger +Status +Exit +Started +Took +Command$/m);
    const rows = runs.stdout.split('\n').filter((l) => /^r\d /.test(l));
    assert.equal(rows.length, 2);
    assert.match(rows[0]!, new RegExp(`^r2 +${broken} +manual +failed +4 `));
    const one = ok(await gantry(['cron', '-a', 'demo', '--runs', tick]));
    assert.equal(one.stdout.split('\n').filter((l) => /^r\d /.test(l)).length, 1);
  });

  void test('cron:run of an unknown or malformed job id', async () => {
    assertOneErrorLine(
      await gantry(['cron:run', 'abcdef12', '-a', 'demo']),
      1,
      /demo has no cron job abcdef12/,
    );
    assertOneErrorLine(await gantry(['cron:run', '../x', '-a', 'demo']), 2, /not a cron job id/);
  });
});

void describe('run', () => {
  void test('streams output and exits 0; the argv after -- reaches the platform as it is', async () => {
    const r = await gantry(['run', '-a', 'demo', '--', 'echo', 'hello', '$(touch /tmp/pwned)', '-n']);
    assert.deepEqual(r, { code: 0, stdout: 'hello $(touch /tmp/pwned) -n\n', stderr: '' });
    assert.deepEqual(platform.calls.at(-1), {
      method: 'runCommand',
      args: ['demo', ['echo', 'hello', '$(touch /tmp/pwned)', '-n']],
    });
    assert.deepEqual(await gantry(['run', '-a', 'demo', 'seq', '3']), {
      code: 0,
      stdout: '1\n2\n3\n',
      stderr: '',
    });
    assert.equal((await gantry(['run', '-a', 'demo', '--', 'printenv', 'GREETING'])).stdout, 'hello\n');
    // Without --, options after the command are the command's.
    ok(await gantry(['run', '-a', 'demo', 'echo', '-a', 'x']));
    assert.deepEqual(platform.calls.at(-1)!.args[1], ['echo', '-a', 'x']);
  });

  void test("exits with the command's exit code, 128 + the signal number when killed", async () => {
    assert.deepEqual(await gantry(['run', '-a', 'demo', '--', 'exit', '3']), {
      code: 3,
      stdout: '',
      stderr: '',
    });
    assert.deepEqual(await gantry(['run', '-a', 'demo', '--', 'nope']), {
      code: 127,
      stdout: 'sh: 1: nope: not found\n',
      stderr: '',
    });
    assert.deepEqual(await gantry(['run', '-a', 'demo', '--', 'kill', 'SIGKILL']), {
      code: 137,
      stdout: '',
      stderr: 'killed by SIGKILL\n',
    });
  });

  void test('failures are one error line: not deployed, unknown app, no command', async () => {
    assertOneErrorLine(
      await gantry(['run', '-a', 'fresh', '--', 'ls']),
      1,
      /^error: fresh has not been deployed yet: nothing to run$/m,
    );
    assertOneErrorLine(await gantry(['run', '-a', 'ghost', '--', 'ls']), 1, /^error: app ghost not found$/m);
    const none = await gantry(['run', '-a', 'demo']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /missing required argument 'command'/);
  });
});

void describe('run against a server that splits its stream', () => {
  let server: Server;
  let streamEnv: Record<string, string>;
  /** What the server sends, as separate writes with a pause between them. */
  let chunks: Buffer[] = [];

  before(async () => {
    server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const send = async () => {
        for (const c of chunks) {
          res.write(c);
          await new Promise((r) => setTimeout(r, 5));
        }
        res.end();
      };
      send().catch((err: unknown) => res.destroy(err as Error));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    streamEnv = { ...env, GANTRY_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Cuts `text` into pieces at the given byte offsets. */
  const cut = (text: string, at: number[]): Buffer[] => {
    const b = Buffer.from(text);
    return [0, ...at].map((from, i) => b.subarray(from, [...at, b.length][i]));
  };

  void test('lines and UTF-8 characters split across chunks come out whole; the exit code passes', async () => {
    const text = '{"output":"ünïcødé ✓\\n"}\n{"output":"two\\n"}\n{"exit":{"code":42,"signal":null}}\n';
    // Inside "ü" (2 bytes), inside "✓" (3 bytes), inside a line, between "}" and "\n".
    const ü = Buffer.from(text).indexOf(Buffer.from('ü'));
    const check = Buffer.from(text).indexOf(Buffer.from('✓'));
    chunks = cut(text, [ü + 1, check + 2, text.indexOf('two') + 4, Buffer.from(text).lastIndexOf('}')]);
    assert.equal(chunks.length, 5);
    const r = await gantry(['run', '-a', 'demo', '--', 'x'], streamEnv);
    assert.deepEqual(r, { code: 42, stdout: 'ünïcødé ✓\ntwo\n', stderr: '' });
  });

  void test('a stream cut before its outcome, or ending in an error line, fails with one line', async () => {
    chunks = [Buffer.from('{"output":"partial\\n"}\n{"outp')];
    const cutShort = await gantry(['run', '-a', 'demo', '--', 'x'], streamEnv);
    assert.equal(cutShort.stdout, 'partial\n');
    assertOneErrorLine(cutShort, 1, /connection ended before the command finished/);

    chunks = [
      Buffer.from('{"error":{"code":"GANTRY_SANDBOX_UNAVAILABLE","message":"bubblewrap is missing"}}\n'),
    ];
    assertOneErrorLine(
      await gantry(['run', '-a', 'demo', '--', 'x'], streamEnv),
      1,
      /^error: bubblewrap is missing$/m,
    );
  });
});
