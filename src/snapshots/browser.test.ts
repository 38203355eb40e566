import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebSocketServer } from 'ws';
import { chromium, type Browser as PwBrowser, type LaunchOptions } from 'playwright-core';
import { silentLogger } from '../log/index.js';
import { isGantryError } from '../errors/index.js';
import { Browser, findChromium } from './browser.js';
import { pngPixel, serve, html, type TestServer } from './testing.js';

const RED_AFTER_FETCH = html(`<style>body{margin:0;background:#fff}</style>
<script>fetch('data').then(r => r.text()).then(t => { document.body.style.background = t; });</script>`);
const slow = (ms: number, text: string) => (_req: IncomingMessage, res: ServerResponse) => {
  setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end(text), ms);
};
const center = (png: Buffer) => pngPixel(png, 640, 400);
const isRed = ([r, g, b]: [number, number, number]) => r > 240 && g < 15 && b < 15;
const isWhite = ([r, g, b]: [number, number, number]) => r > 240 && g > 240 && b > 240;

function counting(): {
  launches: number;
  last?: PwBrowser;
  launch: (o: LaunchOptions) => Promise<PwBrowser>;
} {
  const c = {
    launches: 0,
    last: undefined as PwBrowser | undefined,
    launch: async (o: LaunchOptions) => {
      c.launches++;
      c.last = await chromium.launch(o);
      return c.last;
    },
  };
  return c;
}

test('findChromium: explicit paths are used or refused, never replaced by a guess', () => {
  assert.deepEqual(findChromium({ executablePath: '/usr/bin/chromium' }), { path: '/usr/bin/chromium' });
  const bogus = findChromium({ executablePath: '/nonexistent/chrome' });
  assert.ok('reason' in bogus && bogus.reason.includes('/nonexistent/chrome (executablePath)'));
  const env = findChromium({ env: { GANTRY_CHROMIUM: '/nope' } });
  assert.ok('reason' in env && env.reason.includes('GANTRY_CHROMIUM'));
  assert.deepEqual(findChromium({ env: {}, candidates: ['/nope', '/usr/bin/chromium'] }), {
    path: '/usr/bin/chromium',
  });
  const none = findChromium({ env: {}, candidates: ['/nope'] });
  assert.ok('reason' in none && none.reason.includes('GANTRY_CHROMIUM'));
});

describe('capturePage', () => {
  const browser = new Browser({ logger: silentLogger });
  let app: TestServer;
  let wss: WebSocketServer;
  let sockets = 0;
  before(async () => {
    app = await serve({
      '/late/': RED_AFTER_FETCH,
      '/late/data': slow(700, 'rgb(255,0,0)'),
      // Two requests one after the other, as Dash fetches its layout and then the callbacks.
      '/chain/': html(`<style>body{margin:0}</style><script>
        fetch('a').then(r => r.text()).then(() => fetch('b')).then(r => r.text())
          .then(t => { document.body.style.background = t; });</script>`),
      '/chain/a': slow(400, 'x'),
      '/chain/b': slow(400, 'rgb(255,0,0)'),
      '/ws/': html(`<style>body{margin:0}</style><script>
        const ws = new WebSocket('ws://' + location.host + '/socket');
        ws.onmessage = (m) => { document.body.style.background = m.data; };</script>`),
      '/hang/': () => undefined,
      '/broken/': (_req, res) => res.writeHead(502).end('bad gateway'),
      '/plain/': html('plain'),
      '/apps/x/': html(`<script>fetch('/api/secret'); fetch('/apps/x/own');
        new WebSocket('ws://' + location.host + '/socket');</script>`),
      '/apps/x/own': slow(0, 'ok'),
      '/api/secret': slow(0, 'secret'),
    });
    wss = new WebSocketServer({ server: app.server, path: '/socket' });
    // Paints once after 300 ms, then stays open and silent, as a Streamlit/Shiny session does.
    wss.on('connection', (ws) => {
      sockets++;
      setTimeout(() => ws.send('rgb(255,0,0)'), 300);
    });
  });
  after(async () => {
    await browser.close();
    for (const c of wss.clients) c.terminate();
    wss.close();
    await app.close();
  });

  test('waits for content that arrives after load', async () => {
    // Without the network wait the picture is the blank page: this is what the wait is for.
    const blank = await browser.capturePage({
      url: `${app.url}/late/`,
      format: 'png',
      settleMs: 0,
      maxSettleMs: 0,
    });
    assert.ok(isWhite(center(blank)), `expected white, got ${center(blank).join(',')}`);
    const full = await browser.capturePage({ url: `${app.url}/late/`, format: 'png' });
    assert.ok(isRed(center(full)), `expected red, got ${center(full).join(',')}`);
    const chain = await browser.capturePage({ url: `${app.url}/chain/`, format: 'png' });
    assert.ok(isRed(center(chain)), `expected red, got ${center(chain).join(',')}`);
  });

  test('an open WebSocket does not hold the capture until the cap', async () => {
    const started = Date.now();
    const png = await browser.capturePage({ url: `${app.url}/ws/`, format: 'png', maxSettleMs: 6_000 });
    assert.ok(isRed(center(png)), `expected red, got ${center(png).join(',')}`);
    assert.ok(Date.now() - started < 4_000, `took ${Date.now() - started} ms`);
  });

  test('JPEG by default', async () => {
    const jpeg = await browser.capturePage({ url: `${app.url}/plain/` });
    assert.deepEqual([...jpeg.subarray(0, 3)], [0xff, 0xd8, 0xff]);
  });

  test('an app that never answers fails with a clear error', async () => {
    await assert.rejects(browser.capturePage({ url: `${app.url}/hang/`, timeoutMs: 1_000 }), (e) => {
      assert.ok(isGantryError(e, 'GANTRY_HEALTHCHECK_FAILED'));
      assert.equal(e.message, 'the app did not answer within 1 s');
      return true;
    });
    await assert.rejects(browser.capturePage({ url: `${app.url}/broken/` }), /answered HTTP 502/);
  });

  test('cookies reach the app; confineTo keeps requests out of the rest of the origin', async () => {
    const from = app.seen.length;
    const socketsBefore = sockets;
    await browser.capturePage({
      url: `${app.url}/apps/x/`,
      cookies: [{ name: '__Host-gantry_session', value: 's3cret' }],
      confineTo: `${app.url}/apps/x/`,
    });
    const seen = app.seen.slice(from);
    assert.deepEqual(
      seen.map((s) => s.path),
      ['/apps/x/', '/apps/x/own'],
    );
    assert.equal(seen[0]?.cookie, '__Host-gantry_session=s3cret');
    assert.equal(sockets, socketsBefore, 'no WebSocket outside the app either');
    // Control: without confineTo the page does reach /api (so the assertion above can fail).
    const before2 = app.seen.length;
    await browser.capturePage({ url: `${app.url}/apps/x/` });
    assert.ok(app.seen.slice(before2).some((s) => s.path === '/api/secret'));
    assert.equal(sockets, socketsBefore + 1);
  });

  test('confineTo keeps the session away from other ports of the host and from local addresses', async () => {
    // Cookies ignore ports: an app backend on another loopback port would receive the owner's session.
    const thief = await serve({ '/steal': slow(0, 'ok'), '/meta': slow(0, 'ok') });
    const port = new URL(thief.url).port;
    const page = await serve({
      '/apps/x/': html(`<script>fetch('${thief.url}/steal', { credentials: 'include', mode: 'no-cors' });
        fetch('http://localhost:${port}/meta', { mode: 'no-cors' });</script>`),
    });
    try {
      const cookies = [{ name: 'gantry_session', value: 's3cret' }];
      await browser.capturePage({ url: `${page.url}/apps/x/`, cookies, confineTo: `${page.url}/apps/x/` });
      assert.equal(thief.seen.length, 0, 'nothing reached the other port');
      // Control: unconfined, both requests arrive and the first carries the session.
      await browser.capturePage({ url: `${page.url}/apps/x/`, cookies });
      assert.deepEqual(thief.seen.map((s) => s.path).sort(), ['/meta', '/steal']);
      assert.equal(thief.seen.find((s) => s.path === '/steal')?.cookie, 'gantry_session=s3cret');
    } finally {
      await Promise.all([thief.close(), page.close()]);
    }
  });
});

describe('Browser lifecycle', () => {
  let app: TestServer;
  // These tests are about launches, not pictures: no waiting for the network.
  let quick: { url: string; settleMs: number };
  before(async () => {
    app = await serve({ '/': html('hello') });
    quick = { url: `${app.url}/`, settleMs: 0 };
  });
  after(() => app.close());

  test('one launch for concurrent captures, reused, closed when idle, relaunched after', async () => {
    const c = counting();
    const browser = new Browser({ logger: silentLogger, idleMs: 400, launch: c.launch });
    try {
      await Promise.all([1, 2, 3].map(() => browser.capturePage(quick)));
      assert.equal(c.launches, 1);
      const first = c.last!;
      await browser.capturePage(quick);
      assert.equal(c.launches, 1);
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(first.isConnected(), false, 'the idle browser was closed');
      await browser.capturePage(quick);
      assert.equal(c.launches, 2);
    } finally {
      await browser.close();
    }
    assert.equal(c.last?.isConnected(), false, 'close() closes the browser');
  });

  test('a browser that went away is replaced on the next capture', async () => {
    const c = counting();
    const browser = new Browser({ logger: silentLogger, launch: c.launch });
    try {
      await browser.capturePage(quick);
      await c.last!.close(); // as if it crashed
      await browser.capturePage(quick);
      assert.equal(c.launches, 2);
    } finally {
      await browser.close();
    }
  });

  test('no Chromium: unavailable, captures refused without launching', async () => {
    const c = counting();
    const browser = new Browser({
      logger: silentLogger,
      executablePath: '/nonexistent/chrome',
      launch: c.launch,
    });
    assert.equal(browser.available, false);
    await assert.rejects(browser.capturePage(quick), (e) => isGantryError(e, 'GANTRY_UNSUPPORTED'));
    assert.equal(c.launches, 0);
  });
});
