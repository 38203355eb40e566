/** Session affinity through the real router, with real HTTP and WebSocket backends. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { silentLogger } from '../log/index.js';
import { createRouter, type Backend, type Router } from './index.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function send(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const s = http.createServer(handler);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return s;
}

/** `name=value` of the affinity Set-Cookie, checking its attributes. */
function affinityCookie(r: Reply, app: string): string | undefined {
  const set = r.headers['set-cookie']?.find((c) => c.startsWith('gantry_affinity='));
  if (set === undefined) return undefined;
  const [pair, ...attrs] = set.split(';').map((s) => s.trim());
  assert.deepEqual(attrs.sort(), [`Path=/apps/${app}/`, 'HttpOnly', 'SameSite=Lax'].sort());
  return pair;
}

void describe('session affinity', { timeout: 30_000 }, () => {
  let router: Router;
  let port: number;
  const servers: Server[] = [];
  const wss: WebSocketServer[] = [];
  const backends: Backend[] = [];
  let releaseSlow: (() => void) | undefined;

  before(async () => {
    router = createRouter({ logger: silentLogger });
    const front = await listen((req, res) => {
      if (!router.handle(req, res)) res.writeHead(418).end();
    });
    front.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
      if (!router.handleUpgrade(req, socket, head)) socket.destroy();
    });
    servers.push(front);
    port = (front.address() as AddressInfo).port;
    for (const id of ['aff.web.1', 'aff.web.2']) {
      const s = await listen((req, res) => {
        if (req.url!.endsWith('/slow')) {
          releaseSlow = () => res.end(id);
          return;
        }
        res.setHeader('set-cookie', 'app=1; Path=/');
        res.end(JSON.stringify({ id, cookie: req.headers.cookie }));
      });
      const w = new WebSocketServer({ server: s });
      w.on('connection', (sock) => sock.send(id));
      servers.push(s);
      wss.push(w);
      backends.push({ id, host: '127.0.0.1', port: (s.address() as AddressInfo).port });
    }
  });

  after(async () => {
    await router.close();
    for (const w of wss) w.close();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  void test('a browser sticks to its backend, even a busier one, until it leaves the route', async () => {
    router.setRoute('aff', { app: 'aff', release: 1, backends, affinity: true });
    const first = await send(port, '/apps/aff/');
    const pair = affinityCookie(first, 'aff');
    assert.ok(pair, 'the first answer pins the browser');
    const pinned = JSON.parse(first.body).id as string;
    assert.equal(pair, `gantry_affinity=${pinned}`);
    assert.ok(first.headers['set-cookie']!.includes('app=1; Path=/'), "the app's own cookies still pass");

    // A slow request keeps the pinned backend busy: least-outstanding alone would pick the other.
    const cookie = { cookie: `a=1; ${pair}` };
    const slow = send(port, '/apps/aff/slow', cookie);
    const pinnedBackend = backends.find((b) => b.id === pinned)!;
    const other = backends.find((b) => b.id !== pinned)!;
    const deadline = Date.now() + 5_000;
    while (router.inFlight(pinnedBackend) === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    assert.equal(router.inFlight(pinnedBackend), 1);
    for (let i = 0; i < 4; i++) {
      const r = await send(port, '/apps/aff/', cookie);
      const seen = JSON.parse(r.body);
      assert.equal(seen.id, pinned);
      assert.equal(seen.cookie, 'a=1', 'the affinity cookie is not forwarded');
      assert.equal(affinityCookie(r, 'aff'), undefined, 'no new cookie while pinned');
    }
    const plain = JSON.parse((await send(port, '/apps/aff/')).body).id;
    assert.equal(plain, other.id, 'a browser without the cookie goes to the less busy backend');
    releaseSlow!();
    assert.equal((await slow).body, pinned);

    // The pinned backend leaves: the browser is re-pinned to one that is still there.
    router.setRoute('aff', { app: 'aff', release: 2, backends: [other], affinity: true });
    const moved = await send(port, '/apps/aff/', cookie);
    assert.equal(JSON.parse(moved.body).id, other.id);
    assert.equal(affinityCookie(moved, 'aff'), `gantry_affinity=${other.id}`);
  });

  void test('WebSocket upgrades honour the cookie', async () => {
    router.setRoute('aff', { app: 'aff', release: 3, backends, affinity: true });
    for (const b of [...backends, ...backends]) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/apps/aff/ws`, {
        headers: { cookie: `gantry_affinity=${b.id}` },
      });
      const hello = await new Promise<string>((resolve, reject) => {
        ws.once('message', (m) => resolve(m.toString()));
        ws.once('error', reject);
      });
      assert.equal(hello, b.id);
      ws.close();
    }
  });

  void test('without affinity there is no cookie', async () => {
    router.setRoute('free', { app: 'free', release: 1, backends });
    const r = await send(port, '/apps/free/');
    assert.equal(affinityCookie(r, 'free'), undefined);
  });
});
