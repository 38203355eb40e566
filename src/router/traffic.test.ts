/** Per-app traffic counters: pure bucket placement, then through the real router. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket, { WebSocketServer } from 'ws';
import { silentLogger } from '../log/index.js';
import { createRouter, LATENCY_BUCKETS_MS, type Backend, type Router } from './index.js';
import {
  ACTIVE_RESOLUTION_MS,
  finishRequest,
  observeLatency,
  snapshotTraffic,
  TrafficCounter,
} from './traffic.js';

const BOT = 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)';
const PERSON =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15';
/** Longer than the resolution of lastActive, so a refresh would show. */
const TICK = ACTIVE_RESOLUTION_MS + 150;

void test('latency lands in the first bucket whose bound it does not exceed; snapshots are copies', () => {
  const t = new TrafficCounter();
  for (const ms of [0.2, 5, 5.01, 300, 20_000]) observeLatency(t, ms);
  const i = (bound: number): number => LATENCY_BUCKETS_MS.indexOf(bound);
  assert.equal(t.latencyBuckets.length, LATENCY_BUCKETS_MS.length + 1);
  assert.equal(t.latencyBuckets[0], 2, '0.2 ms and 5 ms (≤ 5)');
  assert.equal(t.latencyBuckets[i(10)], 1, '5.01 ms');
  assert.equal(t.latencyBuckets[i(500)], 1, '300 ms');
  assert.equal(t.latencyBuckets[LATENCY_BUCKETS_MS.length], 1, '20 s: the +Inf bucket');
  assert.equal(t.latencySumMs, 0.2 + 5 + 5.01 + 300 + 20_000);
  const snap = snapshotTraffic(t);
  t.latencyBuckets[0]!++;
  assert.equal(snap.latencyBuckets[0], 2);
});

void test('finishRequest counts, flags errors, and never takes a bot for activity', () => {
  const t = new TrafficCounter();
  const bot = { rawHeaders: ['User-Agent', BOT] } as unknown as IncomingMessage;
  const person = { rawHeaders: ['User-Agent', PERSON] } as unknown as IncomingMessage;
  t.httpInflight = 3;
  finishRequest(t, bot, true, Date.now());
  finishRequest(t, bot, false, Date.now());
  assert.deepEqual([t.httpInflight, t.requests, t.errors, t.lastActive], [1, 2, 1, 0]);
  finishRequest(t, person, false, Date.now());
  assert.ok(Date.now() - t.lastActive < 1_000);
  assert.equal(
    t.latencyBuckets.reduce((a, b) => a + b, 0),
    3,
  );
});

void describe('traffic through the router', { timeout: 30_000 }, () => {
  let router: Router;
  let port: number;
  const servers: Server[] = [];
  let wss: WebSocketServer;
  let b1: Backend;

  async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
    const s = http.createServer(handler);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    servers.push(s);
    return s;
  }

  const send = (path: string, ua = PERSON): Promise<number> =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path, headers: { 'user-agent': ua }, agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        })
        .on('error', reject);
    });

  before(async () => {
    router = createRouter({ logger: silentLogger });
    const front = await listen((req, res) => {
      if (!router.handle(req, res)) res.writeHead(418).end();
    });
    front.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
      if (!router.handleUpgrade(req, socket, head)) socket.destroy();
    });
    port = (front.address() as AddressInfo).port;
    const app = await listen((req, res) => {
      if (req.url!.endsWith('/fail')) res.writeHead(500).end('oops');
      else if (req.url!.endsWith('/slow')) setTimeout(() => res.end('slow'), 120);
      else res.end('ok');
    });
    wss = new WebSocketServer({ server: app });
    wss.on('connection', (sock, req) => {
      if (req.url!.endsWith('/push')) {
        const timer = setInterval(() => sock.send('tick'), 100);
        sock.on('close', () => clearInterval(timer));
      }
      sock.on('message', (m) => sock.send(m));
    });
    b1 = { id: 'tr.web.1', host: '127.0.0.1', port: (app.address() as AddressInfo).port };
    router.setRoute('tr', { app: 'tr', release: 1, backends: [b1] });
  });

  after(async () => {
    await router.close();
    wss.close();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  void test('requests, errors, in-flight and latency; counters survive route swaps', async () => {
    assert.equal(router.traffic('nope'), undefined);
    const before = router.traffic('tr')!;
    assert.equal(before.requests, 0);
    assert.equal(await send('/apps/tr/'), 200);
    assert.equal(await send('/apps/tr/fail'), 500);
    const slow = send('/apps/tr/slow');
    const deadline = Date.now() + 5_000;
    while (router.traffic('tr')!.httpInflight !== 1 && Date.now() < deadline) await sleep(5);
    assert.equal(router.traffic('tr')!.httpInflight, 1);
    assert.equal(await slow, 200);
    // A new release on a dead port: the counters carry on, and the router's 502 is an error.
    const dead = await listen(() => undefined);
    const deadPort = (dead.address() as AddressInfo).port;
    dead.close();
    router.setRoute('tr', {
      app: 'tr',
      release: 2,
      backends: [{ id: 'tr.web.2', host: '127.0.0.1', port: deadPort }],
    });
    assert.equal(await send('/apps/tr/'), 502);
    router.setRoute('tr', { app: 'tr', release: 3, backends: [b1] });

    const t = router.traffic('tr')!;
    assert.equal(t.requests, 4);
    assert.equal(t.errors, 2, 'the app’s 500 and the router’s 502');
    assert.equal(t.httpInflight, 0);
    assert.equal(
      t.latencyBuckets.reduce((a, b) => a + b, 0),
      4,
    );
    const over100 = t.latencyBuckets.slice(LATENCY_BUCKETS_MS.indexOf(250)).reduce((a, b) => a + b, 0);
    assert.ok(
      over100 >= 1,
      `the 120 ms request is above the 100 ms bucket: ${JSON.stringify(t.latencyBuckets)}`,
    );
    assert.ok(t.latencySumMs >= 100, `latency sum ${t.latencySumMs}`);
    assert.deepEqual(
      [...router.allTraffic()].map(([app, x]) => [app, x.requests]),
      [['tr', 4]],
    );
  });

  void test('bots are counted but never refresh lastActive', async () => {
    await send('/apps/tr/');
    const seen = router.traffic('tr')!.lastActive;
    assert.ok(seen > 0 && Date.now() - seen < 5_000);
    await sleep(TICK);
    const requests = router.traffic('tr')!.requests;
    assert.equal(await send('/apps/tr/', BOT), 200);
    assert.equal(await send('/apps/tr/slow', BOT), 200);
    assert.equal(router.traffic('tr')!.lastActive, seen, 'bots are not activity');
    assert.equal(router.traffic('tr')!.requests, requests + 2, 'but they are counted');
    await send('/apps/tr/');
    assert.ok(router.traffic('tr')!.lastActive > seen, 'a person is');
  });

  /** Opens a WebSocket through the router and waits for the upgrade. */
  async function open(path: string, ua = PERSON): Promise<WebSocket> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/apps/tr/${path}`, { headers: { 'user-agent': ua } });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return ws;
  }

  void test('a silent WebSocket does not move lastActive; frames either way do', async () => {
    const silent = await open('silent');
    assert.equal(router.traffic('tr')!.webSockets, 1);
    const opened = router.traffic('tr')!.lastActive;
    await sleep(TICK);
    assert.equal(router.traffic('tr')!.lastActive, opened, 'an open, silent WebSocket is not activity');

    // Frames from the app to a silent client.
    const push = await open('push');
    await sleep(TICK);
    const pushed = router.traffic('tr')!.lastActive;
    await sleep(TICK);
    assert.ok(router.traffic('tr')!.lastActive > pushed, 'frames from the app are activity');
    push.close();

    // Frames from the client (echoed).
    await sleep(TICK);
    const before = router.traffic('tr')!.lastActive;
    const echoed = new Promise((resolve) => silent.once('message', resolve));
    silent.send('hi');
    await echoed;
    assert.ok(router.traffic('tr')!.lastActive > before, 'frames from the client are activity');

    // A bot's frames are not.
    const bot = await open('push', BOT);
    await sleep(TICK);
    const quiet = router.traffic('tr')!.lastActive;
    await sleep(TICK);
    assert.equal(router.traffic('tr')!.lastActive, quiet, 'a bot’s WebSocket is not activity');
    const requests = router.traffic('tr')!.requests;
    for (const ws of [silent, bot]) {
      const closed = new Promise((resolve) => ws.once('close', resolve));
      ws.close();
      await closed;
    }
    const deadline = Date.now() + 5_000;
    while (router.traffic('tr')!.webSockets !== 0 && Date.now() < deadline) await sleep(5);
    assert.equal(router.traffic('tr')!.webSockets, 0);
    assert.ok(router.traffic('tr')!.requests >= requests + 2, 'closed WebSockets count as requests');
  });
});
