import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GantryError } from '../errors/index.js';
import { testApi, type TestApi } from './testing.js';
import { FakePlatform } from './fake-platform.js';
import { cronJobId } from './fake-jobs.js';
import type { OutputSink } from './platform.js';

/** Fails the way a platform can once a run has started. */
class FailingPlatform extends FakePlatform {
  override async runCommand(app: string, argv: string[], output: OutputSink, signal?: AbortSignal) {
    if (argv[0] !== 'domain-error' && argv[0] !== 'bug') return super.runCommand(app, argv, output, signal);
    output('starting\n');
    if (argv[0] === 'domain-error')
      throw new GantryError('GANTRY_SANDBOX_UNAVAILABLE', 'bubblewrap is missing');
    throw new Error('secret detail /etc/shadow');
  }
}

let t: TestApi;
let base: string;
let auth: Record<string, string>;
let platform: FakePlatform;

const HOURLY = { schedule: '@hourly', command: 'echo tick' };
const SLOW = { schedule: '*/5 * * * *', command: 'sleep 60' };
const FAILING = { schedule: '@daily', command: 'exit 4' };

before(async () => {
  t = await testApi((records) => new FailingPlatform({ records }));
  ({ platform, auth } = t);
  await t.createApp('demo');
  await t.createApp('fresh');
  platform.deployFake('demo', { cron: [HOURLY, SLOW, FAILING] });
  await platform.updateConfig('demo', { set: { GREETING: 'hello' } });
  base = await t.app.listen({ host: '127.0.0.1', port: 0 });
});
after(() => t.close());

const post = (path: string, body?: unknown, signal?: AbortSignal) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });

/** The reply's NDJSON lines, parsed; also checks that each line is one JSON object. */
async function lines(res: Response): Promise<Record<string, unknown>[]> {
  const text = await res.text();
  assert.ok(text.endsWith('\n'), `ends with a newline: ${JSON.stringify(text)}`);
  return text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

void describe('POST /apps/:app/run', () => {
  void test('streams output chunks as NDJSON, then the exit status', async () => {
    const res = await post('/api/apps/demo/run', { command: ['seq', '3'] });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson; charset=utf-8');
    assert.deepEqual(await lines(res), [
      { output: '1\n' },
      { output: '2\n' },
      { output: '3\n' },
      { exit: { code: 0, signal: null } },
    ]);
    assert.deepEqual(platform.calls.at(-1), { method: 'runCommand', args: ['demo', ['seq', '3']] });
  });

  void test("the command's exit code and signal are passed through; it sees the app's config", async () => {
    assert.deepEqual(await lines(await post('/api/apps/demo/run', { command: ['exit', '3'] })), [
      { exit: { code: 3, signal: null } },
    ]);
    assert.deepEqual(await lines(await post('/api/apps/demo/run', { command: ['kill', 'SIGKILL'] })), [
      { exit: { code: null, signal: 'SIGKILL' } },
    ]);
    assert.deepEqual(await lines(await post('/api/apps/demo/run', { command: ['printenv', 'GREETING'] })), [
      { output: 'hello\n' },
      { exit: { code: 0, signal: null } },
    ]);
  });

  void test('the audit log records who ran which program, never its arguments', async () => {
    await lines(await post('/api/apps/demo/run', { command: ['echo', 'PASSWORD=hunter2'] }));
    const [last] = await t.identity.directory.listAudit({ action: 'app.run', limit: 1 });
    assert.equal(last!.actor, 'admin');
    assert.equal(last!.target, 'app:demo');
    assert.deepEqual(last!.detail, { command: 'echo' });
    assert.doesNotMatch(JSON.stringify(await t.identity.directory.listAudit({ limit: 100 })), /hunter2/);
  });

  void test('what can be refused before streaming gets a real status', async () => {
    const before = platform.calls.length;
    const cases: [unknown, number, RegExp][] = [
      [{}, 400, /command is required/],
      [{ command: [] }, 400, /command/],
      [{ command: 'ls -la' }, 400, /array of strings/],
      [{ command: [''] }, 400, /first word is empty/],
      [{ command: ['echo', 'a\u0000b'] }, 400, /NUL/],
      [{ command: Array.from({ length: 257 }, () => 'x') }, 400, /command/],
      [{ command: ['echo', 'x'.repeat(40_000), 'y'.repeat(40_000)] }, 400, /longer than 65536 bytes/],
    ];
    for (const [body, status, message] of cases) {
      const res = await post('/api/apps/demo/run', body);
      const err = ((await res.json()) as { error: { message: string } }).error;
      assert.equal(res.status, status, `${JSON.stringify(body).slice(0, 60)}: ${err.message}`);
      assert.match(err.message, message);
    }
    const fresh = await post('/api/apps/fresh/run', { command: ['ls'] });
    assert.equal(fresh.status, 409);
    assert.equal(((await fresh.json()) as { error: { code: string } }).error.code, 'GANTRY_NO_RELEASE');
    assert.equal((await post('/api/apps/ghost/run', { command: ['ls'] })).status, 404);
    assert.equal(platform.calls.length, before, 'nothing reached the platform');
  });

  void test('a failure after the start is the last line: domain errors as they are, bugs generic', async () => {
    assert.deepEqual(await lines(await post('/api/apps/demo/run', { command: ['domain-error'] })), [
      { output: 'starting\n' },
      { error: { code: 'GANTRY_SANDBOX_UNAVAILABLE', message: 'bubblewrap is missing' } },
    ]);
    assert.deepEqual(await lines(await post('/api/apps/demo/run', { command: ['bug'] })), [
      { output: 'starting\n' },
      { error: { code: 'GANTRY_INTERNAL', message: 'internal error (see server log)' } },
    ]);
  });

  void test('a client that disconnects stops the command', async () => {
    const abort = new AbortController();
    const res = await post('/api/apps/demo/run', { command: ['sleep', '60'] }, abort.signal);
    assert.equal(res.status, 200, 'the status comes before any output');
    await until('the run to start', () => platform.jobs.running === 1);
    abort.abort();
    await res.body?.cancel().catch(() => undefined);
    await until('the run to stop', () => platform.jobs.running === 0);
    assert.deepEqual(platform.jobs.lastRunExit, { exitCode: null, signal: 'SIGTERM' });
  });
});

void describe('cron', () => {
  const hourly = cronJobId(HOURLY.schedule, HOURLY.command);
  const slow = cronJobId(SLOW.schedule, SLOW.command);
  const failing = cronJobId(FAILING.schedule, FAILING.command);

  void test('jobs list with next run; running one streams its output and ends with the run record', async () => {
    const jobs = (await (await fetch(`${base}/api/apps/demo/cron`, { headers: auth })).json()) as {
      jobs: { id: string; schedule: string; nextRunAt: string; lastRun: unknown }[];
    };
    assert.deepEqual(
      jobs.jobs.map((j) => [j.id, j.schedule, j.lastRun]),
      [
        [hourly, '@hourly', null],
        [slow, '*/5 * * * *', null],
        [failing, '@daily', null],
      ],
    );
    assert.ok(Date.parse(jobs.jobs[0]!.nextRunAt) > Date.now());

    const out = await lines(await post(`/api/apps/demo/cron/${hourly}/run`));
    assert.deepEqual(out[0], { output: 'tick\n' });
    const { run } = out[1] as { run: Record<string, unknown> };
    assert.equal(out.length, 2);
    assert.equal(run.jobId, hourly);
    assert.equal(run.status, 'succeeded');
    assert.equal(run.exitCode, 0);
    assert.equal(run.trigger, 'manual');
    assert.equal(run.output, undefined, 'the output is not sent twice');

    const failed = await lines(await post(`/api/apps/demo/cron/${failing}/run`));
    assert.deepEqual(
      [
        (failed[0] as { run: { status: string; exitCode: number } }).run.status,
        (failed[0] as { run: { exitCode: number } }).run.exitCode,
      ],
      ['failed', 4],
    );
    const [audit] = await t.identity.directory.listAudit({ action: 'app.cron.run', limit: 1 });
    assert.deepEqual(audit!.detail, { job: failing });
  });

  void test('history: newest first, per job, without output', async () => {
    const get = async (q: string) =>
      (
        (await (await fetch(`${base}/api/apps/demo/cron/runs${q}`, { headers: auth })).json()) as {
          runs: { jobId: string; status: string; output?: string }[];
        }
      ).runs;
    const all = await get('');
    assert.deepEqual(
      all.map((r) => [r.jobId, r.status]),
      [
        [failing, 'failed'],
        [hourly, 'succeeded'],
      ],
    );
    assert.ok(all.every((r) => r.output === undefined));
    assert.deepEqual(
      (await get(`?job=${hourly}`)).map((r) => r.jobId),
      [hourly],
    );
    assert.equal((await get('?limit=1')).length, 1);
    assert.equal((await fetch(`${base}/api/apps/demo/cron/runs?job=../x`, { headers: auth })).status, 400);
  });

  void test('unknown jobs 404, bad ids 400, a running job 409, an undeployed app 409', async () => {
    assert.equal((await post('/api/apps/demo/cron/abcdef12/run')).status, 404);
    assert.equal((await post('/api/apps/demo/cron/$(id)/run')).status, 400);
    assert.equal((await post(`/api/apps/fresh/cron/${hourly}/run`)).status, 409);

    const abort = new AbortController();
    const first = await post(`/api/apps/demo/cron/${slow}/run`, undefined, abort.signal);
    assert.equal(first.status, 200);
    await until('the job to start', () => platform.jobs.running === 1);
    const second = await post(`/api/apps/demo/cron/${slow}/run`);
    assert.equal(second.status, 409);
    assert.match(((await second.json()) as { error: { message: string } }).error.message, /running already/);
    abort.abort();
    await first.body?.cancel().catch(() => undefined);
    await until('the job to stop', () => platform.jobs.running === 0);
    const [last] = await platform.listCronRuns('demo', { jobId: slow, limit: 1 });
    assert.equal(last!.status, 'failed', 'stopped by the disconnect');
  });
});
