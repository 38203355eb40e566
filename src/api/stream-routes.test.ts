import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { silentLogger } from '../log/index.js';
import { buildApi } from './index.js';
import { FakePlatform } from './fake-platform.js';
import { openSse, type SseStream } from './sse.js';
import { testIdentity, type TestIdentity } from './testing.js';

interface SseEvent {
  event: string;
  data: unknown;
}

/** A Server-Sent Events reader over fetch: events in order, comments counted. */
class SseClient {
  readonly res: Response;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #abort: AbortController;
  #buffer = '';
  #events: SseEvent[] = [];
  comments: string[] = [];
  ended = false;

  constructor(res: Response, abort: AbortController) {
    this.res = res;
    this.#abort = abort;
    this.#reader = res.body!.getReader();
  }

  #parse(): void {
    let at: number;
    while ((at = this.#buffer.indexOf('\n\n')) >= 0) {
      const block = this.#buffer.slice(0, at);
      this.#buffer = this.#buffer.slice(at + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments.push(line);
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
        else throw new Error(`unexpected SSE line ${JSON.stringify(line)}`);
      }
      assert.ok(data.length <= 1, 'each data is one line of JSON');
      if (data.length === 1) this.#events.push({ event, data: JSON.parse(data[0]!) });
    }
  }

  async #read(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no SSE data within ${ms} ms`)), ms);
    });
    try {
      const { value, done } = await Promise.race([this.#reader.read(), timeout]);
      if (done) {
        this.ended = true;
        return false;
      }
      this.#buffer += new TextDecoder().decode(value);
      this.#parse();
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The next event (fails after `ms` without one). */
  async next(ms = 5000): Promise<SseEvent> {
    while (this.#events.length === 0) {
      if (!(await this.#read(ms))) throw new Error('the stream ended');
    }
    return this.#events.shift()!;
  }

  /** Events until one named `event` (inclusive). */
  async until(event: string): Promise<SseEvent[]> {
    const seen: SseEvent[] = [];
    for (;;) {
      const e = await this.next();
      seen.push(e);
      if (e.event === event) return seen;
    }
  }

  /** Reads until a comment (`: ping`) has come. */
  async comment(ms = 5000): Promise<string> {
    while (this.comments.length === 0) {
      if (!(await this.#read(ms))) throw new Error('the stream ended');
    }
    return this.comments.shift()!;
  }

  /** Resolves when the server has ended the stream (events before the end are dropped). */
  async end(ms = 5000): Promise<void> {
    while (await this.#read(ms));
  }

  close(): void {
    this.#abort.abort();
    void this.#reader.cancel().catch(() => undefined);
  }
}

let id: TestIdentity;
let app: FastifyInstance;
let platform: FakePlatform;
let base: string;
const as = {} as Record<'owner' | 'viewer' | 'outsider', Record<string, string>>;

async function open(path: string, who: keyof typeof as = 'owner'): Promise<SseClient> {
  const abort = new AbortController();
  const res = await fetch(`${base}${path}`, { headers: as[who], signal: abort.signal });
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return new SseClient(res, abort);
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

before(async () => {
  id = await testIdentity();
  const { directory } = id;
  await id.user('olive', 'developer');
  await id.user('vera', 'viewer');
  await id.user('otto', 'viewer');
  platform = new FakePlatform({ records: id.records });
  await platform.createApp('demo', directory.getUser('olive')!.id);
  directory.appCreated('demo', 'olive');
  await directory.addViewer({ username: null, ip: null }, 'demo', { kind: 'user', name: 'vera' });
  platform.deployFake('demo');
  app = await buildApi({
    platform,
    ...id.options,
    logger: silentLogger,
    version: '1',
    publicUrl: 'http://gantry.test',
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  for (const [who, user] of [
    ['owner', 'olive'],
    ['viewer', 'vera'],
    ['outsider', 'otto'],
  ] as const) {
    as[who] = { authorization: `Bearer ${await id.token(user)}` };
  }
});
after(async () => {
  // Aborted fetches leave connections Fastify's close would wait for.
  app.server.closeAllConnections();
  await app.close();
  await id.close();
});

void describe('build output stream', () => {
  void test('the backlog first, then each chunk live, then `end` with the build; the server closes', async () => {
    const build = platform.startBuild('demo');
    platform.buildOutput('demo', build, '-----> step 1\n');
    const s = await open(`/api/apps/demo/builds/${build}/stream`);
    assert.match(s.res.headers.get('content-type')!, /^text\/event-stream/);
    assert.equal(s.res.headers.get('cache-control'), 'no-cache');
    assert.equal(s.res.headers.get('x-accel-buffering'), 'no');
    assert.deepEqual(await s.next(), { event: 'output', data: '-----> step 1\n' });
    platform.buildOutput('demo', build, '-----> step 2\n');
    assert.deepEqual(await s.next(), { event: 'output', data: '-----> step 2\n' });
    platform.finishBuild('demo', build);
    const end = await s.next();
    assert.equal(end.event, 'end');
    const info = end.data as Record<string, unknown>;
    const [release] = await platform.listReleases('demo');
    assert.deepEqual([info.id, info.status, info.releaseVersion], [build, 'succeeded', release!.version]);
    assert.equal(info.log, undefined, 'only the documented fields');
    await s.end();
    assert.equal(platform.portal.watchers, 0);
  });

  void test('a finished build: its whole output and `end` at once; unknown builds 404', async () => {
    const build = platform.startBuild('demo');
    platform.buildOutput('demo', build, 'boom\n');
    platform.finishBuild('demo', build, 'no buildpack detected');
    const s = await open(`/api/apps/demo/builds/${build}/stream`);
    assert.deepEqual(await s.next(), { event: 'output', data: 'boom\n' });
    const end = await s.next();
    assert.deepEqual([end.event, (end.data as { error: string }).error], ['end', 'no buildpack detected']);
    await s.end();
    const missing = await fetch(`${base}/api/apps/demo/builds/nope/stream`, { headers: as.owner });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'GANTRY_NOT_FOUND');
  });
});

void describe('activity stream', () => {
  void test('ready, then builds, releases, events and thumbnails as they happen', async () => {
    const s = await open('/api/apps/demo/activity');
    assert.deepEqual(await s.next(), { event: 'ready', data: {} });
    const build = platform.startBuild('demo');
    const started = await s.next();
    assert.deepEqual([started.event, (started.data as { status: string }).status], ['build', 'running']);
    platform.event('demo', 'crash', 'demo.web.1', 'exited with code 1');
    assert.deepEqual(await s.next(), {
      event: 'event',
      data: { ...(await platform.listEvents('demo', { limit: 1 }))[0] },
    });
    platform.finishBuild('demo', build);
    const rest = await s.until('build');
    const [latest] = await platform.listReleases('demo');
    assert.deepEqual(
      rest.find((e) => e.event === 'release'),
      { event: 'release', data: latest },
    );
    assert.equal((rest.at(-1)!.data as { status: string }).status, 'succeeded');
    const pic = await platform.captureThumbnail('demo');
    assert.deepEqual(await s.next(), { event: 'thumbnail', data: pic });
    assert.equal(platform.portal.watchers, 1);
    s.close();
    await until('the watch to stop', () => platform.portal.watchers === 0);
  });
});

type Line = { time: string; process: string; text: string };
const lineOf = (e: SseEvent): string => {
  assert.equal(e.event, 'line');
  const l = e.data as Line;
  return `${l.process}: ${l.text}`;
};

void describe('logs stream', () => {
  void test('the last N lines, then live ones, as { time, process, text }', async () => {
    platform.log('demo', 'demo.web.1', 'old web line\n');
    platform.log('demo', 'demo.worker.1', 'old worker line');
    const s = await open('/api/apps/demo/logs/stream?lines=2');
    const first = await s.next();
    const { time } = first.data as Line;
    assert.equal(new Date(time).toISOString(), time);
    assert.deepEqual(
      [lineOf(first), lineOf(await s.next())],
      ['demo.web.1: old web line', 'demo.worker.1: old worker line'],
    );
    platform.log('other', 'other.web.1', 'not mine');
    platform.log('demo', 'gantry', 'deploying v9');
    assert.equal(lineOf(await s.next()), 'gantry: deploying v9');
    s.close();
    await until('the log subscription to end', () => platform.followers === 0);
  });

  void test('process filter: `web` is every web process, `web.1` exactly that one', async () => {
    platform.log('demo', 'demo.web.2', 'tail of web');
    platform.log('demo', 'demo.worker.1', 'tail of worker');
    const web = await open('/api/apps/demo/logs/stream?lines=1&process=web');
    const one = await open('/api/apps/demo/logs/stream?lines=0&process=web.1');
    assert.equal(lineOf(await web.next()), 'demo.web.2: tail of web', 'the backlog is filtered too');
    platform.log('demo', 'demo.worker.1', 'work');
    platform.log('demo', 'demo.web.10', 'ten');
    platform.log('demo', 'demo.webby.1', 'another type');
    platform.log('demo', 'demo.web.1', 'one');
    assert.deepEqual(
      [lineOf(await web.next()), lineOf(await web.next())],
      ['demo.web.10: ten', 'demo.web.1: one'],
    );
    assert.equal(lineOf(await one.next()), 'demo.web.1: one');
    web.close();
    one.close();
    for (const q of ['process=web.x', 'process=../x', 'process=web.0', 'lines=2001']) {
      const r = await fetch(`${base}/api/apps/demo/logs/stream?${q}`, { headers: as.owner });
      assert.equal(r.status, 400, q);
    }
  });
});

void describe('metrics stream', () => {
  void test('the series at once, for the range asked; a bad range is a 400', async () => {
    const s = await open('/api/apps/demo/metrics/stream?range=24h');
    const e = await s.next();
    assert.equal(e.event, 'series');
    const series = e.data as { app: string; range: string; stepSeconds: number; points: unknown[] };
    assert.deepEqual(
      [series.app, series.range, series.stepSeconds, series.points.length],
      ['demo', '24h', 300, 288],
    );
    s.close();
    const bad = await fetch(`${base}/api/apps/demo/metrics/stream?range=1y`, { headers: as.owner });
    assert.equal(bad.status, 400);
  });
});

void describe('who may stream', () => {
  void test('a viewer may open the app but not read its streams; outsiders do not see it', async () => {
    const build = platform.startBuild('demo');
    const paths = [
      `/api/apps/demo/builds/${build}/stream`,
      '/api/apps/demo/activity',
      '/api/apps/demo/logs/stream',
      '/api/apps/demo/metrics/stream',
    ];
    for (const path of paths) {
      const viewer = await fetch(`${base}${path}`, { headers: as.viewer });
      assert.equal(viewer.status, 403, path);
      assert.equal(((await viewer.json()) as { error: { code: string } }).error.code, 'GANTRY_FORBIDDEN');
      const outsider = await fetch(`${base}${path}`, { headers: as.outsider });
      assert.equal(outsider.status, 404, path);
      await outsider.body?.cancel();
      assert.equal((await fetch(`${base}${path}`)).status, 401, path);
    }
    assert.equal(platform.portal.watchers, 0, 'refused callers never subscribe');
    platform.finishBuild('demo', build);
  });
});

void describe('openSse', () => {
  let server: FastifyInstance;
  let url: string;
  const streams: SseStream[] = [];
  before(async () => {
    server = Fastify();
    server.get('/ping', async (_request, reply) => {
      streams.push(openSse(reply, { pingMs: 20 }));
      return reply;
    });
    server.get('/flood', async (_request, reply) => {
      const s = openSse(reply);
      streams.push(s);
      const chunk = 'x'.repeat(256 * 1024);
      const timer = setInterval(() => s.send('big', chunk), 2);
      s.onClose(() => clearInterval(timer));
      return reply;
    });
    server.get('/slow', async (_request, reply) => {
      // As the routes do: await the platform, then open (the client may have left meanwhile).
      await new Promise((r) => setTimeout(r, 300));
      streams.push(openSse(reply, { pingMs: 20 }));
      return reply;
    });
    url = await server.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    server.server.closeAllConnections();
    await server.close();
  });

  void test('sends `: ping` comments while quiet, and tells when the client goes away', async () => {
    const abort = new AbortController();
    const s = new SseClient(await fetch(`${url}/ping`, { signal: abort.signal }), abort);
    assert.equal(await s.comment(1000), ': ping');
    assert.equal(await s.comment(1000), ': ping', 'again and again');
    const stream = streams.at(-1)!;
    let closed = 0;
    stream.onClose(() => closed++);
    s.close();
    await until('the server to see the close', () => stream.closed);
    assert.equal(closed, 1);
    stream.send('late', 1);
    stream.close();
    assert.equal(closed, 1, 'onClose runs once');
  });

  void test('a client that left before the stream opened: closed at once, onClose runs', async () => {
    const opened = streams.length;
    const abort = new AbortController();
    const pending = fetch(`${url}/slow`, { signal: abort.signal });
    await new Promise((r) => setTimeout(r, 100));
    abort.abort();
    await assert.rejects(pending);
    await until('the stream to open', () => streams.length > opened);
    const stream = streams.at(-1)!;
    assert.equal(stream.closed, true);
    let closed = 0;
    stream.onClose(() => closed++);
    assert.equal(closed, 1);
  });

  void test('a client that stops reading is dropped once 4 MiB are buffered', async () => {
    const { port } = new URL(url);
    const opened = streams.length;
    const socket = connect(Number(port), '127.0.0.1');
    socket.write('GET /flood HTTP/1.1\r\nHost: x\r\n\r\n');
    socket.pause();
    try {
      await until('the stream to open', () => streams.length > opened);
      const flood = streams.at(-1)!;
      await until('the stream to be dropped', () => flood.closed, 15_000);
      assert.equal(socket.destroyed, false, 'the client did not hang up: the server dropped it');
    } finally {
      socket.destroy();
    }
  });
});
