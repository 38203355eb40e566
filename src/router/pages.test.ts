import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, renderPage } from './pages.js';
import { contentTypeFor, etagMatches, staticSegments } from './static.js';

void test('pages escape everything dynamic', () => {
  const html = renderPage({ status: 404, title: '<script>x</script>', message: `"a" & 'b' <img>` });
  assert.ok(!html.includes('<script>x'));
  assert.ok(!html.includes('<img>'));
  assert.ok(html.includes('&lt;script&gt;x&lt;/script&gt;'));
  assert.ok(html.includes('&quot;a&quot; &amp; &#39;b&#39; &lt;img&gt;'));
  assert.equal(escapeHtml('a&b'), 'a&amp;b');
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
