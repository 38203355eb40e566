/**
 * The gate in the real router: a real http.Server in front, real upstream servers that
 * record what reaches them, real sockets and a real WebSocket client, all on 127.0.0.1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import WebSocket, { WebSocketServer } from 'ws';
import { silentLogger } from '../log/index.js';
import { createRouter, type Router } from '../router/index.js';
import { createGate } from './gate.js';
import { IdentitySigner } from './jwt.js';
import { MemoryDirectory } from './memory-directory.js';

const PUBLIC_URL = 'http://gantry.test';
const ALICE = 'gantry_session=sess-alice';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on its own connection, the target sent byte for byte as given. */
function raw(
  port: number,
  target: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    let head = `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    sock.write(head + '\r\n');
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      const [top, ...rest] = text.split('\r\n\r\n');
      const lines = top!.split('\r\n');
      const h: IncomingHttpHeaders = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        h[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      let body = rest.join('\r\n\r\n');
      if (h['transfer-encoding'] === 'chunked') body = unchunk(body);
      resolve({ status: Number(lines[0]!.split(' ')[1]), headers: h, body });
    });
  });
}

function unchunk(s: string): string {
  let out = '';
  for (let i = 0; ;) {
    const eol = s.indexOf('\r\n', i);
    const size = parseInt(s.slice(i, eol), 16);
    if (!(size > 0)) return out;
    out += s.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
}

interface Seen {
  url: string;
  method: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
}

void describe('router with the gate', { timeout: 30_000 }, () => {
  let dataDir: string;
  let signer: IdentitySigner;
  let dir: MemoryDirectory;
  let router: Router;
  let front: Server;
  let port: number;
  const upstreams: Server[] = [];
  const seen: Record<string, Seen[]> = { a: [], b: [], pub: [] };
  let wss: WebSocketServer;
  let wsSeen: Seen[] = [];

  async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
    const s = http.createServer(handler);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    upstreams.push(s);
    return s;
  }
  const backend = (app: string, s: Server) => ({
    app,
    release: 1,
    backends: [{ id: `${app}.web.1`, host: '127.0.0.1', port: (s.address() as AddressInfo).port }],
  });
  const recorder = (app: string) => (req: IncomingMessage, res: ServerResponse) => {
    seen[app]!.push({ url: req.url!, method: req.method!, headers: req.headers, rawHeaders: req.rawHeaders });
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`hello from ${app}`);
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gantry-router-gate-'));
    dir = new MemoryDirectory();
    dir.addUser({
      username: 'alice',
      email: 'alice@example.com',
      role: 'developer',
      groups: ['analysts', 'eng'],
    });
    dir.addUser({ username: 'bob' });
    dir.addSession('alice', 'sess-alice');
    dir.addSession('bob', 'sess-bob');
    dir.addToken('alice', 'gty_alice_token');
    dir.setApp({ app: 'a', owner: 'bob', viewers: [{ kind: 'group', name: 'eng' }] });
    dir.setApp({ app: 'b', owner: 'bob' });
    dir.setApp({ app: 'pub', visibility: 'public' });
    dir.setApp({ app: 'ws', viewers: [{ kind: 'user', name: 'alice' }] });
    dir.setApp({ app: 'site', viewers: [{ kind: 'user', name: 'alice' }] });
    signer = await IdentitySigner.load({ dataDir, publicUrl: PUBLIC_URL });
    const gate = createGate({ directory: dir, cookieName: 'gantry_session', signer });
    dir.onChange(() => gate.invalidate());
    router = createRouter({ logger: silentLogger, gate });
    for (const app of ['a', 'b', 'pub']) router.setRoute(app, backend(app, await listen(recorder(app))));
    const wsHttp = await listen((_req, res) => res.end());
    wss = new WebSocketServer({ server: wsHttp });
    wss.on('connection', (sock, req) => {
      wsSeen.push({ url: req.url!, method: req.method!, headers: req.headers, rawHeaders: req.rawHeaders });
      sock.on('message', (m) => sock.send(`echo:${m.toString()}`));
    });
    router.setRoute('ws', backend('ws', wsHttp));
    const root = join(dataDir, 'site');
    await mkdir(root);
    await writeFile(join(root, 'index.html'), '<h1>site</h1>');
    router.setRoute('site', { app: 'site', release: 1, backends: [], staticRoot: root });
    front = http.createServer((req, res) => {
      if (!router.handle(req, res)) {
        res.writeHead(418);
        res.end('not the router');
      }
    });
    front.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
      if (!router.handleUpgrade(req, socket, head)) socket.destroy();
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    port = (front.address() as AddressInfo).port;
  });

  after(async () => {
    wss.close();
    await router.close();
    for (const s of [front, ...upstreams]) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  const last = (app: string): Seen => seen[app]!.at(-1)!;

  void test('anonymous browser: redirected to login with the full path and query', async () => {
    for (const [target, method] of [
      ['/apps/a/reports/q1?year=2026&x=%20y', 'GET'],
      ['/apps/a/', 'HEAD'],
      ['/apps/missing/page', 'GET'],
    ] as const) {
      const r = await raw(port, target, { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }, method);
      assert.equal(r.status, 302, target);
      assert.equal(r.headers.location, `/login?next=${encodeURIComponent(target)}`);
      assert.equal(r.headers['cache-control'], 'no-store');
    }
    assert.equal(seen.a!.length, 0);
  });

  void test('anonymous API client: 401 with a Bearer challenge, for existing and missing apps alike', async () => {
    const existing = await raw(port, '/apps/a/data.json', { Accept: 'application/json' });
    const missing = await raw(port, '/apps/missing/data.json', { Accept: 'application/json' });
    assert.equal(existing.status, 401);
    assert.equal(existing.headers['www-authenticate'], 'Bearer realm="gantry"');
    assert.equal(JSON.parse(existing.body).error.status, 401);
    assert.deepEqual([missing.status, missing.body], [existing.status, existing.body]);
    // A browser's POST is not redirected (the body would be lost): 401.
    const post = await raw(port, '/apps/a/form', { Accept: 'text/html', 'Content-Length': '0' }, 'POST');
    assert.equal(post.status, 401);
    assert.equal(seen.a!.length, 0);
  });

  void test('logged in but not allowed: exactly the 404 of a missing app', async () => {
    const variants: Record<string, string>[] = [{ Accept: 'text/html' }, { Accept: 'application/json' }, {}];
    const hidden = await Promise.all(
      variants.map((h) => raw(port, '/apps/b/secret?x=1', { ...h, Cookie: ALICE })),
    );
    assert.equal(seen.b!.length, 0);
    // Take b away entirely (directory and route), then ask again.
    const route = router.getRoute('b')!;
    dir.removeApp('b');
    router.setRoute('b', undefined);
    try {
      const missing = await Promise.all(
        variants.map((h) => raw(port, '/apps/b/secret?x=1', { ...h, Cookie: ALICE })),
      );
      for (let i = 0; i < variants.length; i++) {
        assert.equal(hidden[i]!.status, 404);
        assert.equal(hidden[i]!.body, missing[i]!.body);
        const { date: _d1, ...h1 } = hidden[i]!.headers;
        const { date: _d2, ...h2 } = missing[i]!.headers;
        assert.deepEqual(h1, h2);
      }
    } finally {
      dir.setApp({ app: 'b', owner: 'bob' });
      router.setRoute('b', route);
    }
    // The owner still gets in.
    assert.equal((await raw(port, '/apps/b/', { Cookie: 'gantry_session=sess-bob' })).status, 200);
  });

  void test('allowed by session cookie: identity headers and a verifiable JWT; the cookie stays home', async () => {
    const r = await raw(port, '/apps/a/x', { Cookie: `theme=dark; ${ALICE}; lang=en`, Accept: 'text/html' });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'hello from a');
    const h = last('a').headers;
    assert.equal(h.cookie, 'theme=dark; lang=en');
    assert.equal(h['x-gantry-user'], 'alice');
    assert.equal(h['x-gantry-email'], 'alice@example.com');
    assert.equal(h['x-gantry-groups'], 'analysts,eng');
    const { payload, protectedHeader } = await jwtVerify(
      h['gantry-identity'] as string,
      createLocalJWKSet(signer.jwks()),
      { issuer: PUBLIC_URL, audience: `${PUBLIC_URL}/apps/a/`, algorithms: ['ES256'] },
    );
    assert.equal(protectedHeader.kid, signer.kid);
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.email, 'alice@example.com');
    assert.deepEqual(payload.groups, ['analysts', 'eng']);
    assert.equal(payload.role, 'developer');
    // The session cookie alone: no Cookie header reaches the app at all.
    await raw(port, '/apps/a/y', { Cookie: ALICE });
    assert.equal(last('a').headers.cookie, undefined);
    // Split over several Cookie headers: none carries the session on.
    await raw(port, '/apps/a/z', { Cookie: 'theme=dark', cookie: ALICE });
    assert.ok(!last('a').rawHeaders.some((v) => v.includes('sess-alice')));
    assert.equal(last('a').headers['x-gantry-user'], 'alice');
  });

  void test('allowed by API token: the gty token never reaches the app; the app’s own Authorization does', async () => {
    const r = await raw(port, '/apps/a/api', { Authorization: 'Bearer gty_alice_token' });
    assert.equal(r.status, 200);
    assert.equal(last('a').headers.authorization, undefined);
    assert.equal(last('a').headers['x-gantry-user'], 'alice');
    assert.ok(!last('a').rawHeaders.some((v) => v.includes('gty_')));
    await raw(port, '/apps/a/api', { Authorization: 'Basic YXBwOnNlY3JldA==', Cookie: ALICE });
    assert.equal(last('a').headers.authorization, 'Basic YXBwOnNlY3JldA==');
    await raw(port, '/apps/pub/api', { Authorization: 'Bearer app-own-jwt' });
    assert.equal(last('pub').headers.authorization, 'Bearer app-own-jwt');
    const bad = await raw(port, '/apps/a/api', { Authorization: 'Bearer gty_revoked', Cookie: ALICE });
    assert.equal(bad.status, 401);
    assert.match(bad.headers['www-authenticate'] as string, /error="invalid_token"/);
  });

  void test('spoofed identity headers never reach an app, public or not', async () => {
    const spoof = {
      'X-Gantry-User': 'admin',
      'x-gantry-email': 'admin@evil',
      'X-GANTRY-GROUPS': 'admins',
      'X-Gantry-Role': 'admin',
      'Gantry-Identity': 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.',
    };
    await raw(port, '/apps/pub/', spoof);
    const anon = last('pub').rawHeaders.map((v) => v.toLowerCase());
    assert.ok(!anon.some((v) => v.startsWith('x-gantry-') || v === 'gantry-identity'), anon.join(' '));
    assert.ok(!anon.some((v) => v.includes('admin')));
    await raw(port, '/apps/a/', { ...spoof, Cookie: ALICE });
    const h = last('a');
    assert.equal(h.headers['x-gantry-user'], 'alice');
    assert.equal(h.headers['x-gantry-groups'], 'analysts,eng');
    assert.equal(h.headers['x-gantry-role'], undefined);
    assert.equal(h.rawHeaders.filter((v) => v.toLowerCase() === 'x-gantry-user').length, 1);
    assert.notEqual(h.headers['gantry-identity'], spoof['Gantry-Identity']);
  });

  void test('HEAD and OPTIONS (CORS preflight) are gated like GET', async () => {
    const before = seen.a!.length;
    const preflight = {
      Origin: 'https://evil.example',
      'Access-Control-Request-Method': 'POST',
    };
    assert.equal((await raw(port, '/apps/a/', preflight, 'OPTIONS')).status, 401);
    assert.equal((await raw(port, '/apps/a/', {}, 'HEAD')).status, 401);
    assert.equal((await raw(port, '/apps/b/', { ...preflight, Cookie: ALICE }, 'OPTIONS')).status, 404);
    assert.equal(seen.a!.length, before);
    assert.equal((await raw(port, '/apps/a/', { Cookie: ALICE }, 'OPTIONS')).status, 200);
    assert.equal(last('a').method, 'OPTIONS');
  });

  void test('static sites are gated too', async () => {
    assert.equal((await raw(port, '/apps/site/')).status, 401);
    assert.equal((await raw(port, '/apps/site/', { Cookie: 'gantry_session=sess-bob' })).status, 404);
    const ok = await raw(port, '/apps/site/', { Cookie: ALICE });
    assert.equal(ok.status, 200);
    assert.equal(ok.body, '<h1>site</h1>');
  });

  void describe('WebSocket upgrades', () => {
    const statusOf = (path: string, headers: Record<string, string> = {}): Promise<number> =>
      new Promise((resolve, reject) => {
        const c = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
        c.on('error', () => undefined); // the refused handshake is reported here too
        c.once('unexpected-response', (_req, res) => {
          resolve(res.statusCode!);
          c.terminate();
        });
        c.once('open', () => {
          c.close();
          reject(new Error(`${path} opened`));
        });
      });

    void test('anonymous → 401, not allowed or missing → 404, bad token → 401', async () => {
      assert.equal(await statusOf('/apps/ws/socket'), 401);
      assert.equal(await statusOf('/apps/ws/socket', { Cookie: 'gantry_session=sess-bob' }), 404);
      assert.equal(await statusOf('/apps/nope/socket', { Cookie: 'gantry_session=sess-bob' }), 404);
      assert.equal(await statusOf('/apps/ws/socket', { Authorization: 'Bearer gty_revoked' }), 401);
      assert.equal(wsSeen.length, 0);
    });

    void test('allowed: opens, with identity headers and without Gantry credentials', async () => {
      wsSeen = [];
      const c = new WebSocket(`ws://127.0.0.1:${port}/apps/ws/socket`, {
        headers: { Cookie: `${ALICE}; x=1`, 'X-Gantry-User': 'admin' },
      });
      await new Promise((resolve, reject) => c.once('open', resolve).once('error', reject));
      const reply = new Promise<string>((resolve) => c.once('message', (m) => resolve(m.toString())));
      c.send('hi');
      assert.equal(await reply, 'echo:hi');
      c.close();
      const h = wsSeen[0]!.headers;
      assert.equal(h['x-gantry-user'], 'alice');
      assert.equal(h.cookie, 'x=1');
      const { payload } = await jwtVerify(h['gantry-identity'] as string, createLocalJWKSet(signer.jwks()), {
        audience: `${PUBLIC_URL}/apps/ws/`,
      });
      assert.equal(payload.sub, 'alice');
    });
  });

  void test('path confusion never reaches a backend the viewer may not see', async () => {
    const corpus = [
      '/apps/a/../b/',
      '/apps/a/..//b/',
      '/apps/a/%2e%2e/b/',
      '/apps/a/%2E%2E/b/',
      '/apps/a/.%2e/b/',
      '/apps/a/%2e./b/',
      '/apps/a%2f..%2fb/',
      '/apps/a/..%2fb/',
      '/apps%2fb/',
      '/apps/a/%2F../b/',
      '//apps/b/',
      '/apps//b/',
      '/apps/./b/',
      '/apps/a/..\\b/',
      '/apps\\b/',
      '/apps/a/%5c../b/',
      '/apps/b%00/',
      '/apps/a/%00/../b/',
      '/Apps/B/',
      '/APPS/b/',
      '/apps/B/',
      '/apps/b./',
      '/apps/b%2e/',
      '/apps/%62/',
      '/apps/a/%252e%252e/b/',
      '/apps/a/%252e%252e%252fb/',
      '/apps/b;x=1/',
      '/apps/b%20/',
      '/apps/a/./../b/',
      'http://127.0.0.1/apps/b/',
      '*',
    ];
    const callers: Record<string, string>[] = [{}, { Cookie: ALICE }, { Cookie: ALICE, Accept: 'text/html' }];
    const before = seen.b!.length;
    for (const target of corpus) {
      for (const h of callers) {
        const r = await raw(port, target, h);
        assert.notEqual(r.body, 'hello from b', target);
        assert.ok(r.status !== 200 || r.body === 'hello from a', `${target}: ${r.status} ${r.body}`);
      }
    }
    // A 301 to /apps/b/ is harmless: following it meets the gate.
    assert.equal((await raw(port, '/apps/b', { Cookie: ALICE })).status, 301);
    assert.equal((await raw(port, '/apps/b/', { Cookie: ALICE })).status, 404);
    assert.equal(seen.b!.length, before, 'the b backend was never reached');
    assert.ok(seen.a!.length > 0);
  });
});
