import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml, PAGE_CSP, Pages, renderPage, sendPage } from './pages.js';
import { contentTypeFor, etagMatches, staticSegments } from './static.js';

void test('pages escape everything dynamic', () => {
  const html = renderPage({ status: 404, title: '<script>x</script>', message: `"a" & 'b' <img>` });
  assert.ok(!html.includes('<script>x'));
  assert.ok(!html.includes('<img>'));
  assert.ok(html.includes('&lt;script&gt;x&lt;/script&gt;'));
  assert.ok(html.includes('&quot;a&quot; &amp; &#39;b&#39; &lt;img&gt;'));
  assert.equal(escapeHtml('a&b'), 'a&amp;b');
});

void test('pages have Gantry’s look: brand, card, phone viewport, dark mode', () => {
  const html = renderPage(Pages.badGateway('sales'));
  assert.match(html, /<meta name="viewport" content="width=device-width,initial-scale=1">/);
  assert.match(html, /<body class="g-page"><header><a class="g-brand" href="\/">Gantry<\/a><\/header>/);
  assert.match(html, /<main class="g-card"><div class="code">Error 502<\/div><h1>App did not answer<\/h1>/);
  assert.match(html, /--g-surface:/);
  assert.match(html, /@media \(prefers-color-scheme:dark\)\{:root\{/);
  assert.match(
    html,
    /<a class="g-button primary" href="">Try again<\/a>/,
    'a transient error offers a retry',
  );
});

void test('an unknown app offers the way back to the portal; the page says which app', () => {
  const html = renderPage(Pages.appNotFound('<x>'));
  assert.match(html, /<a class="g-button primary" href="\/">Go to your apps<\/a>/);
  assert.match(html, /There is no app named “&lt;x&gt;” here\./);
  assert.doesNotMatch(
    renderPage(Pages.badRequest('x')),
    /class="g-button/,
    'a bad request has nowhere to send you',
  );
});

/** What sendPage writes for a request with this Accept header. */
function send(accept: string): { headers: Record<string, string | number>; body: string } {
  const out = { headers: {} as Record<string, string | number>, body: '' };
  const res = {
    headersSent: false,
    writeHead: (_status: number, h: Record<string, string | number>) => Object.assign(out.headers, h),
    end: (b?: string) => {
      out.body = b ?? '';
    },
  } as unknown as ServerResponse;
  sendPage({ method: 'GET', headers: { accept } } as IncomingMessage, res, Pages.appNotFound('a'));
  return out;
}

void test('HTML pages carry a CSP that allows exactly their own style', () => {
  const { headers, body } = send('text/html');
  assert.equal(headers['content-security-policy'], PAGE_CSP);
  const style = /<style>([\s\S]*?)<\/style>/.exec(body)![1]!;
  const hash = `'sha256-${createHash('sha256').update(style).digest('base64')}'`;
  assert.equal(PAGE_CSP, `default-src 'none'; style-src ${hash}; base-uri 'none'; form-action 'none'`);
  assert.doesNotMatch(body, /<script|\son[a-z]+=|style="/i);
  assert.equal(send('application/json').headers['content-security-policy'], undefined, 'JSON needs no CSP');
});

void test('content types', () => {
  assert.equal(contentTypeFor('/x/index.HTML'), 'text/html; charset=utf-8');
  assert.equal(contentTypeFor('a.js'), 'text/javascript; charset=utf-8');
  assert.equal(contentTypeFor('a.png'), 'image/png');
  assert.equal(contentTypeFor('a.woff2'), 'font/woff2');
  assert.equal(contentTypeFor('Makefile'), 'application/octet-stream');
});

void test('etag weak comparison', () => {
  assert.ok(etagMatches('W/"a-b"', 'W/"a-b"'));
  assert.ok(etagMatches('"x", "a-b"', 'W/"a-b"'));
  assert.ok(etagMatches('*', 'W/"a-b"'));
  assert.ok(!etagMatches('W/"a-c"', 'W/"a-b"'));
});

void test('static segments: decode, refuse dotfiles and malformed escapes', () => {
  assert.deepEqual(staticSegments('a/b%20c/d.js'), { segments: ['a', 'b c', 'd.js'] });
  assert.deepEqual(staticSegments(''), { segments: [] });
  assert.deepEqual(staticSegments('.git/config'), { error: 'hidden' });
  assert.deepEqual(staticSegments('a/.env'), { error: 'hidden' });
  assert.deepEqual(staticSegments('a/%2eenv'), { error: 'hidden' });
  assert.deepEqual(staticSegments('a/%zz'), { error: 'bad' });
});
