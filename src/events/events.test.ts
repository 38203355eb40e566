import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore, type Store } from '../store/index.js';
import { AppRecords } from '../apps/records.js';
import { testKeyring } from '../secrets/testing.js';
import { silentLogger } from '../log/index.js';
import type { AppEvent } from '../api/platform.js';
import { EventLog } from './index.js';

const PG = process.env.GANTRY_TEST_PG ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function pgAvailable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function suite(open: () => Promise<Store>): void {
  let store: Store;
  let records: AppRecords;
  let n = 0;
  const newApp = async (): Promise<{ id: string; name: string }> =>
    records.create(`app${++n}x${randomBytes(2).toString('hex')}`);
  const rawCount = async (appId: string): Promise<number> => {
    const r = await store.db
      .selectFrom('app_events')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('app_id', '=', appId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  };
  before(async () => {
    store = await open();
    records = new AppRecords(store.db, { uidBase: 310000, secrets: testKeyring() });
  });
  after(async () => {
    await store.close();
  });

  test('record queues without waiting; list flushes first and lists newest first', async () => {
    const app = await newApp();
    const log = new EventLog({ db: store.db, logger: silentLogger, flushDelayMs: 60_000 });
    try {
      const t0 = Date.parse('2026-01-01T10:00:00.000Z');
      const ret = log.record(app.name, {
        kind: 'start',
        process: `${app.name}.web.1`,
        message: 'web.1 started',
        at: new Date(t0),
      });
      assert.equal(ret, undefined);
      log.record(app.name, { kind: 'wake', message: 'woke up', at: new Date(t0 + 1000) });
      // Same millisecond: insertion order decides.
      log.record(app.name, { kind: 'scale', message: 'first', at: new Date(t0 + 2000) });
      log.record(app.name, { kind: 'scale', message: 'second', at: new Date(t0 + 2000) });
      // Nothing written yet: the batch waits for its delay.
      assert.equal(await rawCount(app.id), 0);
      const events = await log.list(app.name, { limit: 10 });
      assert.deepEqual(
        events.map((e) => e.message),
        ['second', 'first', 'woke up', 'web.1 started'],
      );
      assert.deepEqual(events[3], {
        at: '2026-01-01T10:00:00.000Z',
        kind: 'start',
        process: `${app.name}.web.1`,
        message: 'web.1 started',
      });
      assert.equal(events[2]!.process, null);
      assert.deepEqual(
        (await log.list(app.name, { limit: 2 })).map((e) => e.message),
        ['second', 'first'],
      );
      assert.deepEqual(
        (await log.list(app.name, { limit: 10, before: '2026-01-01T10:00:02.000Z' })).map((e) => e.message),
        ['woke up', 'web.1 started'],
      );
      await assert.rejects(log.list(app.name, { limit: 1, before: 'yesterday-ish' }), /before/);
    } finally {
      await log.close();
    }
  });

  test('events are written in batches after the delay, without list or flush', async () => {
    const app = await newApp();
    const log = new EventLog({ db: store.db, logger: silentLogger, flushDelayMs: 50, maxBatch: 1000 });
    try {
      for (let i = 0; i < 30; i++) log.record(app.name, { kind: 'scale', message: `m${i}` });
      assert.equal(await rawCount(app.id), 0);
      await waitFor('the batch', async () => (await rawCount(app.id)) === 30);
    } finally {
      await log.close();
    }
  });

  test('a full batch is written at once; flush writes everything', async () => {
    const app = await newApp();
    const log = new EventLog({ db: store.db, logger: silentLogger, flushDelayMs: 60_000, maxBatch: 10 });
    try {
      for (let i = 0; i < 25; i++) log.record(app.name, { kind: 'scale', message: `m${i}` });
      await waitFor('full batches', async () => (await rawCount(app.id)) >= 20);
      await log.flush();
      assert.equal(await rawCount(app.id), 25);
      const events = await log.list(app.name, { limit: 100 });
      assert.deepEqual(
        events.map((e) => e.message),
        Array.from({ length: 25 }, (_, i) => `m${24 - i}`),
      );
    } finally {
      await log.close();
    }
  });

  test('events of unknown and destroyed apps are dropped; others in the batch are kept', async () => {
    const keep = await newApp();
    const gone = await newApp();
    const log = new EventLog({ db: store.db, logger: silentLogger, flushDelayMs: 60_000 });
    try {
      log.record(gone.name, { kind: 'start', message: 'before destroy' });
      await log.flush();
      assert.equal(await rawCount(gone.id), 1);
      await records.destroy(gone.id);
      log.record('no-such-app', { kind: 'start', message: 'nobody' });
      log.record(gone.name, { kind: 'stop', message: 'after destroy' });
      log.record(keep.name, { kind: 'start', message: 'kept' });
      await log.flush();
      assert.deepEqual(await log.list('no-such-app', { limit: 10 }), []);
      assert.deepEqual(await log.list(gone.name, { limit: 10 }), []);
      assert.equal(await rawCount(gone.id), 0);
      assert.deepEqual(
        (await log.list(keep.name, { limit: 10 })).map((e) => e.message),
        ['kept'],
      );
    } finally {
      await log.close();
    }
  });

  test('retention keeps the newest 1,000 per app, pruning occasionally', async () => {
    const big = await newApp();
    const small = await newApp();
    const log = new EventLog({ db: store.db, logger: silentLogger, flushDelayMs: 60_000, maxBatch: 500 });
    try {
      const t0 = Date.parse('2026-02-01T00:00:00.000Z');
      let i = 0;
      const add = async (count: number): Promise<void> => {
        for (const end = i + count; i < end; i++) {
          log.record(big.name, { kind: 'scale', message: `m${i}`, at: new Date(t0 + i) });
        }
        await log.flush();
      };
      for (let k = 0; k < 5; k++) log.record(small.name, { kind: 'scale', message: `s${k}` });
      await add(1150);
      assert.equal(await rawCount(big.id), 1000);
      assert.equal(await rawCount(small.id), 5);
      // Below the prune threshold the table may hold a few extra...
      await add(50);
      assert.equal(await rawCount(big.id), 1050);
      // ...until the next prune brings it back to the newest 1,000.
      await add(60);
      assert.equal(await rawCount(big.id), 1000);
      const events = await log.list(big.name, { limit: 5000 });
      assert.equal(events.length, 1000);
      assert.equal(events[0]!.message, 'm1259');
      assert.equal(events[999]!.message, 'm260');
      assert.equal(await rawCount(small.id), 5);
    } finally {
      await log.close();
    }
  });

  test('subscribers see events live, per app, until they unsubscribe; a throwing listener harms nobody', async () => {
    const a = await newApp();
    const b = await newApp();
    const log = new EventLog({ db: store.db, logger: silentLogger, flushDelayMs: 60_000 });
    try {
      const seen: AppEvent[] = [];
      const unsubscribe = log.subscribe(a.name, (e) => seen.push(e));
      const unsubscribeBad = log.subscribe(a.name, () => {
        throw new Error('listener bug');
      });
      log.record(a.name, { kind: 'wake', message: 'waking' });
      log.record(b.name, { kind: 'wake', message: 'other app' });
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.message, 'waking');
      assert.equal(seen[0]!.kind, 'wake');
      assert.equal(seen[0]!.process, null);
      unsubscribe();
      unsubscribeBad();
      log.record(a.name, { kind: 'sleep', message: 'sleeping' });
      assert.equal(seen.length, 1);
      // Both still stored.
      assert.equal((await log.list(a.name, { limit: 10 })).length, 2);
    } finally {
      await log.close();
    }
  });

  test('close writes what is queued and drops later events', async () => {
    const app = await newApp();
    const log = new EventLog({ db: store.db, logger: silentLogger, flushDelayMs: 60_000 });
    log.record(app.name, { kind: 'start', message: 'queued' });
    await log.close();
    assert.equal(await rawCount(app.id), 1);
    log.record(app.name, { kind: 'start', message: 'late' });
    await log.flush();
    assert.equal(await rawCount(app.id), 1);
  });

  test('a failing database loses the batch, logs it, and record still never throws', async () => {
    const app = await newApp();
    const errors: string[] = [];
    const logger = Object.assign(Object.create(silentLogger) as typeof silentLogger, {
      error: (_o: unknown, msg: string) => errors.push(msg),
    });
    const broken = {
      selectFrom: () => {
        throw new Error('database is down');
      },
    } as unknown as Store['db'];
    const log = new EventLog({ db: broken, logger, flushDelayMs: 60_000 });
    log.record(app.name, { kind: 'start', message: 'lost' });
    await log.flush();
    assert.deepEqual(errors, ['cannot write app events; dropped']);
    await log.close();
  });
}

describe('EventLog on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-events-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  suite(() => openStore({ dataDir: dir }));
});

describe('EventLog on PostgreSQL', async () => {
  if (!(await pgAvailable()) && !process.env.CI) {
    test('PostgreSQL', { skip: 'no PostgreSQL on 127.0.0.1:5432' }, () => undefined);
    return;
  }
  const name = `gantry_test_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG });
  before(async () => {
    await admin.connect();
    await admin.query(`create database ${name}`);
  });
  after(async () => {
    await admin.query(`drop database ${name} with (force)`);
    await admin.end();
  });
  const u = new URL(PG);
  u.pathname = `/${name}`;
  suite(() => openStore({ dataDir: '/nonexistent', databaseUrl: u.toString() }));
});
