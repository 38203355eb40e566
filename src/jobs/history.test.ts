import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  CronHistory,
  INTERRUPTED_MESSAGE,
  KEEP_RUNS_PER_JOB,
  OUTPUT_TAIL_BYTES,
  tailBytes,
} from './history.js';
import { pgAvailable, testStore, type StoreKind } from './testing.js';

const job = (jobId: string) => ({ jobId, schedule: '@daily', command: `run ${jobId}` });

function suite(kind: StoreKind): void {
  test('a run starts running, finishes with its exit code and output, lists newest first', async (t) => {
    const { db, createApp } = await testStore(t, kind);
    const appId = await createApp('sales');
    const other = await createApp('other');
    let clock = Date.parse('2024-03-01T00:00:00Z');
    const h = new CronHistory(db, { now: () => clock });

    const a = await h.start({ appId, ...job('aaa'), trigger: 'schedule' });
    assert.equal(a.status, 'running');
    assert.equal(a.startedAt, '2024-03-01T00:00:00.000Z');
    assert.equal(a.finishedAt, null);
    clock += 5000;
    const done = await h.finish(a.id, { status: 'failed', exitCode: 3, output: 'boom\n' });
    assert.deepEqual(
      { status: done.status, exitCode: done.exitCode, output: done.output, finishedAt: done.finishedAt },
      { status: 'failed', exitCode: 3, output: 'boom\n', finishedAt: '2024-03-01T00:00:05.000Z' },
    );
    // Same millisecond: still listed in the order they began.
    const b = await h.start({ appId, ...job('bbb'), trigger: 'manual' });
    const c = await h.start({ appId, ...job('aaa'), trigger: 'manual' });
    await h.start({ appId: other, ...job('aaa'), trigger: 'manual' });

    const all = await h.list(appId, { limit: 10 });
    assert.deepEqual(
      all.map((r) => r.id),
      [c.id, b.id, a.id],
    );
    assert.equal(all[2]!.output, undefined, 'lists leave output out');
    assert.deepEqual(all[2], {
      id: a.id,
      jobId: 'aaa',
      schedule: '@daily',
      command: 'run aaa',
      trigger: 'schedule',
      status: 'failed',
      startedAt: '2024-03-01T00:00:00.000Z',
      finishedAt: '2024-03-01T00:00:05.000Z',
      exitCode: 3,
    });
    assert.deepEqual(
      (await h.list(appId, { jobId: 'aaa', limit: 10 })).map((r) => r.id),
      [c.id, a.id],
    );
    assert.deepEqual(
      (await h.list(appId, { limit: 1 })).map((r) => r.id),
      [c.id],
    );
    assert.equal((await h.get(appId, a.id))?.output, 'boom\n');
    assert.equal(await h.get(other, a.id), undefined, 'another app cannot read it');
  });

  test('output keeps only the last 16 KiB, cut on a character boundary', async (t) => {
    const { db, createApp } = await testStore(t, kind);
    const appId = await createApp('sales');
    const h = new CronHistory(db);
    const head = 'start\n';
    const body = 'é€'.repeat(10_000); // 2 + 3 bytes each
    const r = await h.start({ appId, ...job('aaa'), trigger: 'schedule' });
    const done = await h.finish(r.id, { status: 'succeeded', exitCode: 0, output: `${head}${body}END` });
    const stored = (await h.get(appId, r.id))!.output!;
    assert.equal(done.output, stored);
    assert.ok(Buffer.byteLength(stored) <= OUTPUT_TAIL_BYTES);
    assert.ok(Buffer.byteLength(stored) > OUTPUT_TAIL_BYTES - 3);
    assert.ok(stored.endsWith('€END'));
    assert.ok(!stored.includes('start') && !stored.includes('\uFFFD'));
    assert.equal(tailBytes('short'), 'short');
    assert.equal(tailBytes('aé', 2), 'é');
    assert.equal(tailBytes('aé', 1), '');
  });

  test('skipped runs are recorded; the last run per job ignores them', async (t) => {
    const { db, createApp } = await testStore(t, kind);
    const appId = await createApp('sales');
    let clock = Date.parse('2024-03-01T00:00:00Z');
    const h = new CronHistory(db, { now: () => clock });
    const run = await h.start({ appId, ...job('aaa'), trigger: 'schedule' });
    clock += 60_000;
    const skipped = await h.skip({
      appId,
      ...job('aaa'),
      trigger: 'schedule',
      reason: 'previous run still going',
    });
    assert.equal(skipped.status, 'skipped');
    assert.equal(skipped.startedAt, '2024-03-01T00:01:00.000Z');
    assert.equal(skipped.finishedAt, skipped.startedAt);
    assert.equal((await h.get(appId, skipped.id))?.output, 'previous run still going');
    const b = await h.start({ appId, ...job('bbb'), trigger: 'manual' });
    await h.finish(b.id, { status: 'succeeded', exitCode: 0, output: '' });

    const last = await h.lastRuns(appId, ['aaa', 'bbb', 'ccc']);
    assert.equal(last.get('aaa')?.id, run.id);
    assert.equal(last.get('aaa')?.status, 'running');
    assert.equal(last.get('bbb')?.status, 'succeeded');
    assert.equal(last.has('ccc'), false);
    assert.deepEqual(
      (await h.list(appId, { jobId: 'aaa', limit: 5 })).map((r) => r.status),
      ['skipped', 'running'],
    );
  });

  test(`at most ${KEEP_RUNS_PER_JOB} runs are kept per job; a long run outlives its skips`, async (t) => {
    const { db, createApp } = await testStore(t, kind);
    const appId = await createApp('sales');
    let clock = Date.parse('2024-03-01T00:00:00Z');
    const h = new CronHistory(db, { now: () => clock });
    const long = await h.start({ appId, ...job('aaa'), trigger: 'schedule' });
    for (let i = 0; i < KEEP_RUNS_PER_JOB + 10; i++) {
      clock += 60_000;
      await h.skip({ appId, ...job('aaa'), trigger: 'schedule', reason: 'busy' });
    }
    const other = await h.start({ appId, ...job('bbb'), trigger: 'manual' });
    await h.finish(other.id, { status: 'succeeded', exitCode: 0, output: '' });

    const kept = await h.list(appId, { jobId: 'aaa', limit: 1000 });
    assert.equal(kept.length, KEEP_RUNS_PER_JOB + 1, '100 newest skips and the running run');
    assert.equal(kept.at(-1)!.id, long.id);
    assert.equal(kept.at(-2)!.startedAt, new Date(clock - (KEEP_RUNS_PER_JOB - 1) * 60_000).toISOString());
    const finished = await h.finish(long.id, { status: 'succeeded', exitCode: 0, output: 'done' });
    assert.equal(finished.status, 'succeeded');
    assert.equal((await h.list(appId, { jobId: 'aaa', limit: 1000 })).length, KEEP_RUNS_PER_JOB);
    assert.equal((await h.list(appId, { jobId: 'bbb', limit: 1000 })).length, 1, 'other jobs untouched');

    const small = new CronHistory(db, { keepPerJob: 2, now: () => clock });
    for (let i = 0; i < 3; i++) {
      const r = await small.start({ appId, ...job('ccc'), trigger: 'manual' });
      await small.finish(r.id, { status: 'succeeded', exitCode: 0, output: String(i) });
    }
    assert.equal((await small.list(appId, { jobId: 'ccc', limit: 10 })).length, 2);
  });

  test('runs a crash left running are marked failed at startup', async (t) => {
    const { db, createApp } = await testStore(t, kind);
    const appId = await createApp('sales');
    const before = new CronHistory(db);
    const orphan = await before.start({ appId, ...job('aaa'), trigger: 'schedule' });
    const done = await before.start({ appId, ...job('bbb'), trigger: 'schedule' });
    await before.finish(done.id, { status: 'succeeded', exitCode: 0, output: 'ok' });

    const after = new CronHistory(db, { now: () => Date.parse('2024-03-02T00:00:00Z') });
    const current = await after.start({ appId, ...job('ccc'), trigger: 'manual' });
    assert.equal(await after.recover([current.id]), 1);
    const o = (await after.get(appId, orphan.id))!;
    assert.deepEqual(
      { status: o.status, output: o.output, finishedAt: o.finishedAt, exitCode: o.exitCode },
      {
        status: 'failed',
        output: INTERRUPTED_MESSAGE,
        finishedAt: '2024-03-02T00:00:00.000Z',
        exitCode: null,
      },
    );
    assert.equal((await after.get(appId, done.id))?.status, 'succeeded');
    assert.equal((await after.get(appId, current.id))?.status, 'running', 'runs under way are left alone');
    assert.equal(await after.recover(), 1);
    assert.equal(await after.recover(), 0);
  });
}

void describe('CronHistory on SQLite', () => suite('sqlite'));

void describe('CronHistory on PostgreSQL', async () => {
  if (!(await pgAvailable()) && !process.env.CI) {
    test('PostgreSQL', { skip: 'no PostgreSQL on 127.0.0.1:5432' }, () => undefined);
    return;
  }
  suite('postgres');
});
