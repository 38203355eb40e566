import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Keyring, generateMasterKey, isEncrypted, keyIdFor, keyIdOf } from './index.js';
import { isGantryError } from '../errors/index.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'gantry-keyring-'));
  dirs.push(d);
  return d;
}

describe('encryption', () => {
  const ring = Keyring.fromKey(generateMasterKey());

  test('round trip, including empty and non-ASCII values', () => {
    for (const v of ['s3cret', '', 'ünïcødé 🔑', 'x'.repeat(100_000)]) {
      const c = ring.encrypt(v, 'config:a:K');
      assert.ok(isEncrypted(c));
      assert.match(c, /^gk1:[0-9a-f]{8}:[A-Za-z0-9_-]+$/);
      assert.equal(keyIdOf(c), ring.currentKeyId);
      assert.equal(ring.decrypt(c, 'config:a:K'), v);
    }
  });

  test('random IVs: the same plaintext never gives the same ciphertext', () => {
    const seen = new Set(Array.from({ length: 50 }, () => ring.encrypt('same', 'config:a:K')));
    assert.equal(seen.size, 50);
  });

  test('a ciphertext moved to another row (different AAD) does not decrypt', () => {
    const c = ring.encrypt('s3cret', 'config:app1:DATABASE_URL');
    assert.throws(
      () => ring.decrypt(c, 'config:app2:DATABASE_URL'),
      (e) => isGantryError(e, 'GANTRY_INTERNAL') && /altered or copied/.test(e.message),
    );
    assert.throws(() => ring.decrypt(c, 'config:app1:OTHER'), /authentication failed/);
  });

  test('any flipped byte is detected', () => {
    const c = ring.encrypt('s3cret value', 'config:a:K');
    const body = Buffer.from(c.split(':')[2]!, 'base64url');
    for (let i = 0; i < body.length; i++) {
      const t = Buffer.from(body);
      t[i] = t[i]! ^ 0x01;
      assert.throws(
        () => ring.decrypt(`gk1:${ring.currentKeyId}:${t.toString('base64url')}`, 'config:a:K'),
        /authentication failed/,
        `byte ${i}`,
      );
    }
    assert.throws(() => ring.decrypt(`gk1:${ring.currentKeyId}:AAAA`, 'config:a:K'), /altered/);
    assert.throws(() => ring.decrypt('plain', 'config:a:K'), /not an encrypted value/);
  });

  test('a value under an unknown key says which key and how to supply it; never the value', () => {
    const other = Keyring.fromKey(generateMasterKey());
    const c = other.encrypt('CANARY-unknown-key', 'config:a:K');
    assert.throws(
      () => ring.decrypt(c, 'config:a:K'),
      (e) =>
        isGantryError(e, 'GANTRY_INTERNAL') &&
        e.message.includes(`key ${other.currentKeyId} which is not available`) &&
        e.message.includes('GANTRY_PREVIOUS_MASTER_KEYS') &&
        !e.message.includes('CANARY'),
    );
  });

  test('values under a previous key still decrypt; new values use the current key', () => {
    const oldKey = generateMasterKey();
    const before = Keyring.fromKey(oldKey).encrypt('old', 'release:r1');
    const now = Keyring.fromKey(generateMasterKey(), [oldKey]);
    assert.equal(now.decrypt(before, 'release:r1'), 'old');
    assert.equal(keyIdOf(now.encrypt('new', 'release:r1')), now.currentKeyId);
    assert.notEqual(keyIdOf(before), now.currentKeyId);
  });
});

describe('key file', () => {
  test('generated on first open with mode 0600 in a 0700 dir, and reused afterwards', async () => {
    const dir = tempDir();
    const a = await Keyring.open({ dataDir: dir });
    const file = join(dir, 'keys', 'master.key');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'keys')).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(join(dir, 'keys')), ['master.key'], 'no temp files left behind');
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { current: { id: string; key: string } };
    assert.equal(stored.current.id, a.currentKeyId);
    assert.equal(keyIdFor(Buffer.from(stored.current.key, 'base64')), a.currentKeyId);
    assert.equal(a.source, 'file');
    const c = a.encrypt('v', 'config:x:K');
    const b = await Keyring.open({ dataDir: dir });
    assert.equal(b.currentKeyId, a.currentKeyId);
    assert.equal(b.decrypt(c, 'config:x:K'), 'v');
  });

  test('two first starts racing end up with one key', async () => {
    const dir = tempDir();
    const rings = await Promise.all(Array.from({ length: 8 }, () => Keyring.open({ dataDir: dir })));
    assert.equal(new Set(rings.map((r) => r.currentKeyId)).size, 1);
    assert.deepEqual(readdirSync(join(dir, 'keys')), ['master.key']);
  });

  test('rotate: new current key, old one kept for decryption, file stays 0600', async () => {
    const dir = tempDir();
    const ring = await Keyring.open({ dataDir: dir });
    const oldId = ring.currentKeyId;
    const c = ring.encrypt('v', 'config:x:K');
    const newId = await ring.rotate();
    assert.notEqual(newId, oldId);
    assert.equal(ring.currentKeyId, newId);
    assert.deepEqual(ring.previousKeyIds, [oldId]);
    assert.equal(ring.decrypt(c, 'config:x:K'), 'v');
    const reopened = await Keyring.open({ dataDir: dir });
    assert.equal(reopened.currentKeyId, newId);
    assert.equal(reopened.decrypt(c, 'config:x:K'), 'v');
    assert.equal(statSync(join(dir, 'keys', 'master.key')).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(join(dir, 'keys')), ['master.key']);
  });

  test('keys from GANTRY_PREVIOUS_MASTER_KEYS decrypt but are never written to the key file', async () => {
    const dir = tempDir();
    const supplied = generateMasterKey();
    const c = Keyring.fromKey(supplied).encrypt('v', 'config:x:K');
    const ring = await Keyring.open({ dataDir: dir, previousKeys: [supplied] });
    assert.equal(ring.decrypt(c, 'config:x:K'), 'v');
    const firstId = ring.currentKeyId;
    await ring.rotate();
    const text = readFileSync(join(dir, 'keys', 'master.key'), 'utf8');
    assert.ok(!text.includes(supplied), 'the supplied key stays out of the file');
    const file = JSON.parse(text) as { previous: { id: string }[] };
    assert.deepEqual(
      file.previous.map((k) => k.id),
      [firstId],
    );
    assert.equal(ring.decrypt(c, 'config:x:K'), 'v');
  });

  test('a damaged key file stops startup with a clear message', async () => {
    const dir = tempDir();
    await Keyring.open({ dataDir: dir });
    writeFileSync(join(dir, 'keys', 'master.key'), '{"current":', { mode: 0o600 });
    await assert.rejects(Keyring.open({ dataDir: dir }), /master key file .* is damaged/);
  });
});

describe('GANTRY_MASTER_KEY', () => {
  test('must be base64 of exactly 32 bytes; the error never echoes the value', async () => {
    const dir = tempDir();
    const bad = [
      'c2hvcnQ=',
      randomBytes(31).toString('base64'),
      randomBytes(33).toString('base64'),
      'not base64 at all but long enough to be 32 bytes!!',
      randomBytes(32).toString('hex'),
      '',
    ];
    for (const masterKey of bad) {
      await assert.rejects(
        Keyring.open({ dataDir: dir, masterKey }),
        (e) =>
          isGantryError(e, 'GANTRY_INVALID_CONFIG') &&
          /GANTRY_MASTER_KEY must be the base64 of exactly 32/.test(e.message) &&
          (masterKey === '' || !e.message.includes(masterKey)),
        masterKey,
      );
    }
    await assert.rejects(
      Keyring.open({
        dataDir: dir,
        masterKey: generateMasterKey(),
        previousKeys: [generateMasterKey(), 'nope'],
      }),
      /GANTRY_PREVIOUS_MASTER_KEYS entry 2 must be/,
    );
  });

  test('a valid key is used as is, nothing is written, and rotation is refused with instructions', async () => {
    const dir = tempDir();
    const key = generateMasterKey();
    const ring = await Keyring.open({ dataDir: dir, masterKey: key });
    assert.equal(ring.currentKeyId, keyIdFor(Buffer.from(key, 'base64')));
    assert.equal(ring.source, 'env');
    assert.deepEqual(readdirSync(dir), [], 'no key file for an operator-provided key');
    const urlSafe = await Keyring.open({
      dataDir: dir,
      masterKey: Buffer.from(key, 'base64').toString('base64url'),
    });
    assert.equal(urlSafe.currentKeyId, ring.currentKeyId);
    await assert.rejects(
      ring.rotate(),
      (e) =>
        isGantryError(e, 'GANTRY_CONFLICT') &&
        /set GANTRY_MASTER_KEY to a new key/.test(e.message) &&
        /GANTRY_PREVIOUS_MASTER_KEYS to the old/.test(e.message),
    );
  });

  test('switching an install with a generated key file to GANTRY_MASTER_KEY keeps old values readable', async () => {
    const dir = tempDir();
    const generated = await Keyring.open({ dataDir: dir });
    const c = generated.encrypt('v', 'config:x:K');
    const env = await Keyring.open({ dataDir: dir, masterKey: generateMasterKey() });
    assert.notEqual(env.currentKeyId, generated.currentKeyId);
    assert.equal(env.decrypt(c, 'config:x:K'), 'v');
    assert.equal(keyIdOf(env.encrypt('v', 'config:x:K')), env.currentKeyId);
  });
});
