/**
 * Integration: real upstream servers and a real http.Server with the router, all on
 * 127.0.0.1, talking over real sockets.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket, { WebSocketServer } from 'ws';
import { silentLogger } from '../log/index.js';
import { createRouter, type Backend, type Router } from './index.js';

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const portOf = (s: Server): number => (s.address() as AddressInfo).port;
const backendOf = (id: string, s: Server): Backend => ({ id, host: '127.0.0.1', port: portOf(s) });

async function stop(s: Server): Promise<void> {
  s.closeAllConnections();
  await new Promise<void>((resolve) => s.close(() => resolve()));
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request with the path sent exactly as given (no normalisation), one connection each. */
function send(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
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
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Upstream that answers with what it saw. */
function echo(name: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const hash = createHash('sha256');
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      hash.update(c);
    });
    req.on('end', () => {
      res.writeHead(200, {
        'content-type': 'application/json',
        connection: 'keep-alive, x-hop',
        'x-hop': '1',
      });
      res.end(
        JSON.stringify({
          name,
          method: req.method,
          url: req.url,
          headers: req.headers,
          size,
          sha: hash.digest('hex'),
        }),
      );
    });
  };
}

void describe('router', { timeout: 20_000 }, () => {
  let router: Router;
  let front: Server;
  let port: number;
  const upstreams: Server[] = [];
  let tmp: string;

  async function upstream(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
    const s = await listen(handler);
    upstreams.push(s);
    return s;
  }

  before(async () => {
    router = createRouter({ logger: silentLogger, headersTimeoutMs: 1_000 });
    front = await listen((req, res) => {
      if (!router.handle(req, res)) {
        res.writeHead(418);
        res.end('not the router');
      }
    });
    front.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
      if (!router.handleUpgrade(req, socket, head)) socket.destroy();
    });
    port = portOf(front);
    tmp = await mkdtemp(join(tmpdir(), 'gantry-router-'));
  });

  after(async () => {
    await router.close();
    await stop(front);
    await Promise.all(upstreams.map(stop));
    await rm(tmp, { recursive: true, force: true });
  });

  void test('proxies the full path with forwarded headers, minus hop-by-hop', async () => {
    const up = await upstream(echo('a'));
    router.setRoute('echo', { app: 'echo', release: 1, backends: [backendOf('echo.web.1', up)] });
    const r = await send(port, '/apps/echo/some/path?q=1&r=%20', {
      headers: { 'x-forwarded-for': '6.6.6.6', connection: 'x-secret', 'x-secret': 'no', cookie: 'a=b' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-hop'], undefined, 'hop-by-hop response header removed');
    const seen = JSON.parse(r.body);
    assert.equal(seen.url, '/apps/echo/some/path?q=1&r=%20');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${port}`);
    assert.equal(seen.headers['x-forwarded-prefix'], '/apps/echo');
    assert.equal(seen.headers.host, `127.0.0.1:${port}`);
    assert.equal(seen.headers.cookie, 'a=b');
    assert.equal(seen.headers['x-secret'], undefined);
  });

  void test('requests outside /apps are passed on', async () => {
    const r = await send(port, '/api/apps');
    assert.equal(r.status, 418);
  });

  void test('POST bodies stream upstream intact', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024 + 7, 'gantry');
    const r = await send(port, '/apps/echo/upload', { method: 'POST', body });
    const seen = JSON.parse(r.body);
    assert.equal(seen.method, 'POST');
    assert.equal(seen.size, body.length);
    assert.equal(seen.sha, createHash('sha256').update(body).digest('hex'));
  });

  void test('missing trailing slash redirects, keeping the query', async () => {
    const g = await send(port, '/apps/echo?x=1');
    assert.equal(g.status, 301);
    assert.equal(g.headers.location, '/apps/echo/?x=1');
    const p = await send(port, '/apps/echo', { method: 'POST', body: 'x' });
    assert.equal(p.status, 308);
  });

  void test('unknown app: 404 page for browsers, JSON for API clients', async () => {
    const html = await send(port, '/apps/nope/', { headers: { accept: 'text/html,*/*' } });
    assert.equal(html.status, 404);
    assert.match(html.headers['content-type']!, /text\/html/);
    assert.match(html.body, /App not found/);
    assert.match(html.body, /nope/);
    const json = await send(port, '/apps/nope/x', { headers: { accept: 'application/json' } });
    assert.equal(json.status, 404);
    assert.equal(JSON.parse(json.body).error.status, 404);
  });

  void test('app without backends: 503 with Retry-After', async () => {
    router.setRoute('idle', { app: 'idle', release: 1, backends: [] });
    const r = await send(port, '/apps/idle/');
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '5');
  });

  void test('dead backend: fast 502', async () => {
    const gone = await listen(() => {});
    const b = backendOf('dead.web.1', gone);
    await stop(gone);
    router.setRoute('dead', { app: 'dead', release: 1, backends: [b] });
    const t0 = performance.now();
    const r = await send(port, '/apps/dead/', { headers: { accept: 'text/html' } });
    assert.equal(r.status, 502);
    assert.match(r.body, /did not answer/);
    assert.ok(performance.now() - t0 < 1_000);
    assert.equal(router.inFlight(b), 0);
  });

  void test('backend that never answers: 504 after the headers timeout', async () => {
    const up = await upstream(() => {});
    router.setRoute('hang', { app: 'hang', release: 1, backends: [backendOf('hang.web.1', up)] });
    const t0 = performance.now();
    const r = await send(port, '/apps/hang/');
    assert.equal(r.status, 504);
    assert.ok(performance.now() - t0 < 3_000);
  });

  void test('backend dying mid-response cuts the client connection', async () => {
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 50);
    });
    router.setRoute('flaky', { app: 'flaky', release: 1, backends: [backendOf('flaky.web.1', up)] });
    await assert.rejects(send(port, '/apps/flaky/'), /aborted|ECONNRESET|socket hang up/);
  });

  void test('chunked and SSE responses arrive chunk by chunk', async () => {
    let secondWrittenAt = 0;
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: first\n\n');
      setTimeout(() => {
        secondWrittenAt = performance.now();
        res.end('data: second\n\n');
      }, 300);
    });
    router.setRoute('sse', { app: 'sse', release: 1, backends: [backendOf('sse.web.1', up)] });
    const arrivals = await new Promise<{ at: number; text: string }[]>((resolve, reject) => {
      const out: { at: number; text: string }[] = [];
      http
        .get({ host: '127.0.0.1', port, path: '/apps/sse/events', agent: false }, (res) => {
          res.on('data', (c: Buffer) => out.push({ at: performance.now(), text: c.toString() }));
          res.on('end', () => resolve(out));
        })
        .on('error', reject);
    });
    assert.equal(arrivals[0]!.text, 'data: first\n\n');
    assert.ok(arrivals[0]!.at < secondWrittenAt, 'first chunk arrived before the second was written');
    assert.equal(arrivals.map((a) => a.text).join(''), 'data: first\n\ndata: second\n\n');
  });

  void test('client abort aborts the upstream request', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((r) => (upstreamClosed = r));
    const up = await upstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: hi\n\n');
      req.socket.on('close', upstreamClosed);
    });
    const b = backendOf('abort.web.1', up);
    router.setRoute('abort', { app: 'abort', release: 1, backends: [b] });
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/apps/abort/', agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
    });
    await closed;
    await sleep(20);
    assert.equal(router.inFlight(b), 0);
  });

  void test('WebSocket echo through the router, counted while open', async () => {
    const wsHttp = await upstream((_req, res) => res.end());
    const wss = new WebSocketServer({ server: wsHttp });
    let upgradeHeaders: http.IncomingHttpHeaders = {};
    let upgradeUrl = '';
    wss.on('connection', (sock, req) => {
      upgradeHeaders = req.headers;
      upgradeUrl = req.url!;
      sock.on('message', (m) => sock.send(`echo:${m.toString()}`));
    });
    const b = backendOf('ws.web.1', wsHttp);
    router.setRoute('ws', { app: 'ws', release: 1, backends: [b] });
    const client = new WebSocket(`ws://127.0.0.1:${port}/apps/ws/socket?x=1`);
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    const reply = new Promise<string>((resolve) => client.once('message', (m) => resolve(m.toString())));
    client.send('hello');
    assert.equal(await reply, 'echo:hello');
    assert.equal(upgradeUrl, '/apps/ws/socket?x=1');
    assert.equal(upgradeHeaders['x-forwarded-prefix'], '/apps/ws');
    assert.equal(upgradeHeaders['x-forwarded-for'], '127.0.0.1');
    assert.equal(router.inFlight(b), 1);
    client.close();
    await new Promise((resolve) => client.once('close', resolve));
    await sleep(50);
    assert.equal(router.inFlight(b), 0);
    wss.close();
  });

  void test('WebSocket to a dead backend gets 502', async () => {
    const gone = await listen(() => {});
    const b = backendOf('wsdead.web.1', gone);
    await stop(gone);
    router.setRoute('wsdead', { app: 'wsdead', release: 1, backends: [b] });
    const client = new WebSocket(`ws://127.0.0.1:${port}/apps/wsdead/`);
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e)); // ws reports the refused handshake here too
    const status = await new Promise<number>((resolve) =>
      client.once('unexpected-response', (_req, res) => resolve(res.statusCode!)),
    );
    assert.equal(status, 502);
    client.terminate();
  });

  void test('least-outstanding balancing across two backends', async () => {
    const hits = { slow: 0, fast: 0 };
    let releaseSlow!: () => void;
    const slowGate = new Promise<void>((r) => (releaseSlow = r));
    const slow = await upstream((_req, res) => {
      hits.slow++;
      void slowGate.then(() => res.end('slow'));
    });
    const fast = await upstream((_req, res) => {
      hits.fast++;
      res.end('fast');
    });
    const bs = backendOf('bal.web.1', slow);
    const bf = backendOf('bal.web.2', fast);
    router.setRoute('bal', { app: 'bal', release: 1, backends: [bs, bf] });
    // The first request goes to the first backend and stays outstanding there.
    const pending = send(port, '/apps/bal/');
    while (hits.slow === 0) await sleep(5);
    assert.equal(router.inFlight(bs), 1);
    // Plain round-robin would send every other request to the busy backend.
    for (let i = 0; i < 6; i++) assert.equal((await send(port, '/apps/bal/')).body, 'fast');
    assert.deepEqual(hits, { slow: 1, fast: 6 });
    // Idle backends share ties round-robin.
    releaseSlow();
    assert.equal((await pending).body, 'slow');
    await Promise.all([0, 1, 2, 3].map(() => send(port, '/apps/bal/')));
    assert.equal(hits.slow + hits.fast, 11);
    assert.ok(hits.slow >= 2, `ties rotate: ${JSON.stringify(hits)}`);
  });

  void test('atomic route switch; drain waits for the slow in-flight request', async () => {
    let gotSlow!: () => void;
    const slowStarted = new Promise<void>((r) => (gotSlow = r));
    let upstreamDoneAt = 0;
    const v1 = await upstream((_req, res) => {
      gotSlow();
      setTimeout(() => {
        upstreamDoneAt = performance.now();
        res.end('v1');
      }, 400);
    });
    const v2 = await upstream((_req, res) => res.end('v2'));
    const b1 = backendOf('swap.web.1', v1);
    const b2 = backendOf('swap.web.2', v2);
    router.setRoute('swap', { app: 'swap', release: 1, backends: [b1] });
    const slowReq = send(port, '/apps/swap/');
    await slowStarted;
    router.setRoute('swap', { app: 'swap', release: 2, backends: [b2] });
    assert.equal(router.getRoute('swap')?.release, 2);
    assert.equal((await send(port, '/apps/swap/')).body, 'v2', 'new requests go to the new release at once');
    assert.equal(router.inFlight(b1), 1);
    await router.drain([b1], 5_000);
    const drainedAt = performance.now();
    const slow = await slowReq;
    assert.equal(slow.status, 200);
    assert.equal(slow.body, 'v1', 'the in-flight request finished on the old backend');
    // The client may read the last bytes a moment after drain resolves; the upstream must have finished first.
    assert.ok(
      upstreamDoneAt > 0 && upstreamDoneAt <= drainedAt,
      'drain resolved only after the request finished',
    );
    assert.equal(router.inFlight(b1), 0);
  });

  void test('drain deadline closes WebSockets still on the old backend', async () => {
    const wsHttp = await upstream((_req, res) => res.end());
    const wss = new WebSocketServer({ server: wsHttp });
    const b = backendOf('wsold.web.1', wsHttp);
    router.setRoute('wsold', { app: 'wsold', release: 1, backends: [b] });
    const client = new WebSocket(`ws://127.0.0.1:${port}/apps/wsold/`);
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    const closed = new Promise((resolve) => client.once('close', resolve));
    router.setRoute('wsold', undefined);
    const t0 = performance.now();
    await router.drain([b], 150);
    assert.ok(performance.now() - t0 >= 140);
    await closed;
    await sleep(20);
    assert.equal(router.inFlight(b), 0);
    wss.close();
  });

  void test('encoded and dot-segment paths are refused before routing', async () => {
    let hits = 0;
    const up = await upstream((_req, res) => {
      hits++;
      res.end();
    });
    router.setRoute('guard', { app: 'guard', release: 1, backends: [backendOf('guard.web.1', up)] });
    for (const p of [
      '/apps/guard/%2e%2e/x',
      '/apps/guard/a%2fb',
      '/apps/guard/a%5Cb',
      '/apps/guard/../x',
      '/apps/guard/%00',
    ]) {
      assert.equal((await send(port, p)).status, 400, p);
    }
    assert.equal(hits, 0);
  });

  void describe('static sites', () => {
    let root: string;
    before(async () => {
      root = join(tmp, 'site');
      await mkdir(join(root, 'sub'), { recursive: true });
      await writeFile(join(root, 'index.html'), '<h1>home</h1>');
      await writeFile(join(root, 'app.js'), 'console.log(1)');
      await writeFile(join(root, 'sub', 'index.html'), '<h1>sub</h1>');
      await writeFile(join(root, '.env'), 'SECRET=1');
      await writeFile(join(tmp, 'outside.txt'), 'host secret');
      await symlink(join(tmp, 'outside.txt'), join(root, 'escape.txt'));
      await symlink(tmp, join(root, 'updir'));
      await symlink(join(root, 'app.js'), join(root, 'alias.js'));
      router.setRoute('site', { app: 'site', release: 1, backends: [], staticRoot: root });
    });

    void test('index.html, content types, cache headers', async () => {
      const home = await send(port, '/apps/site/');
      assert.equal(home.status, 200);
      assert.equal(home.body, '<h1>home</h1>');
      assert.equal(home.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(home.headers['cache-control'], 'no-cache');
      assert.ok(home.headers.etag && home.headers['last-modified']);
      const js = await send(port, '/apps/site/app.js');
      assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
      assert.equal(js.headers['cache-control'], 'public, max-age=3600');
      assert.equal(js.body, 'console.log(1)');
      assert.equal(
        (await send(port, '/apps/site/alias.js')).body,
        'console.log(1)',
        'links inside the root work',
      );
    });

    void test('304 on matching validators; HEAD has no body', async () => {
      const first = await send(port, '/apps/site/app.js');
      const again = await send(port, '/apps/site/app.js', {
        headers: { 'if-none-match': first.headers.etag! },
      });
      assert.equal(again.status, 304);
      assert.equal(again.body, '');
      const ims = await send(port, '/apps/site/app.js', {
        headers: { 'if-modified-since': first.headers['last-modified']! },
      });
      assert.equal(ims.status, 304);
      const head = await send(port, '/apps/site/app.js', { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], '14');
      assert.equal(head.body, '');
    });

    void test('directories redirect to the slash form and serve their index', async () => {
      const r = await send(port, '/apps/site/sub?x=1');
      assert.equal(r.status, 301);
      assert.equal(r.headers.location, '/apps/site/sub/?x=1');
      assert.equal((await send(port, '/apps/site/sub/')).body, '<h1>sub</h1>');
    });

    void test('missing files, dotfiles and symlinks out of the root are 404', async () => {
      for (const p of [
        '/apps/site/missing.js',
        '/apps/site/.env',
        '/apps/site/%2eenv',
        '/apps/site/escape.txt',
        '/apps/site/updir/outside.txt',
      ]) {
        const r = await send(port, p);
        assert.equal(r.status, 404, p);
        assert.ok(!r.body.includes('secret') && !r.body.includes('SECRET'), p);
      }
      assert.equal((await send(port, '/apps/site/', { method: 'POST', body: 'x' })).status, 405);
    });
  });
});
