import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPath, matchTarget } from './path.js';

/** Targets that must be refused with 400 before routing. */
const BAD = [
  '/apps/x/%2e%2e/etc/passwd',
  '/apps/x/%2E%2E/y',
  '/apps/x/.%2e/y',
  '/apps/x/%2e./y',
  '/apps/x/%2e/y',
  '/apps/x/%2E',
  '/apps/x/..',
  '/apps/x/.',
  '/apps/x/../y',
  '/apps/x/./y',
  '/apps/../admin',
  '/apps/./x/',
  '/apps/x/a%2fb',
  '/apps/x/a%2Fb',
  '/apps/x/a%5cb',
  '/apps/x/a%5Cb',
  '/apps/x/a\\b',
  '/apps/x\\',
  '/apps/x/a%00b',
  '/apps/x/a\u0000b',
  '/apps/x/..?q=1',
  'http://evil.example/apps/x/',
  'evil.example:443',
  '*',
  '',
];

/** Targets that are fine (the app decides what they mean). */
const GOOD = [
  '/apps/x/',
  '/apps/x/a/b/c.js',
  '/apps/x/...',
  '/apps/x/.../y',
  '/apps/x/.well',
  '/apps/x/a.b',
  '/apps/x/a..b',
  '/apps/x/a%2ejs',
  '/apps/x/%2e%2e%2e/',
  '/apps/x/a%20b',
  '/apps/x/a%252e%252e/',
  '/apps/x/?path=../../etc&x=%2f',
  '/apps/x/a?q=%00',
  '/apps/x//double',
];

void describe('path validation corpus', () => {
  for (const url of BAD) {
    void test(`refuses ${JSON.stringify(url)}`, () => {
      const t = matchTarget(url);
      assert.equal(t?.kind, 'bad', `expected 400 for ${url}, got ${JSON.stringify(t)}`);
    });
  }
  for (const url of GOOD) {
    void test(`accepts ${JSON.stringify(url)}`, () => {
      const t = matchTarget(url);
      assert.equal(t?.kind, 'app', `expected app for ${url}, got ${JSON.stringify(t)}`);
    });
  }
});

void describe('matchTarget', () => {
  void test('paths outside /apps are not ours', () => {
    for (const url of ['/', '/api/apps', '/apps\\x/', '/appsfoo', '/app', '/APPS/x/', '/api/%2e%2e/x']) {
      assert.equal(matchTarget(url), undefined, url);
    }
  });

  void test('app and path end', () => {
    assert.deepEqual(matchTarget('/apps/sales-1/dash?x=1'), { kind: 'app', app: 'sales-1', pathEnd: 18 });
    assert.deepEqual(matchTarget('/apps/sales/'), { kind: 'app', app: 'sales', pathEnd: 12 });
  });

  void test('missing trailing slash redirects and keeps the query', () => {
    assert.deepEqual(matchTarget('/apps/sales'), { kind: 'redirect', location: '/apps/sales/' });
    assert.deepEqual(matchTarget('/apps/sales?a=1&b'), { kind: 'redirect', location: '/apps/sales/?a=1&b' });
  });

  void test('names that can never be apps are not found', () => {
    for (const url of [
      '/apps',
      '/apps/',
      '/apps?x',
      '/apps/Sales/',
      '/apps/1x/',
      '/apps/-x/',
      `/apps/${'a'.repeat(64)}/`,
      '/apps/a_b/',
      '/apps/%61/',
    ]) {
      assert.equal(matchTarget(url)?.kind, 'not-found', url);
    }
    assert.equal(matchTarget(`/apps/${'a'.repeat(63)}/`)?.kind, 'app');
  });

  void test('checkPath only looks at the path part', () => {
    assert.equal(checkPath('/a/../b', 3), undefined);
    assert.equal(checkPath('/a/../b', 7), 'dot segment in path');
  });
});
