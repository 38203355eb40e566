import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildUpstreamHeaders, serializeRequestHead, responseHeaderList } from './headers.js';
import { hasRequestBody } from './http-proxy.js';

const ctx = { clientAddr: '10.0.0.7', encrypted: false, prefix: '/apps/sales', trustProxy: false };

/** Flat list → lower-case name → values, for readable asserts. */
function toMap(flat: string[]): Record<string, string[]> {
  const m: Record<string, string[]> = {};
  for (let i = 0; i < flat.length; i += 2) (m[flat[i]!.toLowerCase()] ??= []).push(flat[i + 1]!);
  return m;
}

void describe('buildUpstreamHeaders', () => {
  void test('removes hop-by-hop headers and those named by Connection', () => {
    const raw = [
      'Host',
      'gantry.example',
      'Connection',
      'keep-alive, X-Secret-Hop',
      'Keep-Alive',
      'timeout=5',
      'X-Secret-Hop',
      'x',
      'Proxy-Authorization',
      'Basic abc',
      'Proxy-Foo',
      'y',
      'TE',
      'trailers',
      'Trailer',
      'x',
      'Transfer-Encoding',
      'chunked',
      'Upgrade',
      'websocket',
      'Expect',
      '100-continue',
      'Accept',
      'text/html',
      'Cookie',
      'a=1',
    ];
    const h = toMap(buildUpstreamHeaders(raw, ctx));
    assert.deepEqual(Object.keys(h).sort(), [
      'accept',
      'cookie',
      'host',
      'x-forwarded-for',
      'x-forwarded-host',
      'x-forwarded-prefix',
      'x-forwarded-proto',
    ]);
    assert.deepEqual(h.host, ['gantry.example']);
  });

  void test('without trustProxy, client forwarding headers are replaced', () => {
    const raw = [
      'Host',
      'h:8080',
      'X-Forwarded-For',
      '1.2.3.4',
      'X-Forwarded-Proto',
      'https',
      'X-Forwarded-Host',
      'evil',
      'X-Forwarded-Prefix',
      '/other',
      'X-Real-IP',
      '1.2.3.4',
      'Forwarded',
      'for=1.2.3.4',
    ];
    const h = toMap(buildUpstreamHeaders(raw, ctx));
    assert.deepEqual(h['x-forwarded-for'], ['10.0.0.7']);
    assert.deepEqual(h['x-forwarded-proto'], ['http']);
    assert.deepEqual(h['x-forwarded-host'], ['h:8080']);
    assert.deepEqual(h['x-forwarded-prefix'], ['/apps/sales']);
    assert.equal(h['x-real-ip'], undefined);
    assert.equal(h.forwarded, undefined);
  });

  void test('with trustProxy, the client address is appended and proto/host kept', () => {
    const raw = [
      'Host',
      'internal:80',
      'X-Forwarded-For',
      '1.2.3.4',
      'x-forwarded-for',
      '5.6.7.8',
      'X-Forwarded-Proto',
      'https',
      'X-Forwarded-Host',
      'public.example',
    ];
    const h = toMap(buildUpstreamHeaders(raw, { ...ctx, trustProxy: true }));
    assert.deepEqual(h['x-forwarded-for'], ['1.2.3.4, 5.6.7.8, 10.0.0.7']);
    assert.deepEqual(h['x-forwarded-proto'], ['https']);
    assert.deepEqual(h['x-forwarded-host'], ['public.example']);
  });

  void test('TLS sockets say https', () => {
    const h = toMap(buildUpstreamHeaders(['Host', 'x'], { ...ctx, encrypted: true }));
    assert.deepEqual(h['x-forwarded-proto'], ['https']);
  });

  void test('upgrade keeps Connection: Upgrade and the Upgrade header', () => {
    const raw = ['Host', 'x', 'Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k'];
    const h = toMap(buildUpstreamHeaders(raw, { ...ctx, upgrade: true }));
    assert.deepEqual(h.connection, ['Upgrade']);
    assert.deepEqual(h.upgrade, ['websocket']);
    assert.deepEqual(h['sec-websocket-key'], ['k']);
  });
});

void test('responseHeaderList', () => {
  const h = responseHeaderList({
    connection: 'keep-alive, x-hop',
    'x-hop': '1',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    'content-type': 'text/plain',
    'set-cookie': ['a=1', 'b=2'],
  });
  assert.deepEqual(h, ['content-type', 'text/plain', 'set-cookie', ['a=1', 'b=2']]);
  assert.deepEqual(responseHeaderList({ connection: 'close', 'content-length': '3' }), [
    'content-length',
    '3',
  ]);
});

void test('serializeRequestHead', () => {
  assert.equal(
    serializeRequestHead('GET', '/apps/x/ws', ['Host', 'h', 'Upgrade', 'websocket']),
    'GET /apps/x/ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n',
  );
});

void test('hasRequestBody', () => {
  assert.equal(hasRequestBody(['Host', 'x']), false);
  assert.equal(hasRequestBody(['Content-Length', '0']), false);
  assert.equal(hasRequestBody(['content-length', '12']), true);
  assert.equal(hasRequestBody(['Transfer-Encoding', 'chunked']), true);
});
