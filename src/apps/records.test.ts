import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore, newId, now, type Store } from '../store/index.js';
import { testKeyring } from '../secrets/testing.js';
import { AppRecords } from './records.js';

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

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(300)]);
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), randomBytes(300)]);
const etagOf = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 16);

function suite(open: () => Promise<Store>): void {
  let store: Store;
  let records: AppRecords;
  let n = 0;
  const newApp = (owner: string | null = null) =>
    records.create(`rec${++n}x${randomBytes(2).toString('hex')}`, owner);

  before(async () => {
    store = await open();
    records = new AppRecords(store.db, { uidBase: 320000, secrets: testKeyring() });
  });
  after(async () => {
    await store.close();
  });

  test('portal fields start empty, change only where given, and show in list and find', async () => {
    const a = await newApp();
    assert.deepEqual(
      { title: a.title, description: a.description, tags: a.tags, thumbnail: a.thumbnail },
      { title: null, description: '', tags: [], thumbnail: null },
    );
    await records.setMeta(a.id, { title: 'Sales forecast', tags: ['sales', 'forecast'] });
    await records.setMeta(a.id, { description: 'Weekly numbers.' });
    const got = await records.get(a.name);
    assert.equal(got.title, 'Sales forecast');
    assert.equal(got.description, 'Weekly numbers.');
    assert.deepEqual(got.tags, ['sales', 'forecast']);
    const listed = (await records.list()).find((r) => r.name === a.name);
    assert.deepEqual(listed?.tags, ['sales', 'forecast']);
    await records.setMeta(a.id, { title: null, tags: [] });
    const cleared = await records.get(a.name);
    assert.equal(cleared.title, null);
    assert.deepEqual(cleared.tags, []);
    assert.equal(cleared.description, 'Weekly numbers.', 'a field left out stays');
  });

  test("lastDeployAt is the serving release's time; owner is the owner's username", async () => {
    const userId = newId();
    const username = `u${randomBytes(3).toString('hex')}`;
    await store.db
      .insertInto('users')
      .values({
        id: userId,
        username,
        password_hash: '',
        role: 'developer',
        email: null,
        created_at: now(),
        source: 'local',
      })
      .execute();
    const a = await newApp(userId);
    const other = await newApp();
    assert.equal(a.owner, username, 'create returns the row as list would');
    assert.equal((await records.get(a.name)).lastDeployAt, null);
    const release = (version: number) =>
      records.insertRelease({
        appId: a.id,
        version,
        slugId: null,
        commit: null,
        description: `v${version}`,
        config: {},
        buildId: null,
      });
    const v1 = await release(1);
    await new Promise((r) => setTimeout(r, 5));
    const v2 = await release(2);
    assert.notEqual(v1.createdAt, v2.createdAt);
    const got = await records.get(a.name);
    assert.equal(got.lastDeployAt, v2.createdAt);
    assert.equal(got.owner, username);
    const all = await records.list();
    assert.equal(all.filter((r) => r.name === a.name).length, 1, 'one row per app despite the joins');
    assert.equal(all.find((r) => r.name === other.name)?.owner, null);
    assert.equal(all.find((r) => r.name === other.name)?.lastDeployAt, null);
  });

  test('thumbnails: bytes round-trip, etag is the sha256 prefix, an upload is never overwritten by a capture', async () => {
    const a = await newApp();
    assert.equal(await records.getThumbnail(a.id), undefined);
    const auto = await records.putThumbnail(
      a.id,
      { source: 'auto', contentType: 'image/jpeg', image: JPEG },
      { keepUpload: true },
    );
    assert.equal(auto?.etag, etagOf(JPEG));
    const stored = await records.getThumbnail(a.id);
    assert.ok(stored);
    assert.ok(stored.image.equals(JPEG), 'bytes round-trip');
    assert.equal(stored.contentType, 'image/jpeg');
    assert.deepEqual((await records.get(a.name)).thumbnail, {
      source: 'auto',
      contentType: 'image/jpeg',
      etag: etagOf(JPEG),
      updatedAt: auto?.updatedAt,
    });

    const up = await records.putThumbnail(a.id, { source: 'upload', contentType: 'image/png', image: PNG });
    assert.equal(up?.source, 'upload');
    const late = await records.putThumbnail(
      a.id,
      { source: 'auto', contentType: 'image/jpeg', image: JPEG },
      { keepUpload: true },
    );
    assert.equal(late, undefined, 'a capture does not replace an upload');
    assert.ok((await records.getThumbnail(a.id))?.image.equals(PNG));
    assert.equal((await records.list()).find((r) => r.name === a.name)?.thumbnail?.source, 'upload');

    assert.equal(await records.deleteThumbnail(a.id, { onlyUpload: true }), true);
    assert.equal(await records.getThumbnail(a.id), undefined);
    await records.putThumbnail(a.id, { source: 'auto', contentType: 'image/jpeg', image: JPEG });
    assert.equal(await records.deleteThumbnail(a.id, { onlyUpload: true }), false, 'a capture stays');
    assert.ok(await records.getThumbnail(a.id));

    await records.destroy(a.id);
    const left = await store.db
      .selectFrom('app_thumbnails')
      .select('app_id')
      .where('app_id', '=', a.id)
      .execute();
    assert.deepEqual(left, [], 'the picture goes with the app');
  });

  test('builds: startBuild returns the record getBuild reads; finishBuild returns its end time', async () => {
    const a = await newApp();
    const b = await records.startBuild(a.id, 'abc');
    assert.deepEqual(await records.getBuild(a.id, b.id), b);
    assert.equal(b.status, 'running');
    const finishedAt = await records.finishBuild(b.id, {
      status: 'succeeded',
      log: 'ok\n',
      releaseVersion: 3,
    });
    const done = await records.getBuild(a.id, b.id);
    assert.equal(done?.finishedAt, finishedAt);
    assert.equal(done?.releaseVersion, 3);
    const other = await newApp();
    assert.equal(
      await records.getBuild(other.id, b.id),
      undefined,
      'a build is found under its own app only',
    );
  });
}

describe('AppRecords on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-records-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  suite(() => openStore({ dataDir: dir }));
});

describe('AppRecords on PostgreSQL', async () => {
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
