import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGate, gantryBearer, type RouterGate } from './gate.js';
import { IdentitySigner } from './jwt.js';
import { MemoryDirectory } from './memory-directory.js';

/** The gate reads only `rawHeaders`. */
const req = (...raw: string[]): IncomingMessage => ({ rawHeaders: raw }) as unknown as IncomingMessage;

void test('gantryBearer: only Bearer gty_ tokens are Gantry’s', () => {
  assert.equal(gantryBearer('Bearer gty_abc123'), 'gty_abc123');
  assert.equal(gantryBearer('bearer   gty_abc123 '), 'gty_abc123');
  assert.equal(gantryBearer('BEARER\tgty_x12345'), 'gty_x12345');
  assert.equal(gantryBearer('Bearer eyJhbGciOi.x.y'), undefined);
  assert.equal(gantryBearer('Basic Z3R5X3g6eQ=='), undefined);
  assert.equal(gantryBearer('Bearergty_abc123'), undefined);
  assert.equal(gantryBearer('gty_abc123'), undefined);
  assert.equal(gantryBearer(''), undefined);
});

void describe('gate', () => {
  let dataDir: string;
  let dir: MemoryDirectory;
  let gate: RouterGate;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gantry-gate-'));
    dir = new MemoryDirectory();
    dir.addUser({ username: 'alice', email: 'alice@example.com', groups: ['eng'] });
    dir.addUser({ username: 'bob' });
    dir.addUser({ username: 'root', role: 'admin' });
    dir.addSession('alice', 'sess-alice');
    dir.addSession('bob', 'sess-bob');
    dir.addSession('root', 'sess-root');
    dir.addToken('alice', 'gty_alice_full');
    dir.addToken('alice', 'gty_alice_read', { kind: 'read' });
    dir.addToken('alice', 'gty_alice_b', { kind: 'app', app: 'b' });
    dir.setApp({ app: 'a', viewers: [{ kind: 'group', name: 'eng' }] });
    dir.setApp({ app: 'b', owner: 'bob' });
    dir.setApp({ app: 'pub', visibility: 'public' });
    dir.setApp({ app: 'members', visibility: 'authenticated' });
    const signer = await IdentitySigner.load({ dataDir, publicUrl: 'http://gantry.test' });
    gate = createGate({ directory: dir, cookieName: 'gantry_session', signer });
    dir.onChange(() => gate.invalidate());
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  const kind = (app: string, ...raw: string[]): string => gate.check(app, req(...raw)).kind;

  void test('anonymous: public apps open, everything else (even missing apps) asks to log in', () => {
    const anon = gate.check('pub', req());
    assert.ok(anon.kind === 'allow');
    assert.equal(anon.headers, undefined, 'no identity headers for anonymous visitors');
    for (const app of ['a', 'b', 'members', 'missing']) assert.equal(kind(app), 'login', app);
    assert.equal(kind('a', 'Cookie', 'gantry_session=forged'), 'login', 'unknown session = anonymous');
    assert.equal(kind('a', 'Cookie', 'other_gantry_session=sess-alice'), 'login', 'not our cookie');
  });

  void test('logged in: allowed apps, and the same "hidden" for forbidden and missing apps', () => {
    const c = ['Cookie', 'theme=dark; gantry_session=sess-alice'];
    assert.equal(kind('a', ...c), 'allow');
    assert.equal(kind('pub', ...c), 'allow');
    assert.equal(kind('members', ...c), 'allow');
    assert.equal(kind('b', ...c), 'hidden');
    assert.equal(kind('missing', ...c), 'hidden');
    assert.equal(kind('b', 'cookie', 'gantry_session=sess-bob'), 'allow', 'owner');
    assert.equal(kind('a', 'COOKIE', 'gantry_session=sess-bob'), 'hidden');
    assert.equal(kind('b', 'Cookie', 'gantry_session=sess-root'), 'allow', 'admin');
    // Several Cookie headers: the session may be in any of them.
    assert.equal(kind('a', 'Cookie', 'theme=dark', 'Cookie', 'gantry_session=sess-alice'), 'allow');
  });

  void test('API tokens: a gty bearer wins over the cookie; a bad one is never a downgrade', () => {
    assert.equal(kind('a', 'Authorization', 'Bearer gty_alice_full'), 'allow');
    assert.equal(
      kind('b', 'Authorization', 'Bearer gty_alice_full', 'Cookie', 'gantry_session=sess-bob'),
      'hidden',
    );
    assert.equal(kind('a', 'authorization', 'bearer gty_revoked'), 'badToken');
    assert.equal(kind('pub', 'Authorization', 'Bearer gty_revoked'), 'badToken');
    assert.equal(
      kind('a', 'Authorization', 'Bearer gty_revoked', 'Cookie', 'gantry_session=sess-alice'),
      'badToken',
    );
    // Not Gantry's: the app's own auth; the cookie decides.
    assert.equal(kind('a', 'Authorization', 'Basic YTpi', 'Cookie', 'gantry_session=sess-alice'), 'allow');
    assert.equal(kind('a', 'Authorization', 'Bearer eyJ.app.token'), 'login');
    // Scopes: read may view; app:b may view only b.
    assert.equal(kind('a', 'Authorization', 'Bearer gty_alice_read'), 'allow');
    assert.equal(kind('a', 'Authorization', 'Bearer gty_alice_b'), 'hidden');
  });

  void test('identity headers: values, JWT, cached per user and app, rebuilt on change', () => {
    const v = gate.check('a', req('Cookie', 'gantry_session=sess-alice'));
    assert.equal(v.kind, 'allow');
    if (v.kind !== 'allow') return;
    assert.equal(v.identity?.username, 'alice');
    const h = v.headers!;
    assert.deepEqual(h.slice(0, 6), [
      'x-gantry-user',
      'alice',
      'x-gantry-email',
      'alice@example.com',
      'x-gantry-groups',
      'eng',
    ]);
    assert.equal(h[6], 'gantry-identity');
    assert.match(h[7]!, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    const again = gate.check('a', req('Cookie', 'gantry_session=sess-alice'));
    assert.equal(again.kind === 'allow' && again.headers, h, 'same list, nothing rebuilt');
    const viaToken = gate.check('a', req('Authorization', 'Bearer gty_alice_full'));
    assert.equal(viaToken.kind === 'allow' && viaToken.headers, h, 'same user and app');
    const bob = gate.check('pub', req('Cookie', 'gantry_session=sess-bob'));
    assert.deepEqual(bob.kind === 'allow' && bob.headers!.filter((_, i) => i % 2 === 0), [
      'x-gantry-user',
      'x-gantry-groups',
      'gantry-identity',
    ]);
    // A directory change (here: alice leaves the viewers) takes effect on the next request.
    dir.setApp({ app: 'a', viewers: [] });
    assert.equal(kind('a', 'Cookie', 'gantry_session=sess-alice'), 'hidden');
    dir.setApp({ app: 'a', viewers: [{ kind: 'user', name: 'alice' }] });
    const after = gate.check('a', req('Cookie', 'gantry_session=sess-alice'));
    assert.ok(after.kind === 'allow' && after.headers !== h, 'rebuilt after invalidate');
  });

  void test('a non-ASCII email is percent-encoded, never a broken header', () => {
    dir.addUser({ username: 'zoe', email: 'zoë@exämple.com' });
    dir.addSession('zoe', 'sess-zoe');
    const v = gate.check('pub', req('Cookie', 'gantry_session=sess-zoe'));
    assert.ok(v.kind === 'allow');
    assert.equal(v.headers![3], encodeURIComponent('zoë@exämple.com'));
  });

  void test('reads only the in-memory directory, a bounded number of times', () => {
    const before = dir.reads;
    kind('a', 'Cookie', 'gantry_session=sess-alice', 'Authorization', 'Basic YTpi');
    assert.equal(dir.reads - before, 2, 'resolveSession + appAccess');
  });
});
