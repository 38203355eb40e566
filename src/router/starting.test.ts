/**
 * The starting page: its CSP allows exactly its own script and style, and its script,
 * run against the real router with a real fetch, waits for the app and then reloads.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runInNewContext } from 'node:vm';
import { silentLogger } from '../log/index.js';
import { createRouter } from './index.js';
import { renderStartingPage, STARTING_CSP } from './starting.js';

const sha = (s: string): string => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

/** The CSP's sources for one directive. */
function directive(csp: string, name: string): string[] {
  const d = csp.split(';').map((x) => x.trim().split(/\s+/));
  return d.find((x) => x[0] === name)?.slice(1) ?? [];
}

/** Contents of every `<tag>…</tag>` in the page. */
function inline(html: string, tag: string): string[] {
  return [...html.matchAll(new RegExp(`<${tag}[^>]*>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]!);
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const s = http.createServer(handler);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return s;
}

function get(url: string, headers: Record<string, string>, method = 'GET') {
  return fetch(url, { headers, method });
}

void test('the page passes its own CSP: every script and style is allowed by hash, nothing else', () => {
  const html = renderStartingPage('sales');
  const scripts = inline(html, 'script');
  const styles = inline(html, 'style');
  assert.equal(scripts.length, 1);
  assert.equal(styles.length, 1);
  assert.deepEqual(directive(STARTING_CSP, 'script-src'), [sha(scripts[0]!)]);
  assert.deepEqual(directive(STARTING_CSP, 'style-src'), [sha(styles[0]!)]);
  assert.deepEqual(directive(STARTING_CSP, 'connect-src'), ["'self'"]);
  assert.deepEqual(directive(STARTING_CSP, 'default-src'), ["'none'"]);
  assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers (CSP would block them)');
  assert.doesNotMatch(html, /style="/, 'no style attributes (CSP would block them)');
  assert.match(html, /<noscript><meta http-equiv="refresh" content="5"><\/noscript>/);
  assert.match(html, /<h1>Starting sales…<\/h1>/);
  assert.match(html, /<body class="g-page">[\s\S]*<main class="g-card">/, 'the theme’s card');
  assert.match(html, /<meta name="viewport" content="width=device-width,initial-scale=1">/);
  assert.match(html, /<span class="g-spin" aria-hidden="true"><\/span>Starting/);
  assert.match(
    styles[0]!,
    /\.g-spin\{[^}]*border-top-color:var\(--g-accent\)/,
    'the spinner follows the theme',
  );
  assert.match(styles[0]!, /prefers-color-scheme:dark/);
  assert.match(
    html,
    /<p id="gantry-status" role="status" aria-live="polite">/,
    'screen readers hear the updates',
  );
  assert.match(scripts[0]!, /'X-Gantry-Wait': '1'/);
  assert.match(scripts[0]!, /location\.reload\(\)/);
});

void describe('starting page against the router', { timeout: 30_000 }, () => {
  const servers: Server[] = [];
  const wakes: string[] = [];
  const router = createRouter({ logger: silentLogger, onWake: (app) => wakes.push(app) });
  let base = '';

  after(async () => {
    await router.close();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  async function front(): Promise<void> {
    if (base) return;
    const s = await listen((req, res) => {
      if (!router.handle(req, res)) res.writeHead(418).end();
    });
    servers.push(s);
    base = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  }

  /** Runs the page's script as a browser would, with the real fetch and a fake DOM. */
  function runScript(html: string, href: string) {
    const status = { textContent: '' };
    let reloads = 0;
    const context = {
      document: { getElementById: (id: string) => (id === 'gantry-status' ? status : null) },
      location: { href, reload: () => reloads++ },
      fetch,
      setTimeout,
      Date,
    };
    runInNewContext(inline(html, 'script')[0]!, context);
    return { status, reloads: () => reloads };
  }

  async function until(cond: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  void test('a navigation wakes the app and gets the page; its fetch is held, then the page reloads', async () => {
    await front();
    router.setRoute('dash', { app: 'dash', release: 1, backends: [], sleeping: true });
    const href = `${base}/apps/dash/report?x=1`;
    const r = await get(href, {
      accept: 'text/html,application/xhtml+xml',
      'user-agent': 'Mozilla/5.0 Firefox/125.0',
    });
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '2');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.headers.get('content-security-policy'), STARTING_CSP);
    const html = await r.text();
    assert.match(html, /Starting dash…/);
    assert.deepEqual(wakes, ['dash']);

    const head = await get(href, { accept: 'text/html' }, 'HEAD');
    assert.equal(head.status, 503);
    assert.equal(await head.text(), '');

    const seen: string[] = [];
    const page = runScript(html, href);
    await until(() => router.traffic('dash')!.httpInflight === 1, 'the script’s fetch held');
    assert.equal(page.reloads(), 0, 'no reload while the app is starting');
    const up = await listen((req, res) => {
      seen.push(`${req.url} ${String(req.headers['x-gantry-wait'])}`);
      res.end('<h1>dashboard</h1>');
    });
    servers.push(up);
    router.setRoute('dash', {
      app: 'dash',
      release: 1,
      backends: [{ id: 'dash.web.1', host: '127.0.0.1', port: (up.address() as AddressInfo).port }],
    });
    await until(() => page.reloads() === 1, 'the reload');
    assert.deepEqual(
      seen,
      ['/apps/dash/report?x=1 undefined'],
      'held fetch answered by the app, X-Gantry-Wait not forwarded',
    );
    assert.deepEqual(wakes, ['dash'], 'the script’s fetch did not wake the app again');
  });

  void test('a failed wake stops the script with the message', async () => {
    await front();
    router.setRoute('bad', { app: 'bad', release: 1, backends: [], sleeping: true });
    const href = `${base}/apps/bad/`;
    const html = await (await get(href, { accept: 'text/html' })).text();
    const page = runScript(html, href);
    await until(() => router.traffic('bad')!.httpInflight === 1, 'held');
    router.failWake('bad', 'out of memory.');
    await until(() => page.status.textContent !== '', 'the message');
    assert.match(
      page.status.textContent,
      /could not be started: out of memory\. Reload the page to try again\./,
    );
    assert.equal(page.reloads(), 0);
  });
});
