/**
 * The activator against real sockets: a real http.Server with the router in front, real
 * upstream servers started only when the test "wakes" the app, real clients.
 */
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { silentLogger } from '../log/index.js';
import { createRouter, type AppRoute, type Router, type RouterOptions } from './index.js';

const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const BROWSER =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function send(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const s = http.createServer(handler);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return s;
}

const portOf = (s: Server): number => (s.address() as AddressInfo).port;

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleeping = (app: string): AppRoute => ({ app, release: 1, backends: [], sleeping: true });

void describe('activator', { timeout: 30_000 }, () => {
  const servers: Server[] = [];
  const routers: Router[] = [];
  const wakes: string[] = [];

  /** A router in a real server; `onWake` records the app unless the test gives its own. */
  async function front(opts: Partial<RouterOptions> = {}): Promise<{ router: Router; port: number }> {
    const router = createRouter({ logger: silentLogger, onWake: (app) => wakes.push(app), ...opts });
    const s = await listen((req, res) => {
      if (!router.handle(req, res)) res.writeHead(418).end();
    });
    s.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
      if (!router.handleUpgrade(req, socket, head)) socket.destroy();
    });
    servers.push(s);
    routers.push(router);
    return { router, port: portOf(s) };
  }

  /** The app "starts": an upstream that answers with its name, the URL and the body it got. */
  async function start(router: Router, app: string): Promise<Server> {
    const up = await listen((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () =>
        res.end(JSON.stringify({ app, url: req.url, body, prefix: req.headers['x-forwarded-prefix'] })),
      );
    });
    servers.push(up);
    router.setRoute(app, {
      app,
      release: 2,
      backends: [{ id: `${app}.web.1`, host: '127.0.0.1', port: portOf(up) }],
    });
    return up;
  }

  afterEach(() => {
    wakes.length = 0;
  });

  after(async () => {
    for (const r of routers) await r.close();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  void test('100 simultaneous requests: one wake, all answered by the app once it is up', async () => {
    const { router, port } = await front();
    router.setRoute('crowd', sleeping('crowd'));
    const replies = Array.from({ length: 100 }, (_, i) =>
      i === 0
        ? send(port, '/apps/crowd/upload', {
            method: 'POST',
            body: 'held body',
            headers: { accept: 'text/html' },
          })
        : send(port, `/apps/crowd/api/${i}`, { headers: { 'user-agent': BROWSER } }),
    );
    await until(() => router.traffic('crowd')?.httpInflight === 100, 'all 100 held');
    assert.deepEqual(wakes, ['crowd']);
    await start(router, 'crowd');
    const all = await Promise.all(replies);
    assert.deepEqual(wakes, ['crowd'], 'woken exactly once');
    for (const [i, r] of all.entries()) {
      assert.equal(r.status, 200, `request ${i}: ${r.body}`);
      const seen = JSON.parse(r.body);
      assert.equal(seen.app, 'crowd');
      assert.equal(seen.prefix, '/apps/crowd');
      assert.equal(seen.url, i === 0 ? '/apps/crowd/upload' : `/apps/crowd/api/${i}`);
    }
    assert.equal(JSON.parse(all[0]!.body).body, 'held body', 'a held request body arrives intact');
    const t = router.traffic('crowd')!;
    assert.equal(t.requests, 100);
    assert.equal(t.errors, 0);
    assert.equal(t.httpInflight, 0);
  });

  void test('an onWake that sets the route at once still answers the request', async () => {
    const up = await listen((_req, res) => res.end('up'));
    servers.push(up);
    const backends = [{ id: 'sync.web.1', host: '127.0.0.1', port: portOf(up) }];
    const ref: { router?: Router } = {};
    const f = await front({ onWake: (app) => ref.router?.setRoute(app, { app, release: 2, backends }) });
    ref.router = f.router;
    f.router.setRoute('sync', sleeping('sync'));
    const r = await send(f.port, '/apps/sync/x');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'up');
  });

  void test('waiting too long: 503 "still starting" with Retry-After', async () => {
    const { router, port } = await front({ wakeTimeoutMs: 300 });
    router.setRoute('slow', sleeping('slow'));
    const t0 = performance.now();
    const r = await send(port, '/apps/slow/api', { headers: { accept: 'application/json' } });
    assert.ok(performance.now() - t0 >= 280, 'held for the wake timeout');
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '5');
    assert.match(JSON.parse(r.body).error.message, /still starting/);
    assert.deepEqual(wakes, ['slow']);
    const t = router.traffic('slow')!;
    assert.equal(t.requests, 1);
    assert.equal(t.errors, 1);
    assert.equal(t.httpInflight, 0);
  });

  void test('a full queue answers 503 at once', async () => {
    const { router, port } = await front({ wakeQueueLimit: 3 });
    router.setRoute('full', sleeping('full'));
    const held = [1, 2, 3].map((i) => send(port, `/apps/full/${i}`));
    await until(() => router.traffic('full')?.httpInflight === 3, 'three held');
    const t0 = performance.now();
    const over = await send(port, '/apps/full/4');
    assert.equal(over.status, 503);
    assert.ok(over.headers['retry-after']);
    assert.match(over.body, /too many requests/);
    assert.ok(performance.now() - t0 < 1_000, 'answered at once');
    await start(router, 'full');
    for (const r of await Promise.all(held)) assert.equal(r.status, 200);
  });

  void test('failWake answers every held request with the message and ends the spell', async () => {
    const { router, port } = await front();
    router.setRoute('broken', sleeping('broken'));
    const held = [1, 2].map(() => send(port, '/apps/broken/', { headers: { accept: 'application/json' } }));
    await until(() => router.traffic('broken')?.httpInflight === 2, 'two held');
    router.failWake('broken', 'the release step exited with code 1.');
    for (const r of await Promise.all(held)) {
      assert.equal(r.status, 503);
      assert.equal(r.headers['x-gantry-wake'], 'failed');
      assert.match(
        JSON.parse(r.body).error.message,
        /could not be started: the release step exited with code 1\./,
      );
    }
    assert.deepEqual(wakes, ['broken']);
    const again = send(port, '/apps/broken/');
    await until(() => wakes.length === 2, 'a second wake after the failure');
    await start(router, 'broken');
    assert.equal((await again).status, 200);
  });

  void test('a client that leaves while held leaves the queue', async () => {
    const { router, port } = await front();
    router.setRoute('gone', sleeping('gone'));
    const req = http.get({ host: '127.0.0.1', port, path: '/apps/gone/x', agent: false });
    req.on('error', () => undefined);
    await until(() => router.traffic('gone')?.httpInflight === 1, 'held');
    req.destroy();
    await until(() => router.traffic('gone')?.httpInflight === 0, 'left the queue');
    let hits = 0;
    const up = await start(router, 'gone');
    up.on('request', () => hits++);
    const r = await send(port, '/apps/gone/y');
    assert.equal(r.status, 200);
    assert.equal(hits, 1, 'only the new request reached the app');
    assert.equal(router.traffic('gone')!.errors, 0, 'a client leaving is not an error');
  });

  void test('bots never wake an app; people do, over WebSocket too', async () => {
    const { router, port } = await front();
    router.setRoute('shy', sleeping('shy'));
    for (const headers of [
      { 'user-agent': GOOGLEBOT, accept: 'text/html' },
      { 'user-agent': 'UptimeRobot/2.0', accept: '*/*' },
    ]) {
      const r = await send(port, '/apps/shy/', { headers });
      assert.equal(r.status, 503);
      assert.ok(r.headers['retry-after']);
      assert.match(r.body, /asleep/);
    }
    const botWs = new WebSocket(`ws://127.0.0.1:${port}/apps/shy/ws`, {
      headers: { 'user-agent': GOOGLEBOT },
    });
    botWs.on('error', () => undefined);
    const botStatus = await new Promise<number>((resolve) =>
      botWs.once('unexpected-response', (_q, res) => resolve(res.statusCode!)),
    );
    assert.equal(botStatus, 503);
    assert.deepEqual(wakes, [], 'no wake from bots');
    assert.equal(router.traffic('shy')!.lastActive, 0, 'bots are not activity');
    assert.equal(router.traffic('shy')!.requests, 2, 'but they are counted');

    const ws = new WebSocket(`ws://127.0.0.1:${port}/apps/shy/ws`, { headers: { 'user-agent': BROWSER } });
    ws.on('error', () => undefined);
    const res = await new Promise<IncomingMessage>((resolve) =>
      ws.once('unexpected-response', (_q, r) => resolve(r)),
    );
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '2');
    assert.deepEqual(wakes, ['shy'], 'a WebSocket from a person wakes the app');
  });

  void test('each new sleeping route is a new spell', async () => {
    const { router, port } = await front({ wakeTimeoutMs: 100 });
    router.setRoute('spell', sleeping('spell'));
    await send(port, '/apps/spell/');
    await send(port, '/apps/spell/');
    assert.deepEqual(wakes, ['spell']);
    router.setRoute('spell', sleeping('spell'));
    await send(port, '/apps/spell/');
    assert.deepEqual(wakes, ['spell', 'spell']);
  });

  void test('held requests: app removed → 404; app stopped (not sleeping) → 503', async () => {
    const { router, port } = await front();
    router.setRoute('gone2', sleeping('gone2'));
    router.setRoute('stop2', sleeping('stop2'));
    const a = send(port, '/apps/gone2/');
    const b = send(port, '/apps/stop2/');
    await until(
      () => router.traffic('gone2')?.httpInflight === 1 && router.traffic('stop2')?.httpInflight === 1,
      'held',
    );
    router.setRoute('gone2', undefined);
    router.setRoute('stop2', { app: 'stop2', release: 1, backends: [] });
    assert.equal((await a).status, 404);
    assert.equal((await b).status, 503);
  });
});
