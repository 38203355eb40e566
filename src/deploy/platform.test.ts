/**
 * The platform's live views and portal fields over a real deploy pipeline:
 * real records (SQLite), the real Deployer and LiveHub, a build that the test
 * paces, and a rollout that goes live without starting processes.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppActivity, BuildInfo } from '../api/platform.js';
import { AppRecords } from '../apps/records.js';
import type { SlugManifest } from '../apps/manifest.js';
import { GantryError, isGantryError } from '../errors/index.js';
import { EventLog } from '../events/index.js';
import { silentLogger } from '../log/index.js';
import { testKeyring } from '../secrets/testing.js';
import { openStore, type Store } from '../store/index.js';
import { Deployer } from './deployer.js';
import { LiveHub } from './live.js';
import { GantryPlatform, type PlatformDeps, type ThumbnailJobs } from './platform.js';
import type { Rollout } from './rollout.js';

const MANIFEST: SlugManifest = {
  buildpack: 'procfile',
  processes: { web: 'true' },
  formation: {},
  healthchecks: {},
  env: {},
};
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 9, 9, 9]);

interface Gate {
  promise: Promise<void>;
  resolve: () => void;
}
function newGate(): Gate {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const code = (c: string) => (e: unknown) => isGantryError(e) && e.code === c;

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('GantryPlatform live views and portal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-platform-'));
  let store: Store;
  let records: AppRecords;
  let events: EventLog;
  let platform: GantryPlatform;
  let deployer: Deployer;
  /** The build waits on this between its two lines. */
  let gate: Gate = newGate();
  let failBuild = false;
  const scheduled: string[] = [];
  const jobs: ThumbnailJobs & { available: boolean } = {
    available: true,
    schedule: (app) => scheduled.push(app),
    captureNow: () => Promise.resolve({ image: JPEG, contentType: 'image/jpeg' }),
  };

  before(async () => {
    store = await openStore({ dataDir: dir });
    records = new AppRecords(store.db, { uidBase: 330000, secrets: testKeyring() });
    events = new EventLog({ db: store.db, logger: silentLogger, flushDelayMs: 60_000 });
    const live = new LiveHub({ logger: silentLogger });
    // Goes live without processes: what is tested here is the bookkeeping around a deploy.
    const rollout = {
      activate: () => Promise.resolve(),
      active: () => undefined,
    } as unknown as Rollout;
    deployer = new Deployer({
      records,
      rollout,
      live,
      logger: silentLogger,
      dataDir: dir,
      publicUrl: 'http://gantry.test',
      keepReleases: 5,
      buildTimeoutMs: 60_000,
      appLog: () => undefined,
      build: async ({ output }) => {
        output('step 1');
        await gate.promise;
        if (failBuild) throw new GantryError('GANTRY_BUILD_FAILED', 'pip install failed');
        output('step 2');
        return MANIFEST;
      },
    });
    // Only what these methods touch; the rest of the platform has its own tests.
    const deps: Partial<PlatformDeps> = {
      records,
      deployer,
      rollout,
      runtime: { list: () => [] } as unknown as PlatformDeps['runtime'],
      live,
      events,
      logger: silentLogger,
      publicUrl: 'http://gantry.test',
      thumbnails: jobs,
      elastic: {
        seriesOf: (app: string) => ({ app, range: '1h', stepSeconds: 10, points: [] }),
      } as unknown as PlatformDeps['elastic'],
    };
    platform = new GantryPlatform(deps as PlatformDeps);
  });
  after(async () => {
    await events.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const deploy = (app: string) =>
    deployer.deploySource({
      app,
      commit: null,
      output: () => undefined,
      fill: (d) => writeFile(join(d, 'Procfile'), 'web: true\n'),
    });

  test('watchBuild during a deploy: backlog, live chunks, the end; watchApp sees build, release, event', async () => {
    await records.create('live1');
    const activity: AppActivity[] = [];
    const stopApp = await platform.watchApp('live1', (a) => activity.push(a));
    gate = newGate();
    const deploying = deploy('live1');
    await until('the build to start', async () => (await platform.listBuilds('live1')).length === 1);
    const [running] = await platform.listBuilds('live1');
    const chunks: string[] = [];
    const ends: BuildInfo[] = [];
    const w = await platform.watchBuild(
      'live1',
      running!.id,
      (c) => chunks.push(c),
      (b) => ends.push(b),
    );
    await until('step 1', () => w.backlog.includes('step 1') || chunks.join('').includes('step 1'));
    assert.match(w.backlog, /-----> Building live1/);
    assert.equal(w.build.status, 'running');
    gate.resolve();
    const release = await deploying;
    assert.match(chunks.join(''), /step 2\n[\s\S]*Releasing v1/);
    assert.equal(ends.length, 1);
    assert.equal(ends[0]?.status, 'succeeded');
    assert.equal(ends[0]?.releaseVersion, 1);
    assert.deepEqual(
      activity.map((a) => (a.type === 'build' ? `build:${a.build.status}` : a.type)),
      ['build:running', 'release', 'build:succeeded'],
    );
    const rel = activity.find((a) => a.type === 'release');
    assert.equal(rel?.type === 'release' && rel.release.version, release.version);
    await until('a picture to be scheduled', () => scheduled.includes('live1'));

    events.record('live1', { kind: 'crash', message: 'web.1 crashed' });
    assert.equal(activity.at(-1)?.type, 'event');
    stopApp();
    events.record('live1', { kind: 'crash', message: 'unseen' });
    assert.equal(activity.length, 4, 'nothing after stop');

    // After the end the record tells the whole story.
    const done = await platform.watchBuild(
      'live1',
      running!.id,
      () => assert.fail('no chunks'),
      () => assert.fail('no end'),
    );
    assert.equal(done.build.status, 'succeeded');
    assert.match(done.backlog, /step 1\n[\s\S]*step 2\n/);
    const info = await platform.getApp('live1');
    assert.equal(info.lastDeployAt, release.createdAt);
  });

  test('a failed build ends its watch with the error; another app cannot watch it', async () => {
    await records.create('live2');
    await records.create('live3');
    gate = newGate();
    failBuild = true;
    const deploying = deploy('live2');
    await until('the build to start', async () => (await platform.listBuilds('live2')).length === 1);
    const [running] = await platform.listBuilds('live2');
    await assert.rejects(
      platform.watchBuild(
        'live3',
        running!.id,
        () => undefined,
        () => undefined,
      ),
      code('GANTRY_NOT_FOUND'),
    );
    const ends: BuildInfo[] = [];
    await platform.watchBuild(
      'live2',
      running!.id,
      () => undefined,
      (b) => ends.push(b),
    );
    gate.resolve();
    await assert.rejects(deploying, /pip install failed/);
    failBuild = false;
    assert.equal(ends[0]?.status, 'failed');
    assert.equal(ends[0]?.error, 'pip install failed');
    assert.ok(ends[0]?.finishedAt);
  });

  test('a build recorded as running that no deployer runs (server stopped mid-build) is shown as failed', async () => {
    const a = await records.create('stale1');
    const b = await records.startBuild(a.id, null);
    const w = await platform.watchBuild(
      'stale1',
      b.id,
      () => undefined,
      () => undefined,
    );
    assert.equal(w.build.status, 'failed');
    assert.match(w.build.error ?? '', /server stopped/);
  });

  test('the overview lists every app with its status', async () => {
    const o = await platform.overview();
    const names = o.apps.map((a) => a.name);
    assert.ok(names.includes('live1') && names.includes('stale1'));
    assert.equal(o.apps.find((a) => a.name === 'stale1')?.status, 'new');
    assert.equal(o.totals.apps, (await records.list()).length);
  });

  test('portal fields are normalized and returned with the app', async () => {
    await records.create('meta1');
    const info = await platform.setAppMeta('meta1', { title: '  Sales  ', tags: ['Sales', 'sales', 'q3'] });
    assert.equal(info.title, 'Sales');
    assert.deepEqual(info.tags, ['sales', 'q3']);
    await assert.rejects(platform.setAppMeta('meta1', { tags: ['no spaces'] }), code('GANTRY_BAD_REQUEST'));
    assert.deepEqual((await platform.listApps()).find((a) => a.name === 'meta1')?.tags, ['sales', 'q3']);
  });

  test('pictures: uploads are checked by their bytes and win over captures until deleted', async () => {
    await records.create('pic1');
    const activity: AppActivity[] = [];
    const stop = await platform.watchApp('pic1', (a) => activity.push(a));
    await assert.rejects(platform.captureThumbnail('pic1'), code('GANTRY_NO_RELEASE'));
    await assert.rejects(platform.putThumbnail('pic1', Buffer.from('GIF89a....')), /not a PNG, JPEG or WebP/);
    await assert.rejects(
      platform.putThumbnail('pic1', Buffer.concat([PNG, Buffer.alloc(2 * 1024 * 1024)])),
      code('GANTRY_BAD_REQUEST'),
    );
    assert.equal(await platform.getThumbnail('pic1'), null);

    const up = await platform.putThumbnail('pic1', PNG);
    assert.equal(up.source, 'upload');
    assert.match(up.url, /^\/api\/apps\/pic1\/thumbnail\?v=[0-9a-f]{16}$/);
    const got = await platform.getThumbnail('pic1');
    assert.equal(got?.contentType, 'image/png');
    assert.ok(got.body.equals(PNG));
    assert.equal(up.url.endsWith(got.etag), true);
    assert.deepEqual((await platform.listApps()).find((a) => a.name === 'pic1')?.thumbnail, up);

    await assert.rejects(platform.captureThumbnail('pic1'), code('GANTRY_CONFLICT'));
    assert.equal(await platform.storeCapturedThumbnail('pic1', JPEG, 'image/jpeg'), null);
    assert.equal((await platform.getThumbnail('pic1'))?.contentType, 'image/png', 'the upload stays');

    gate = newGate();
    gate.resolve();
    scheduled.length = 0;
    await deploy('pic1');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(scheduled.length, 0, 'no capture is scheduled over an upload');
    await platform.deleteThumbnail('pic1');
    assert.equal(await platform.getThumbnail('pic1'), null);
    await until('a capture to be scheduled', () => scheduled.includes('pic1'));
    const shot = await platform.captureThumbnail('pic1');
    assert.equal(shot.source, 'auto');
    assert.equal((await platform.getThumbnail('pic1'))?.contentType, 'image/jpeg');
    stop();
    const pictures = activity.filter((a) => a.type === 'thumbnail');
    assert.deepEqual(
      pictures.map((a) => a.type === 'thumbnail' && (a.thumbnail?.source ?? null)),
      ['upload', null, 'auto'],
    );

    jobs.available = false;
    try {
      await assert.rejects(platform.captureThumbnail('pic1'), code('GANTRY_UNSUPPORTED'));
    } finally {
      jobs.available = true;
    }
  });
});
