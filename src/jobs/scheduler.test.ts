import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../log/index.js';
import { isGantryError } from '../errors/index.js';
import type { CronEntry } from '../apps/index.js';
import { jobId } from './cron.js';
import { CronHistory, INTERRUPTED_MESSAGE } from './history.js';
import { CronScheduler } from './scheduler.js';
import type { JobRunRequest, JobRunResult } from './runner.js';
import { testStore } from './testing.js';

const EVERY_MINUTE: CronEntry = { command: 'python3 tick.py', schedule: '* * * * *' };
const HOURLY: CronEntry = { command: 'python3 report.py', schedule: '@hourly' };
const T0 = Date.parse('2024-03-01T00:00:30Z');

async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A JobRunner whose runs end when the test says so. */
function fakeRunner() {
  const calls: (JobRunRequest & { finish: (r: Partial<JobRunResult>) => void; fail: (e: Error) => void })[] =
    [];
  const runner = (req: JobRunRequest): Promise<JobRunResult> =>
    new Promise((resolve, reject) => {
      calls.push({
        ...req,
        finish: (r) => resolve({ exitCode: 0, signal: null, output: '', ...r }),
        fail: reject,
      });
    });
  return { calls, runner };
}

async function setup(t: TestContext, opts: { timeoutMs?: number; now?: () => number } = {}) {
  const { db, createApp } = await testStore(t);
  const appId = await createApp('sales');
  const clock = { now: T0 };
  const now = opts.now ?? (() => clock.now);
  const history = new CronHistory(db, { now });
  const { calls, runner } = fakeRunner();
  const events: string[] = [];
  const cron = new CronScheduler({
    history,
    runner,
    logger: silentLogger,
    now,
    timeoutMs: opts.timeoutMs,
    onEvent: (app, message) => events.push(`${app}: ${message}`),
  });
  t.after(async () => {
    for (const c of calls) c.finish({});
    await cron.close();
  });
  const runs = (job?: string) => history.list(appId, { jobId: job, limit: 100 });
  const statusOf = async (job: string) => (await runs(job)).map((r) => r.status);
  return { db, appId, clock, history, calls, events, cron, runs, statusOf, createApp };
}

const minute = (m: number): number => Date.parse('2024-03-01T00:00:00Z') + m * 60_000;

void test('due jobs run on tick with the app, command and name; jobs() shows next and last runs', async (t) => {
  const { appId, clock, calls, cron, statusOf } = await setup(t);
  const id = jobId(EVERY_MINUTE);
  cron.setJobs('sales', appId, [EVERY_MINUTE, HOURLY]);
  await cron.start();
  const before = await cron.jobs('sales');
  assert.deepEqual(before, [
    { id, ...EVERY_MINUTE, nextRunAt: '2024-03-01T00:01:00.000Z', lastRun: null },
    { id: jobId(HOURLY), ...HOURLY, nextRunAt: '2024-03-01T01:00:00.000Z', lastRun: null },
  ]);

  clock.now = minute(1) - 1;
  await cron.tick();
  assert.equal(calls.length, 0, 'not due yet');
  clock.now = minute(1);
  await cron.tick();
  assert.equal(calls.length, 1);
  const call = calls[0]!;
  assert.deepEqual(
    { app: call.app, appId: call.appId, command: call.command, name: call.name },
    { app: 'sales', appId, command: 'python3 tick.py', name: `sales.cron.${id}` },
  );
  assert.deepEqual(await statusOf(id), ['running']);
  clock.now = minute(1) + 2000;
  call.finish({ exitCode: 0, output: 'ticked\n' });
  await waitFor('run recorded', async () => (await statusOf(id))[0] === 'succeeded');

  const [job, hourly] = await cron.jobs('sales');
  assert.equal(job!.nextRunAt, '2024-03-01T00:02:00.000Z');
  assert.deepEqual(
    { ...job!.lastRun, id: undefined },
    {
      id: undefined,
      jobId: id,
      ...EVERY_MINUTE,
      trigger: 'schedule',
      status: 'succeeded',
      startedAt: '2024-03-01T00:01:00.000Z',
      finishedAt: '2024-03-01T00:01:02.000Z',
      exitCode: 0,
    },
  );
  assert.equal(hourly!.lastRun, null);
  assert.deepEqual(await cron.jobs('other'), []);
});

void test('no overlap: a run due while the previous one runs is skipped and reported', async (t) => {
  const { appId, clock, calls, events, cron, statusOf } = await setup(t);
  const id = jobId(EVERY_MINUTE);
  cron.setJobs('sales', appId, [EVERY_MINUTE]);
  clock.now = minute(1);
  await cron.tick();
  clock.now = minute(2);
  await cron.tick();
  clock.now = minute(3);
  await cron.tick();
  assert.equal(calls.length, 1, 'one process at a time');
  assert.deepEqual(await statusOf(id), ['skipped', 'skipped', 'running']);
  assert.equal(events.length, 2);
  assert.match(
    events[0]!,
    /^sales: cron job \w+ skipped: its previous run \(since 2024-03-01T00:01:00.000Z\) is still going$/,
  );
  calls[0]!.finish({});
  await waitFor('first run done', async () => (await statusOf(id))[2] === 'succeeded');
  clock.now = minute(4);
  await cron.tick();
  assert.equal(calls.length, 2, 'runs again once the previous one ended');
  assert.equal(
    (await cron.jobs('sales'))[0]!.lastRun?.startedAt,
    '2024-03-01T00:04:00.000Z',
    'skips are not "last run"',
  );
});

void test('missed runs are not caught up, and a clock set back does not stall jobs', async (t) => {
  const { appId, clock, calls, cron } = await setup(t);
  cron.setJobs('sales', appId, [EVERY_MINUTE, HOURLY]);
  clock.now = minute(3 * 24 * 60 + 30); // three days later
  await cron.tick();
  assert.equal(calls.length, 2, 'each fires once, not once per missed minute');
  for (const c of calls) c.finish({});
  assert.equal((await cron.jobs('sales'))[1]!.nextRunAt, '2024-03-04T01:00:00.000Z');

  // A boot with the clock years ahead, then NTP puts it right.
  clock.now = Date.parse('2031-01-01T00:00:30Z');
  cron.setJobs('sales', appId, [{ command: 'x', schedule: '@daily' }]);
  assert.equal((await cron.jobs('sales'))[0]!.nextRunAt, '2031-01-02T00:00:00.000Z');
  clock.now = Date.parse('2024-03-05T12:00:00Z');
  await cron.tick();
  assert.equal((await cron.jobs('sales'))[0]!.nextRunAt, '2024-03-06T00:00:00.000Z');
});

void test('manual runs stream output, return the finished run, and refuse to overlap', async (t) => {
  const { appId, clock, calls, cron, runs } = await setup(t);
  const id = jobId(HOURLY);
  cron.setJobs('sales', appId, [HOURLY]);
  const streamed: string[] = [];
  const pending = cron.run('sales', id, { trigger: 'manual', onOutput: (s) => streamed.push(s) });
  await waitFor('runner called', () => calls.length === 1);
  calls[0]!.onOutput('line 1\n');
  await assert.rejects(
    cron.run('sales', id, { trigger: 'manual' }),
    (e: unknown) =>
      isGantryError(e, 'GANTRY_CONFLICT') &&
      /already running \(since 2024-03-01T00:00:30.000Z\)/.test(e.message),
  );
  clock.now = minute(60);
  await cron.tick();
  assert.equal(calls.length, 1, 'the scheduled run is skipped while the manual one runs');
  calls[0]!.finish({ exitCode: 0, output: 'line 1\nline 2\n' });
  const run = await pending;
  assert.deepEqual(streamed, ['line 1\n']);
  assert.equal(run.trigger, 'manual');
  assert.equal(run.status, 'succeeded');
  assert.equal(run.output, 'line 1\nline 2\n');
  assert.deepEqual(
    (await runs()).map((r) => `${r.trigger} ${r.status}`),
    ['schedule skipped', 'manual succeeded'],
  );
  assert.deepEqual(await cron.runs(appId, { jobId: id, limit: 1 }), (await runs()).slice(0, 1));

  for (const [app, job] of [
    ['sales', 'nope'],
    ['ghost', id],
  ] as const) {
    await assert.rejects(
      cron.run(app, job, { trigger: 'manual' }),
      (e: unknown) =>
        isGantryError(e, 'GANTRY_NOT_FOUND') &&
        e.message.includes(`\`gantry cron -a ${app}\``) &&
        e.message.includes(job),
    );
  }
});

void test('failures are recorded as failed runs and never stop the scheduler', async (t) => {
  const { appId, clock, calls, events, cron, history } = await setup(t);
  cron.setJobs('sales', appId, [EVERY_MINUTE]);
  const id = jobId(EVERY_MINUTE);
  const outcomes: [
    (c: (typeof calls)[number]) => void,
    Partial<{ status: string; exitCode: number | null }>,
    RegExp,
    RegExp,
  ][] = [
    [
      (c) => c.finish({ exitCode: 2, output: 'Traceback\n' }),
      { status: 'failed', exitCode: 2 },
      /^Traceback\n$/,
      /failed \(exit 2\): python3 tick.py/,
    ],
    [
      (c) => c.fail(new Error('slug is gone')),
      { status: 'failed', exitCode: null },
      /^\[gantry\] could not run: slug is gone\n$/,
      /could not run: slug is gone/,
    ],
    [
      (c) => c.finish({ exitCode: null, signal: 'SIGKILL', oomKilled: true, output: 'big' }),
      { status: 'failed', exitCode: null },
      /^big\n\[gantry\] out of memory/,
      /out of memory/,
    ],
    [
      (c) => c.finish({ exitCode: null, signal: 'SIGSEGV' }),
      { status: 'failed', exitCode: null },
      /^$/,
      /failed \(killed by SIGSEGV\)/,
    ],
  ];
  for (const [i, [end, want, output, event]] of outcomes.entries()) {
    clock.now = minute(i + 1);
    await cron.tick();
    assert.equal(calls.length, i + 1);
    end(calls[i]!);
    await waitFor(
      'run finished',
      async () => (await history.list(appId, { limit: 1 }))[0]!.status !== 'running',
    );
    const [run] = await history.list(appId, { limit: 1 });
    assert.deepEqual({ status: run!.status, exitCode: run!.exitCode }, want);
    assert.match((await history.get(appId, run!.id))!.output!, output);
    assert.match(events.at(-1)!, event);
    assert.ok(events.at(-1)!.includes(id));
    assert.equal(events.length, i + 1);
  }
});

void test('a run over its time limit is stopped and recorded as failed', async (t) => {
  const { appId, calls, events, cron } = await setup(t, { timeoutMs: 200 });
  cron.setJobs('sales', appId, [HOURLY]);
  const pending = cron.run('sales', jobId(HOURLY), { trigger: 'manual' });
  await waitFor('runner called', () => calls.length === 1);
  const c = calls[0]!;
  assert.equal(c.signal.aborted, false);
  await waitFor('aborted by the timeout', () => c.signal.aborted);
  // A process that handles SIGTERM and exits 0 still did not finish in time.
  c.finish({ exitCode: 0, output: 'partial' });
  const run = await pending;
  assert.equal(run.status, 'failed');
  assert.equal(run.output, 'partial\n[gantry] timed out after 0.2 s\n');
  assert.match(events[0]!, /failed \(timed out after 0\.2 s\)/);
});

void test('aborting a manual run stops it', async (t) => {
  const { appId, calls, cron } = await setup(t);
  cron.setJobs('sales', appId, [HOURLY]);
  const ac = new AbortController();
  const pending = cron.run('sales', jobId(HOURLY), { trigger: 'manual', signal: ac.signal });
  await waitFor('runner called', () => calls.length === 1);
  ac.abort();
  assert.equal(calls[0]!.signal.aborted, true);
  calls[0]!.finish({ exitCode: null, signal: 'SIGTERM' });
  const run = await pending;
  assert.equal(run.status, 'failed');
  assert.match(run.output!, /\[gantry\] cancelled/);
});

void test('setJobs replaces jobs: removed apps stop firing, running runs finish, bad entries are skipped', async (t) => {
  const { appId, clock, calls, events, cron, statusOf, createApp } = await setup(t);
  cron.setJobs('sales', appId, [EVERY_MINUTE, EVERY_MINUTE, { command: 'bad', schedule: '0 0 31 2 *' }]);
  assert.equal((await cron.jobs('sales')).length, 1, 'duplicates are one job; the bad one is left out');
  assert.match(events[0]!, /^sales: cron entry "0 0 31 2 \* bad" ignored: .*never runs/);
  clock.now = minute(1);
  await cron.tick();
  assert.equal(calls.length, 1);

  // A redeploy with the same entry keeps its timing; a new entry gets its own.
  clock.now = minute(1) + 30_000;
  cron.setJobs('sales', appId, [EVERY_MINUTE, HOURLY]);
  assert.deepEqual(
    (await cron.jobs('sales')).map((j) => j.nextRunAt),
    ['2024-03-01T00:02:00.000Z', '2024-03-01T01:00:00.000Z'],
  );

  cron.setJobs('sales', appId, undefined);
  assert.deepEqual(await cron.jobs('sales'), []);
  clock.now = minute(2);
  await cron.tick();
  assert.equal(calls.length, 1, 'no more runs for a removed app');
  calls[0]!.finish({ exitCode: 0 });
  await waitFor('running run finished', async () => (await statusOf(jobId(EVERY_MINUTE)))[0] === 'succeeded');
  await assert.rejects(cron.run('sales', jobId(EVERY_MINUTE), { trigger: 'manual' }), /no cron job/);

  // Apps are independent.
  const otherId = await createApp('other');
  cron.setJobs('other', otherId, [EVERY_MINUTE]);
  cron.setJobs('sales', appId, [EVERY_MINUTE]);
  clock.now = minute(3);
  await cron.tick();
  assert.deepEqual(
    calls
      .slice(1)
      .map((c) => c.app)
      .sort(),
    ['other', 'sales'],
  );
});

void test('close stops runs under way and records them; start marks crashed runs failed', async (t) => {
  const { appId, calls, cron, history, statusOf } = await setup(t);
  const orphan = await history.start({
    appId,
    jobId: 'deadbeef00',
    schedule: '@daily',
    command: 'old',
    trigger: 'schedule',
  });
  cron.setJobs('sales', appId, [HOURLY]);
  const pending = cron.run('sales', jobId(HOURLY), { trigger: 'manual' });
  await waitFor('runner called', () => calls.length === 1);
  await cron.start();
  assert.equal((await history.get(appId, orphan.id))?.output, INTERRUPTED_MESSAGE);
  assert.deepEqual(await statusOf(jobId(HOURLY)), ['running'], 'the run of this process is not an orphan');

  let closed = false;
  const closing = cron.close().then(() => (closed = true));
  await waitFor('runner aborted', () => calls[0]!.signal.aborted);
  assert.equal(closed, false, 'close waits for the run to end');
  calls[0]!.finish({ exitCode: null, signal: 'SIGTERM' });
  await closing;
  const run = await pending;
  assert.equal(run.status, 'failed');
  assert.match(run.output!, /Gantry stopped during the run/);
  assert.deepEqual(await statusOf(jobId(HOURLY)), ['failed']);
  await assert.rejects(cron.run('sales', jobId(HOURLY), { trigger: 'manual' }), /shutting down/);
});

void test('the timer fires due jobs by itself', async (t) => {
  // A clock whose next minute begins 300 ms from now.
  const boundary = Date.parse('2024-03-01T00:01:00Z');
  const offset = boundary - 300 - Date.now();
  const { appId, calls, cron, statusOf } = await setup(t, { now: () => Date.now() + offset });
  cron.setJobs('sales', appId, [EVERY_MINUTE]);
  await cron.start();
  await waitFor('the timer fired', () => calls.length === 1);
  calls[0]!.finish({});
  await waitFor('run recorded', async () => (await statusOf(jobId(EVERY_MINUTE)))[0] === 'succeeded');
});
