import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { isGantryError } from '../errors/index.js';
import type { Identity } from '../identity/types.js';
import { IdentitySigner } from './jwt.js';

const alice: Identity = {
  userId: 'u1',
  username: 'alice',
  email: 'alice@example.com',
  role: 'developer',
  groups: ['analysts', 'eng'],
  via: 'session',
};

void describe('IdentitySigner', () => {
  const dirs: string[] = [];
  const tmp = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'gantry-jwt-'));
    dirs.push(d);
    return d;
  };
  after(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  void test('creates the key once (0600), publishes it with its thumbprint as kid', async () => {
    const dataDir = await tmp();
    const s1 = await IdentitySigner.load({ dataDir, publicUrl: 'https://gantry.example' });
    const file = join(dataDir, 'keys', 'identity-key.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const priv = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
    assert.equal(priv.kty, 'EC');
    assert.equal(priv.crv, 'P-256');
    assert.ok(priv.d, 'the private part is persisted');
    const [key] = s1.jwks().keys;
    assert.equal(key!.alg, 'ES256');
    assert.equal(key!.use, 'sig');
    assert.equal('d' in key!, false, 'the JWKS never carries the private part');
    assert.equal(key!.kid, await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: key!.x, y: key!.y }));
    const s2 = await IdentitySigner.load({ dataDir, publicUrl: 'https://gantry.example' });
    assert.equal(s2.kid, s1.kid, 'the same key after a restart');
  });

  void test('tokens verify against the JWKS, with issuer, audience and claims', async () => {
    const dataDir = await tmp();
    const signer = await IdentitySigner.load({
      dataDir,
      publicUrl: 'https://gantry.example/',
      ttlMs: 120_000,
    });
    const token = signer.sign(alice, 'sales');
    assert.equal(decodeProtectedHeader(token).kid, signer.kid);
    const { payload } = await jwtVerify(token, createLocalJWKSet(signer.jwks()), {
      issuer: 'https://gantry.example',
      audience: 'https://gantry.example/apps/sales/',
      algorithms: ['ES256'],
    });
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.email, 'alice@example.com');
    assert.deepEqual(payload.groups, ['analysts', 'eng']);
    assert.equal(payload.role, 'developer');
    assert.equal(payload.exp! - payload.iat!, 120);
    assert.ok(Math.abs(payload.iat! - Date.now() / 1000) < 5);
    // A token for one app is refused by another.
    await assert.rejects(
      jwtVerify(token, createLocalJWKSet(signer.jwks()), { audience: 'https://gantry.example/apps/other/' }),
      /aud/,
    );
    // Another Gantry's key does not verify it.
    const other = await IdentitySigner.load({ dataDir: await tmp(), publicUrl: 'https://gantry.example' });
    await assert.rejects(jwtVerify(token, createLocalJWKSet(other.jwks())));
  });

  void test('cached per user and app until half the lifetime is gone; invalidate re-signs', async () => {
    let now = 1_700_000_000_000;
    const signer = await IdentitySigner.load({
      dataDir: await tmp(),
      publicUrl: 'http://g',
      ttlMs: 60_000,
      now: () => now,
    });
    const t1 = signer.sign(alice, 'a');
    assert.equal(signer.sign(alice, 'a'), t1);
    assert.notEqual(signer.sign(alice, 'b'), t1, 'one token per app');
    assert.notEqual(signer.sign({ ...alice, userId: 'u2', username: 'bob' }, 'a'), t1);
    assert.equal(signer.cached, 3);
    now += 29_000;
    assert.equal(signer.sign(alice, 'a'), t1, 'more than half the lifetime left');
    now += 2_000;
    const t2 = signer.sign(alice, 'a');
    assert.notEqual(t2, t1, 're-signed past half-life');
    assert.equal(signer.sign(alice, 'a'), t2);
    signer.invalidate();
    assert.equal(signer.cached, 0);
    const changed = { ...alice, groups: ['eng'] };
    now += 1_000;
    const t3 = signer.sign(changed, 'a');
    assert.notEqual(t3, t2);
    const claims = JSON.parse(Buffer.from(t3.split('.')[1]!, 'base64url').toString()) as { groups: string[] };
    assert.deepEqual(claims.groups, ['eng']);
  });

  void test('the cache is bounded', async () => {
    const signer = await IdentitySigner.load({ dataDir: await tmp(), publicUrl: 'http://g', maxCached: 10 });
    for (let i = 0; i < 25; i++) signer.sign({ ...alice, userId: `u${i}` }, 'a');
    assert.ok(signer.cached <= 10, `cached ${signer.cached}`);
  });

  void test('a damaged key file is reported, not replaced', async () => {
    const dataDir = await tmp();
    await IdentitySigner.load({ dataDir, publicUrl: 'http://g' });
    const file = join(dataDir, 'keys', 'identity-key.json');
    await writeFile(file, '{"kty":"RSA"}');
    await assert.rejects(IdentitySigner.load({ dataDir, publicUrl: 'http://g' }), (e) =>
      isGantryError(e, 'GANTRY_INVALID_CONFIG'),
    );
    assert.equal(await readFile(file, 'utf8'), '{"kty":"RSA"}');
  });
});
