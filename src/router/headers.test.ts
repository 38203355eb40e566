import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readCookie } from '../identity/cookies.js';
import { buildUpstreamHeaders, serializeRequestHead, responseHeaderPairs } from './headers.js';
import { withoutCookie as stripCookie } from '../identity/cookies.js';
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

void describe('Gantry credentials and identity', () => {
  void test('client-sent identity headers are dropped, whatever their case', () => {
    const raw = [
      'X-Gantry-User',
      'admin',
      'x-gantry-email',
      'a@b',
      'X-GANTRY-GROUPS',
      'admins',
      'X-Gantry-Anything',
      '1',
      'Gantry-Identity',
      'forged.jwt.x',
      'X-Gantryish',
      'kept',
    ];
    for (const trustProxy of [false, true]) {
      const h = toMap(buildUpstreamHeaders(raw, { ...ctx, trustProxy }));
      assert.deepEqual(
        Object.keys(h).filter((k) => k.includes('gantry')),
        ['x-gantryish'],
      );
    }
  });

  void test('identity from the gate is appended once', () => {
    const id = ['x-gantry-user', 'alice', 'x-gantry-groups', 'eng', 'gantry-identity', 'jwt'];
    const h = toMap(
      buildUpstreamHeaders(['X-Gantry-User', 'mallory', 'Host', 'h'], { ...ctx, identity: id }),
    );
    assert.deepEqual(h['x-gantry-user'], ['alice']);
    assert.deepEqual(h['gantry-identity'], ['jwt']);
  });

  void test('Bearer gty_ tokens are dropped; other Authorization passes', () => {
    const cases: [string, boolean][] = [
      ['Bearer gty_abc', false],
      ['bearer  gty_abc', false],
      ['Bearer eyJ.x.y', true],
      ['Basic YTpi', true],
    ];
    for (const [value, kept] of cases) {
      const h = toMap(buildUpstreamHeaders(['Authorization', value], ctx));
      assert.deepEqual(h.authorization, kept ? [value] : undefined, value);
    }
  });

  void test('session cookies are cut out of every Cookie header; others pass', () => {
    const raw = [
      'Cookie',
      'a=1; gantry_session=s1; b=2',
      'Cookie',
      'gantry_session=s2',
      'cookie',
      '__Host-gantry_session=s3;c=3',
      'Cookie',
      'my_session=s4; d=4',
    ];
    const h = toMap(buildUpstreamHeaders(raw, { ...ctx, sessionCookie: 'my_session' }));
    assert.deepEqual(h.cookie, ['a=1; b=2', 'c=3', 'd=4']);
  });

  void test("the affinity cookie is Gantry's: never forwarded", () => {
    const raw = ['Cookie', 'a=1; gantry_affinity=sales.web.2; b=2', 'Cookie', 'gantry_affinity=sales.web.1'];
    const h = toMap(buildUpstreamHeaders(raw, ctx));
    assert.deepEqual(h.cookie, ['a=1; b=2']);
  });

  void test('stripCookie removes what readCookie would read, and nothing else', () => {
    const name = 'gantry_session';
    const cases: [string, string | undefined][] = [
      ['gantry_session=x', undefined],
      ['gantry_session=x;', undefined],
      [' gantry_session=x ; ', undefined],
      ['a=1; gantry_session=x', 'a=1'],
      ['gantry_session=x; a=1', 'a=1'],
      ['a=1;gantry_session=x;b=2', 'a=1; b=2'],
      ['gantry_session=x; gantry_session=y; a=1', 'a=1'],
      ['a=1; __Host-gantry_session=x', 'a=1; __Host-gantry_session=x'],
      ['a=gantry_session=x; b=2', 'a=gantry_session=x; b=2'],
      ['xgantry_session=1; gantry_sessionx=2', 'xgantry_session=1; gantry_sessionx=2'],
      ['a=1 gantry_session=x; b=2', 'a=1; b=2'],
      ['a=1; b=2', 'a=1; b=2'],
    ];
    for (const [header, want] of cases) {
      const got = stripCookie(header, name);
      assert.equal(got, want, header);
      assert.equal(readCookie(got, name), undefined, `${header} → ${got}`);
    }
  });
});

void test('responseHeaderPairs', () => {
  const h = responseHeaderPairs([
    'Connection',
    'keep-alive, X-Hop',
    'X-Hop',
    '1',
    'Keep-Alive',
    'timeout=5',
    'Transfer-Encoding',
    'chunked',
    'Content-Type',
    'text/plain',
    'Set-Cookie',
    'a=1',
    'set-cookie',
    'b=2',
  ]);
  assert.deepEqual(h, ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2']);
  assert.deepEqual(responseHeaderPairs(['Connection', 'close', 'Content-Length', '3']), [
    'Content-Length',
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
