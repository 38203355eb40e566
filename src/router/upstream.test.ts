/**
 * The proxy's upstream client against real sockets on 127.0.0.1: well-behaved Node
 * servers and raw TCP servers that misbehave on purpose.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { UpstreamPool, type UpstreamSink } from './upstream.js';

interface Result {
  status: number;
  headers: string[];
  body: Buffer;
  error?: Error;
}

/** A sink that collects the answer. `pauseFirst` holds the body back for a while (backpressure). */
function collect(opts: { pauseMs?: number } = {}): {
  sink: UpstreamSink;
  done: Promise<Result>;
  resume?: () => void;
} {
  const chunks: Buffer[] = [];
  const r: Result = { status: 0, headers: [], body: Buffer.alloc(0) };
  let finish!: (r: Result) => void;
  const done = new Promise<Result>((resolve) => (finish = resolve));
  const holder: { sink: UpstreamSink; done: Promise<Result>; resume?: () => void } = {
    done,
    sink: {
      onHead(status, _text, headers) {
        r.status = status;
        r.headers = headers;
      },
      onBody(chunk) {
        chunks.push(chunk);
        if (opts.pauseMs !== undefined && chunks.length === 1) {
          setTimeout(() => holder.resume?.(), opts.pauseMs);
          return false;
        }
        return true;
      },
      onEnd() {
        r.body = Buffer.concat(chunks);
        finish(r);
      },
      onError(error) {
        r.error = error;
        r.body = Buffer.concat(chunks);
        finish(r);
      },
    },
  };
  return holder;
}

const settings = { connectTimeoutMs: 1_000, headersTimeoutMs: 1_000, maxConnections: 8 };
const head = (method: string, path: string, extra = ''): string =>
  `${method} ${path} HTTP/1.1\r\nHost: test\r\n${extra}\r\n`;

void describe('upstream pool', { timeout: 30_000 }, () => {
  const servers: (Server | http.Server)[] = [];
  const rawSockets = new Set<Socket>();
  const pools: UpstreamPool[] = [];
  after(async () => {
    for (const p of pools) await p.destroy();
    for (const c of rawSockets) c.destroy();
    for (const s of servers) {
      if (s instanceof http.Server) s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  async function listenHttp(handler: http.RequestListener): Promise<{ port: number; sockets: Set<Socket> }> {
    const s = http.createServer(handler);
    const sockets = new Set<Socket>();
    s.on('connection', (c: Socket) => sockets.add(c));
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    servers.push(s);
    return { port: (s.address() as AddressInfo).port, sockets };
  }
  async function listenRaw(onConn: (c: Socket, n: number) => void): Promise<number> {
    let n = 0;
    const s = createServer((c) => {
      rawSockets.add(c);
      c.on('error', () => undefined);
      onConn(c, n++);
    });
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    servers.push(s);
    return (s.address() as AddressInfo).port;
  }
  const pool = (port: number, s = settings): UpstreamPool => {
    const p = new UpstreamPool('127.0.0.1', port, s);
    pools.push(p);
    return p;
  };
  const get = (p: UpstreamPool, path = '/', method = 'GET', extra = ''): Promise<Result> => {
    const c = collect();
    p.request({ method, head: head(method, path, extra), body: null, chunked: false, sink: c.sink });
    return c.done;
  };

  void test('keeps connections alive and reuses them', async () => {
    const { port, sockets } = await listenHttp((req, res) => res.end(`hi ${req.url}`));
    const p = pool(port);
    for (let i = 0; i < 5; i++) {
      const r = await get(p, `/${i}`);
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), `hi /${i}`);
    }
    assert.equal(sockets.size, 1);
    // Concurrent requests open more connections, bounded by maxConnections.
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => get(p, `/c${i}`)));
    assert.ok(rs.every((r, i) => r.body.toString() === `hi /c${i}`));
    assert.ok(sockets.size <= settings.maxConnections, `${sockets.size} connections`);
  });

  void test('a connection the app closed while idle is not reused', async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    server.keepAliveTimeout = 100;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const p = pool((server.address() as AddressInfo).port);
    assert.equal((await get(p)).body.toString(), 'ok');
    await sleep(250);
    assert.equal((await get(p)).body.toString(), 'ok');
  });

  void test('a reused connection closed before any answer: GET retried once, POST fails', async () => {
    // Answers the first request on each connection, then closes on the second without a word.
    const port = await listenRaw((c) => {
      let seen = 0;
      c.on('data', () => {
        if (++seen === 1) c.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst');
        else c.destroy();
      });
    });
    const p = pool(port);
    assert.equal((await get(p)).body.toString(), 'first');
    const retried = await get(p);
    assert.equal(retried.error, undefined);
    assert.equal(retried.body.toString(), 'first', 'answered on a fresh connection');
    await get(p); // leaves a used connection idle again
    const post = await get(p, '/', 'POST', 'Content-Length: 0\r\n');
    assert.ok(post.error, 'a POST is never sent twice');
  });

  void test('HEAD, 204 and 304 answers carry no body and keep the connection usable', async () => {
    const { port, sockets } = await listenHttp((req, res) => {
      if (req.url === '/204') res.writeHead(204).end();
      else if (req.url === '/304') res.writeHead(304, { etag: '"x"' }).end();
      else
        res.writeHead(200, { 'content-length': 11 }).end(req.method === 'HEAD' ? undefined : 'hello world');
    });
    const p = pool(port);
    const h = await get(p, '/', 'HEAD');
    assert.equal(h.status, 200);
    assert.equal(h.body.length, 0);
    assert.equal((await get(p, '/204')).status, 204);
    assert.equal((await get(p, '/304')).status, 304);
    assert.equal((await get(p, '/')).body.toString(), 'hello world');
    assert.equal(sockets.size, 1);
  });

  void test('bodies ended by closing the connection, many headers, 1xx before the answer', async () => {
    const port = await listenRaw((c) => {
      c.on('data', (d: Buffer) => {
        const path = d.toString().split(' ')[1];
        if (path === '/eof') {
          c.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end');
        } else if (path === '/many') {
          let h = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n';
          for (let i = 0; i < 50; i++) h += `X-H${i}: ${i}\r\n`;
          c.write(h + '\r\nok');
        } else {
          c.write('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n');
          setTimeout(() => c.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal'), 20);
        }
      });
    });
    const p = pool(port);
    assert.equal((await get(p, '/eof')).body.toString(), 'until the end');
    const many = await get(p, '/many');
    assert.equal(many.headers.length, 2 * 51);
    assert.equal(many.headers[many.headers.length - 1], '49');
    const hints = await get(p, '/hints');
    assert.equal(hints.status, 200);
    assert.equal(hints.body.toString(), 'real');
  });

  void test('a second, unasked-for answer never reaches the next request', async () => {
    const port = await listenRaw((c) => {
      c.on('data', () => {
        c.write(
          'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nmine' +
            'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged',
        );
      });
    });
    const p = pool(port);
    assert.equal((await get(p)).body.toString(), 'mine');
    const next = await get(p);
    assert.equal(next.body.toString(), 'mine', 'answered on a new connection, not with "forged"');
  });

  void test('request bodies: Content-Length streamed, chunked re-chunked', async () => {
    const { port } = await listenHttp((req: IncomingMessage, res) => {
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        h.update(c);
      });
      req.on('end', () => res.end(`${req.headers['transfer-encoding'] ?? 'length'} ${n} ${h.digest('hex')}`));
    });
    // The body source is a real IncomingMessage: a client request through a tiny front server.
    const p = pool(port);
    const front = http.createServer((req, res) => {
      const chunked = req.headers['transfer-encoding'] !== undefined;
      const c = collect();
      const extra = chunked
        ? 'Transfer-Encoding: chunked\r\n'
        : `Content-Length: ${req.headers['content-length']}\r\n`;
      p.request({ method: 'POST', head: head('POST', '/', extra), body: req, chunked, sink: c.sink });
      void c.done.then((r) => res.end(r.error ? `error ${r.error.message}` : r.body));
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    servers.push(front);
    const frontPort = (front.address() as AddressInfo).port;
    const body = Buffer.alloc(2 * 1024 * 1024 + 3, 'x');
    const sha = createHash('sha256').update(body).digest('hex');
    const send = (chunked: boolean): Promise<string> =>
      new Promise((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port: frontPort, method: 'POST', path: '/', agent: false },
          (res) => {
            let s = '';
            res.on('data', (c: Buffer) => (s += c.toString()));
            res.on('end', () => resolve(s));
          },
        );
        req.on('error', reject);
        if (chunked) {
          req.write(body.subarray(0, 1000));
          req.write(body.subarray(1000));
          req.end();
        } else {
          req.setHeader('content-length', body.length);
          req.end(body);
        }
      });
    assert.equal(await send(false), `length ${body.length} ${sha}`);
    assert.equal(await send(true), `chunked ${body.length} ${sha}`);
  });

  void test('backpressure: a paused sink gets the whole body later', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 'y');
    const { port } = await listenHttp((_req, res) => res.end(big));
    const p = pool(port);
    const c = collect({ pauseMs: 200 });
    const ex = p.request({ method: 'GET', head: head('GET', '/'), body: null, chunked: false, sink: c.sink });
    c.resume = () => ex.resume();
    const t0 = performance.now();
    const r = await c.done;
    assert.ok(performance.now() - t0 >= 190);
    assert.equal(r.body.length, big.length);
    assert.equal((await get(p)).body.length, big.length, 'the connection is fine afterwards');
  });

  void test('headers timeout, refused connection, abort, destroy, close', async () => {
    const hang = await listenRaw(() => undefined);
    const slow = pool(hang, { ...settings, headersTimeoutMs: 300 });
    const t0 = performance.now();
    const timedOut = await get(slow);
    assert.equal((timedOut.error as { code?: string }).code, 'HEADERS_TIMEOUT');
    assert.ok(performance.now() - t0 < 1_500);

    const closedPort = await listenRaw(() => undefined);
    await new Promise<void>((resolve) => servers.pop()!.close(() => resolve()));
    const refused = await get(pool(closedPort));
    assert.match(String((refused.error as { code?: string }).code), /ECONNREFUSED/);
    // With one connection allowed, every waiting request still gets its answer (an error).
    const one = pool(closedPort, { ...settings, maxConnections: 1 });
    const all = await Promise.all([get(one), get(one), get(one)]);
    assert.ok(all.every((r) => r.error !== undefined));

    const p = pool(hang);
    const c = collect();
    const ex = p.request({ method: 'GET', head: head('GET', '/'), body: null, chunked: false, sink: c.sink });
    await sleep(20);
    ex.abort(new Error('client left'));
    assert.equal((await c.done).error?.message, 'client left');

    const inflight = get(p);
    await sleep(20);
    const closing = p.close();
    let closed = false;
    void closing.then(() => (closed = true));
    await sleep(50);
    assert.equal(closed, false, 'close waits for the request in flight');
    await p.destroy();
    assert.equal(((await inflight).error as { code?: string }).code, 'DESTROYED');
    await closing;
  });
});
