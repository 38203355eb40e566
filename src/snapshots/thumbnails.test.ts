import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { silentLogger } from '../log/index.js';
import { isGantryError } from '../errors/index.js';
import { Browser } from './browser.js';
import { ThumbnailService, type OwnerSession, type ThumbnailServiceOptions } from './thumbnails.js';
import { html, serve, type TestServer } from './testing.js';

const OWNER_COOKIE = 'gantry_session=owner-secret';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` holds (polling), failing after `ms`. */
async function until(check: () => boolean, ms = 8_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(25);
  }
}

describe('ThumbnailService', () => {
  const browser = new Browser({ logger: silentLogger });
  let app: TestServer;
  before(async () => {
    app = await serve({
      // The owner sees their dashboard; anyone else gets the login wall.
      '/apps/private/': (req, res) => {
        if (req.headers.cookie === OWNER_COOKIE) {
          html('<h1>Owner dashboard</h1><style>body{background:#f00}</style>')(req, res);
        } else {
          res.writeHead(401, { 'content-type': 'text/html' }).end('<h1>Please log in</h1>');
        }
      },
      '/apps/plain/': html('<h1>Plain</h1>'),
      '/apps/other/': html('<h1>Other</h1>'),
      '/apps/hang/': () => undefined,
    });
  });
  after(async () => {
    await browser.close();
    await app.close();
  });

  function make(over: Partial<ThumbnailServiceOptions> = {}) {
    const stored: { app: string; image: Buffer; contentType: string }[] = [];
    const ended: string[] = [];
    const warnings: { app?: string; err?: string; msg: string }[] = [];
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => void warnings.push(JSON.parse(line) as (typeof warnings)[number]) },
    );
    const service = new ThumbnailService({
      // The service's close() closes its browser; the suite's browser is closed once, in after().
      browser: {
        available: browser.available,
        capturePage: (o) => browser.capturePage(o),
        close: async () => {},
      },
      logger,
      appUrl: (name) => `${app.url}/apps/${name}/`,
      sessionFor: async (name): Promise<OwnerSession> => ({
        cookie: { name: 'gantry_session', value: 'owner-secret' },
        end: async () => void ended.push(name),
      }),
      store: async (name, image, contentType) => void stored.push({ app: name, image, contentType }),
      delayMs: 100,
      timeoutMs: 1_000,
      ...over,
    });
    return { service, stored, ended, warnings };
  }

  const hits = (path: string) => app.seen.filter((s) => s.path === path);

  test('captureNow shows the owner what they see, and ends the session', async () => {
    const { service, stored, ended } = make();
    const before = hits('/apps/private/').length;
    const owner = await service.captureNow('private');
    assert.equal(owner.contentType, 'image/jpeg');
    assert.deepEqual([...owner.image.subarray(0, 3)], [0xff, 0xd8, 0xff]);
    assert.equal(hits('/apps/private/')[before]?.cookie, OWNER_COOKIE);
    assert.deepEqual(ended, ['private']);
    assert.equal(stored.length, 0, 'captureNow leaves storing to the platform');

    // Anonymous: the app's login wall, a different picture.
    const anon = make({ sessionFor: async () => null });
    const wall = await anon.service.captureNow('private');
    assert.equal(hits('/apps/private/')[before + 1]?.cookie, undefined);
    assert.notDeepEqual(wall.image, owner.image);
    await service.close();
    await anon.service.close();
  });

  test('schedule() coalesces a burst into one background capture', async () => {
    const { service, stored, ended } = make();
    const before = hits('/apps/plain/').length;
    for (let i = 0; i < 5; i++) service.schedule('plain');
    await until(() => stored.length === 1);
    await sleep(300); // a second capture, if one were queued, would start within delayMs
    assert.equal(stored.length, 1);
    assert.equal(stored[0]?.app, 'plain');
    assert.equal(stored[0]?.contentType, 'image/jpeg');
    assert.equal(hits('/apps/plain/').length - before, 1);
    assert.deepEqual(ended, ['plain']);
    await service.close();
  });

  test('an app that never answers is reported and the next app is still captured', async () => {
    const { service, stored, ended, warnings } = make();
    service.schedule('hang');
    service.schedule('other');
    await until(() => stored.length === 1);
    assert.equal(stored[0]?.app, 'other');
    const w = warnings.find((x) => x.app === 'hang');
    assert.equal(w?.err, 'the app did not answer within 1 s');
    assert.deepEqual(ended, ['hang', 'other'], 'sessions end even when the capture fails');
    await assert.rejects(service.captureNow('hang'), /the app did not answer within 1 s/);
    await service.close();
  });

  test('close() waits for the running capture and drops the queue', async () => {
    const { service, stored } = make({ delayMs: 0 });
    const before = hits('/apps/plain/').length;
    service.schedule('plain');
    service.schedule('other');
    await until(() => hits('/apps/plain/').length > before);
    await service.close();
    // 'plain' was being captured when close() was called: it finished; 'other' never ran.
    assert.deepEqual(
      stored.map((s) => s.app),
      ['plain'],
    );
    service.schedule('other');
    await sleep(200);
    assert.equal(stored.length, 1, 'a closed service schedules nothing');
  });

  test('without a browser: unavailable, schedule() does nothing, captureNow says why', async () => {
    let asked = 0;
    const { service, stored } = make({
      browser: new Browser({ logger: silentLogger, executablePath: '/nonexistent/chrome' }),
      sessionFor: async () => {
        asked++;
        return null;
      },
      delayMs: 0,
    });
    assert.equal(service.available, false);
    service.schedule('plain');
    await sleep(200);
    assert.equal(stored.length, 0);
    assert.equal(asked, 0);
    await assert.rejects(service.captureNow('plain'), (e) => isGantryError(e, 'GANTRY_UNSUPPORTED'));
    await service.close();
  });
});
