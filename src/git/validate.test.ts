import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { isGantryError } from '../errors/index.js';
import { checkUpdates } from './hook-server.js';
import { hookScript } from './hook-script.js';
import { formatBytes } from './rpc.js';
import { pktLine } from './respond.js';
import {
  ZERO_SHA,
  parseBasicAuth,
  parseGitPath,
  parseGitProtocol,
  parseService,
  validateRef,
  validateSha,
} from './validate.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('validateRef', () => {
  test('accepts ordinary full ref names', () => {
    for (const ok of ['refs/heads/main', 'refs/heads/feature/x-1', 'refs/tags/v1.2.3', 'refs/heads/a.b'])
      assert.doesNotThrow(() => validateRef(ok), ok);
  });
  test('rejects what git check-ref-format rejects, and option-like names', () => {
    const bad = [
      '',
      'main',
      '-refs/heads/x',
      '--upload-pack=x',
      'refs/heads/a..b',
      'refs/heads/.hidden',
      'refs/heads/x.lock',
      'refs/heads/x.',
      'refs/heads/x/',
      '/refs/heads/x',
      'refs//heads/x',
      'refs/heads/a b',
      'refs/heads/a\tb',
      'refs/heads/a\nb',
      'refs/heads/a\x7f',
      'refs/heads/a~1',
      'refs/heads/a^',
      'refs/heads/a:b',
      'refs/heads/a?',
      'refs/heads/a*',
      'refs/heads/a[b',
      'refs/heads/a\\b',
      'refs/heads/a@{1}',
      '@',
      'refs/heads/$(touch x)',
      'refs/heads/é',
      'refs/heads/' + 'x'.repeat(300),
    ];
    for (const ref of bad)
      assert.throws(
        () => validateRef(ref),
        (e) => isGantryError(e, 'GANTRY_INVALID_REF'),
        JSON.stringify(ref),
      );
  });
});

test('validateSha', () => {
  assert.doesNotThrow(() => validateSha(A));
  for (const bad of ['HEAD', A.toUpperCase(), A.slice(1), `${A}\n`, `--${A.slice(2)}`])
    assert.throws(() => validateSha(bad), /40 hex/);
});

describe('parseGitPath', () => {
  test('maps the smart HTTP endpoints, with or without .git', () => {
    assert.deepEqual(parseGitPath('/git/demo.git/info/refs?service=git-receive-pack'), {
      app: 'demo',
      endpoint: 'info/refs',
    });
    assert.deepEqual(parseGitPath('/git/demo/git-upload-pack'), { app: 'demo', endpoint: 'git-upload-pack' });
  });
  test('leaves other paths alone', () => {
    assert.equal(parseGitPath('/apps/demo/'), undefined);
    assert.equal(parseGitPath('/gitx/demo.git/info/refs'), undefined);
  });
  test('refuses bad names and unknown endpoints without normalising the path', () => {
    for (const p of [
      '/git/%24(id).git/info/refs',
      '/git/;id.git/info/refs',
      '/git/--upload-pack=x.git/git-upload-pack',
      '/git/...git/info/refs',
    ])
      assert.throws(
        () => parseGitPath(p),
        (e) => isGantryError(e, 'GANTRY_INVALID_APP_NAME'),
        p,
      );
    for (const p of [
      '/git',
      '/git/',
      '/git/../demo.git/info/refs',
      '/git/demo.git/HEAD',
      '/git/a/b.git/info/refs',
    ])
      assert.throws(
        () => parseGitPath(p),
        (e) => isGantryError(e, 'GANTRY_NOT_FOUND'),
        p,
      );
  });
  test('service, protocol and basic auth headers', () => {
    assert.equal(parseService('/x?service=git-upload-pack'), 'git-upload-pack');
    assert.throws(() => parseService('/x?service=git-upload-archive'), /smart HTTP/);
    assert.throws(() => parseService('/x'), /smart HTTP/);
    assert.equal(parseGitProtocol('version=2'), 'version=2');
    assert.equal(parseGitProtocol('version=2;rm -rf'), undefined);
    assert.equal(parseGitProtocol(['version=2']), undefined);
    const h = `Basic ${Buffer.from('alice:pa:ss').toString('base64')}`;
    assert.deepEqual(parseBasicAuth(h), { username: 'alice', password: 'pa:ss' });
    assert.equal(parseBasicAuth('Bearer x'), undefined);
    assert.equal(parseBasicAuth(`Basic ${Buffer.from(':pw').toString('base64')}`), undefined);
  });
});

describe('checkUpdates', () => {
  test('returns the one deploy-branch update', () => {
    assert.deepEqual(checkUpdates(`${ZERO_SHA} ${A} refs/heads/main\n`), {
      ref: 'refs/heads/main',
      oldSha: ZERO_SHA,
      newSha: A,
    });
    assert.equal(checkUpdates(`${A} ${B} refs/heads/master\n`).newSha, B);
  });
  test('refuses other refs, deletions, several branches and junk', () => {
    const cases: [string, RegExp][] = [
      [`${A} ${B} refs/heads/dev\n`, /git push gantry HEAD:main/],
      [`${A} ${B} refs/tags/v1\n`, /only main or master/],
      [`${A} ${ZERO_SHA} refs/heads/main\n`, /deleting main is not allowed/],
      [`${A} ${B} refs/heads/main\n${A} ${B} refs/heads/master\n`, /one deploy branch/],
      [`${A} ${B} refs/heads/main\n${A} ${B} refs/heads/dev\n`, /only main or master/],
      ['', /nothing to deploy/],
      [`${A} ${B} refs/heads/main extra\n`, /malformed/],
      [`${A} HEAD refs/heads/main\n`, /40 hex/],
      [`${A} ${B} refs/heads/ma..in\n`, /invalid ref/],
    ];
    for (const [stdin, re] of cases) assert.throws(() => checkUpdates(stdin), re, stdin);
  });
});

test('helpers: pkt-line, sizes, hook shebang', () => {
  assert.equal(pktLine('# service=git-upload-pack\n'), '001e# service=git-upload-pack\n');
  assert.equal(formatBytes(512 * 1024 * 1024), '512 MiB');
  assert.equal(formatBytes(256 * 1024), '256 KiB');
  assert.match(hookScript({ socketPath: '/s', nodePath: '/usr/bin/node' }), /^#!\/usr\/bin\/node\n/);
  assert.match(hookScript({ socketPath: '/s', nodePath: '/opt/my node/node' }), /^#!\/usr\/bin\/env node\n/);
  assert.match(hookScript({ socketPath: '/a"b', nodePath: '/n' }), /const SOCKET = "\/a\\"b";/);
});
