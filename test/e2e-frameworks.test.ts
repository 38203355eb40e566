/**
 * End-to-end: real frameworks pushed with git, built by the buildpacks, run in
 * the sandbox and reached through the router at /apps/NAME/ — the way a data
 * scientist and their viewers would use them. One server for the whole file;
 * fixtures live in test/fixtures/.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import WebSocket from 'ws';
import {
  startTestServer,
  createApp,
  fixtureRepo,
  push,
  eventually,
  type TestServer,
} from './helpers/index.js';

/** Builds install dependencies (pip, npm ci) and start R: be generous on a 2-core machine. */
const DEPLOY_TIMEOUT = 180_000;

let t: TestServer;
const repos: string[] = [];

before(async () => {
  t = await startTestServer();
});

after(async () => {
  await t?.close();
  await Promise.all(repos.map((r) => rm(r, { recursive: true, force: true })));
});

/** Like the harness's deployFixture, but the repo is cleaned up even when the push fails. */
async function deploy(app: string, fixture: string): Promise<string> {
  await createApp(t, app);
  const repo = await fixtureRepo(fixture);
  repos.push(repo);
  const r = await push(t, repo, app);
  if (r.code !== 0) throw new Error(`push of ${fixture} failed:\n${r.stderr}`);
  return r.stderr;
}

/** Pushes a fixture that must be rejected; returns the push's combined output. */
async function pushRejected(app: string, fixture: string): Promise<string> {
  await createApp(t, app);
  const repo = await fixtureRepo(fixture);
  repos.push(repo);
  const r = await push(t, repo, app);
  const output = r.stdout + r.stderr;
  assert.notEqual(r.code, 0, `push of ${fixture} should have been rejected, but it succeeded:\n${output}`);
  return output;
}

const appUrl = (app: string, path = ''): string => `${t.url}/apps/${app}/${path}`;

/** The app's recent log lines as text (`TIMESTAMP APP.TYPE.N: line`). */
async function appLogs(app: string): Promise<string> {
  const res = await fetch(`${t.url}/api/apps/${app}/logs?lines=500`, {
    headers: { authorization: `Bearer ${t.token}` },
  });
  assert.equal(res.status, 200, `logs of ${app}: ${res.status}`);
  return res.text();
}

/** Opens a WebSocket, runs `exchange`, and always closes it. */
async function withSocket<T>(url: string, exchange: (ws: WebSocket) => Promise<T>): Promise<T> {
  const ws = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`WebSocket upgrade to ${url} answered ${res.statusCode}`)),
      );
    });
    return await exchange(ws);
  } finally {
    ws.terminate();
  }
}

/** Resolves with the first message for which `match` returns true. */
function waitForMessage(
  ws: WebSocket,
  match: (text: string) => boolean,
  timeoutMs = 10_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const seen: string[] = [];
    const timer = setTimeout(() => {
      ws.off('message', onMessage);
      reject(new Error(`no matching WebSocket message within ${timeoutMs} ms; got: ${seen.join(' | ')}`));
    }, timeoutMs);
    const onMessage = (data: WebSocket.RawData): void => {
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
      seen.push(text.slice(0, 200));
      if (!match(text)) return;
      clearTimeout(timer);
      ws.off('message', onMessage);
      resolve(text);
    };
    ws.on('message', onMessage);
    ws.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`WebSocket closed (${code}) before a matching message; got: ${seen.join(' | ')}`));
    });
  });
}

void describe('frameworks behind the router', () => {
  void test('Flask + pandas + plotly under gunicorn', { timeout: DEPLOY_TIMEOUT }, async () => {
    const output = await deploy('dash-sales', 'flask-plotly');
    assert.match(output, /Python app detected/);
    assert.match(output, /Detected framework: flask/);

    const res = await fetch(appUrl('dash-sales'));
    const html = await res.text();
    assert.equal(res.status, 200, html);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(html, /<title>Sales dashboard<\/title>/);
    assert.match(html, /plotly-graph-div/);
    assert.match(html, /Revenue by month/);
    // gunicorn took SCRIPT_NAME from the environment: url_for() links keep the prefix.
    assert.match(html, /href="\/apps\/dash-sales\/health"/);
    const health = await fetch(appUrl('dash-sales', 'health'));
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true, rows: 6 });
  });

  void test('Express with a WebSocket echo on the same port', { timeout: DEPLOY_TIMEOUT }, async () => {
    const output = await deploy('express-ws', 'express-ws');
    assert.match(output, /Node\.js app detected/);
    assert.match(output, /npm ci/);

    const res = await fetch(appUrl('express-ws'));
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^hello from express \(base \/apps\/express-ws\/\)/);

    const wsUrl = `${t.url.replace(/^http/, 'ws')}/apps/express-ws/ws`;
    const replies = await withSocket(wsUrl, async (ws) => {
      const got: string[] = [];
      for (const msg of ['first', 'second ✓']) {
        const reply = waitForMessage(ws, () => true);
        ws.send(msg);
        got.push(await reply);
      }
      return got;
    });
    assert.deepEqual(replies, ['echo: first', 'echo: second ✓']);
  });

  void test(
    'an open WebSocket keeps its old process through a redeploy; new ones reach the new release',
    { timeout: DEPLOY_TIMEOUT },
    async () => {
      const wsUrl = `${t.url.replace(/^http/, 'ws')}/apps/express-ws/ws`;
      const ask = async (ws: WebSocket): Promise<string> => {
        const reply = waitForMessage(ws, (m) => m.startsWith('release:'));
        ws.send('release?');
        return reply;
      };
      type Ps = { processes: { release: number; type: string; state: string }[] };
      await withSocket(wsUrl, async (old) => {
        const before = await ask(old);
        const { release } = await t.api<{ release: { version: number } }>(
          'PATCH',
          '/api/apps/express-ws/config',
          {
            set: { REDEPLOY: '1' },
          },
        );
        assert.equal(await ask(old), before, 'the open socket still talks to the old process');
        assert.equal(await withSocket(wsUrl, ask), `release: v${release.version}`);
        const running = (await t.api<Ps>('GET', '/api/apps/express-ws/ps')).processes.map((p) => p.release);
        assert.ok(
          running.includes(release.version - 1),
          'the old process is still draining while the socket is open',
        );
      });
      // Closing the last socket lets the old release stop well before the drain deadline.
      await eventually(
        async () =>
          (await t.api<Ps>('GET', '/api/apps/express-ws/ps')).processes.every((p) => p.release !== 1),
        8_000,
        'the old release to stop after its last WebSocket closed',
      );
    },
  );

  void test(
    'static site: files, content types, directory index, 404 and ETag',
    { timeout: DEPLOY_TIMEOUT },
    async () => {
      await deploy('static-site', 'static-site');

      const index = await fetch(appUrl('static-site'));
      assert.equal(index.status, 200);
      assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(await index.text(), /<title>Static fixture<\/title>/);

      const css = await fetch(appUrl('static-site', 'css/site.css'));
      assert.equal(css.status, 200);
      assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
      assert.match(await css.text(), /static-fixture-stylesheet/);

      const about = await fetch(appUrl('static-site', 'about/'));
      assert.equal(about.status, 200);
      assert.match(await about.text(), /About page/);

      const missing = await fetch(appUrl('static-site', 'nope.html'));
      assert.equal(missing.status, 404);
      await missing.arrayBuffer();

      const etag = css.headers.get('etag');
      assert.ok(etag, 'static files carry an ETag');
      const again = await fetch(appUrl('static-site', 'css/site.css'), {
        headers: { 'if-none-match': etag },
      });
      assert.equal(again.status, 304);
      assert.equal(await again.text(), '');
    },
  );

  void test(
    'Shiny: page, assets and the session websocket through the router',
    { timeout: DEPLOY_TIMEOUT },
    async () => {
      const output = await deploy('shiny-hello', 'shiny');
      assert.match(output, /R app detected/);

      const res = await fetch(appUrl('shiny-hello'));
      const html = await res.text();
      assert.equal(res.status, 200, `GET /apps/shiny-hello/ answered ${res.status}: ${html.slice(0, 300)}`);
      assert.match(html, /id="greeting"[^>]*class="shiny-text-output/);
      const script = /src="((?:[^"]*\/)?shiny(?:-javascript-[\d.]+)?\/shiny\.min\.js)"/.exec(html);
      assert.ok(script, 'the page loads shiny.min.js');
      // Shiny's asset and websocket URLs are relative: they must resolve under the app's prefix.
      const js = await fetch(new URL(script[1]!, appUrl('shiny-hello')));
      assert.equal(js.status, 200, `shiny.min.js at ${script[1]}`);
      assert.match(await js.text(), /Shiny/);

      // The output is rendered over the websocket once the client says it is visible.
      const wsUrl = `${t.url.replace(/^http/, 'ws')}/apps/shiny-hello/websocket/`;
      const values = await withSocket(wsUrl, async (ws) => {
        const reply = waitForMessage(ws, (m) => m.includes('"values"') && m.includes('greeting'), 20_000);
        ws.send(JSON.stringify({ method: 'init', data: { '.clientdata_output_greeting_hidden': false } }));
        return JSON.parse(await reply) as { values: Record<string, unknown> };
      });
      assert.equal(values.values.greeting, 'hello from shiny');
    },
  );

  void test(
    'app.json: predeploy script, release phase and startup health check',
    { timeout: DEPLOY_TIMEOUT },
    async () => {
      const output = await deploy('checks', 'app-json-checks');
      assert.match(output, /predeploy/);
      assert.match(output, /release phase ran/);
      assert.doesNotMatch(output, /ready: attempt \d+\/\d+ failed/);

      const res = await fetch(appUrl('checks'));
      assert.equal(res.status, 200);
      assert.equal((await res.text()).trim(), 'predeploy-ran');
      // The "ready" check really asked /health (the app logs each request to stderr).
      await eventually(
        async () => /GET \/apps\/checks\/health HTTP\/1\.1" 200/.test(await appLogs('checks')),
        10_000,
        'the health check request in the app logs',
      );
    },
  );
});

void describe('pushes that must be refused', () => {
  void test(
    'a symlink out of the app is rejected and never served',
    { timeout: DEPLOY_TIMEOUT },
    async () => {
      const output = await pushRejected('escape', 'symlink-escape');
      assert.match(output, /secret\.txt/);
      for (const path of ['secret.txt', '', 'index.html']) {
        const res = await fetch(appUrl('escape', path));
        const body = await res.text();
        assert.doesNotMatch(body, /root:x:0:0/, `GET /apps/escape/${path} leaked /etc/passwd`);
        assert.notEqual(res.status, 200, `nothing of the rejected push is served at /apps/escape/${path}`);
      }
    },
  );

  void test(
    'an invalid Procfile process name is rejected with the line',
    { timeout: DEPLOY_TIMEOUT },
    async () => {
      const output = await pushRejected('badproc', 'bad-procfile');
      assert.match(output, /Procfile line 1/);
      assert.match(output, /Web_Server/);
      const res = await fetch(appUrl('badproc'));
      await res.arrayBuffer();
      assert.notEqual(res.status, 200);
    },
  );

  void test(
    'a web process that crashes on start fails the push and shows its output',
    { timeout: DEPLOY_TIMEOUT },
    async () => {
      const output = await pushRejected('crashy', 'crash-on-start');
      assert.match(output, /boom: missing DATABASE_URL/);
      assert.match(output, /exited with status 3|exit(ed)? (code |status )?3/);
      const res = await fetch(appUrl('crashy'));
      await res.arrayBuffer();
      assert.notEqual(res.status, 200);
    },
  );
});
