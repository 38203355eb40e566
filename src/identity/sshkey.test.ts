import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChecked } from '../exec/index.js';
import { isGantryError } from '../errors/index.js';
import { parsePublicKey } from './sshkey.js';

const dir = mkdtempSync(join(tmpdir(), 'gantry-sshkey-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function keygen(
  name: string,
  args: string[],
  comment = `${name}@laptop`,
): Promise<{ line: string; fp: string }> {
  const path = join(dir, name);
  await runChecked('ssh-keygen', ['-q', ...args, '-N', '', '-C', comment, '-f', path]);
  const printed = (await runChecked('ssh-keygen', ['-l', '-f', `${path}.pub`])).stdout;
  return { line: readFileSync(`${path}.pub`, 'utf8'), fp: printed.split(' ')[1]! };
}

const badKey = (re: RegExp) => (e: unknown) => isGantryError(e, 'GANTRY_BAD_REQUEST') && re.test(e.message);

test('fingerprints equal what ssh-keygen -lf prints, for ed25519, rsa and ecdsa keys', async () => {
  const keys = await Promise.all([
    keygen('ed', ['-t', 'ed25519']),
    keygen('rsa', ['-t', 'rsa', '-b', '2048']),
    keygen('ec', ['-t', 'ecdsa', '-b', '256'], 'has spaces in it'),
  ]);
  const types = ['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256'];
  keys.forEach((k, i) => {
    const p = parsePublicKey(k.line);
    assert.match(k.fp, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(p.fingerprint, k.fp);
    assert.equal(p.type, types[i]);
    assert.equal(p.line, k.line.trim());
  });
  assert.equal(parsePublicKey(keys[2]!.line).comment, 'has spaces in it');
  assert.equal(parsePublicKey(`  ${keys[0]!.line.split(' ').slice(0, 2).join('  ')}\n`).comment, '');
});

test('refuses a blob whose embedded type differs from the line, and other malformed keys', async () => {
  const ed = await keygen('ed2', ['-t', 'ed25519']);
  const ec = await keygen('ec2', ['-t', 'ecdsa', '-b', '256']);
  const [, ecBlob] = ec.line.split(' ');
  const [, edBlob] = ed.line.split(' ');
  assert.throws(
    () => parsePublicKey(`ssh-ed25519 ${ecBlob}`),
    badKey(/ecdsa-sha2-nistp256.*not ssh-ed25519/),
  );
  assert.throws(() => parsePublicKey(`ssh-rsa ${edBlob}`), badKey(/not ssh-rsa/));
  assert.throws(() => parsePublicKey(`ssh-dss ${edBlob}`), badKey(/unsupported key type/));
  assert.throws(() => parsePublicKey(`ssh-ed25519 ${edBlob!.slice(0, -4)}`), badKey(/base64|truncated/));
  assert.throws(() => parsePublicKey(`ssh-ed25519 not*base64`), badKey(/base64/));
  assert.throws(() => parsePublicKey(''), badKey(/empty/));
  assert.throws(() => parsePublicKey(`${ed.line}${ed.line}`), badKey(/one key/));
  assert.throws(() => parsePublicKey(readFileSync(join(dir, 'ed2'), 'utf8')), badKey(/private key/));
  assert.throws(() => parsePublicKey(`command="id" ${ed.line}`), badKey(/unsupported key type/));
  // Extra data after a valid ed25519 key.
  const padded = Buffer.concat([Buffer.from(edBlob!, 'base64'), Buffer.from([0, 0, 0, 0])]);
  assert.throws(() => parsePublicKey(`ssh-ed25519 ${padded.toString('base64')}`), badKey(/unexpected data/));
  // An ECDSA point that is not on the curve.
  const ecRaw = Buffer.from(ecBlob!, 'base64');
  ecRaw.writeUInt8(ecRaw.readUInt8(ecRaw.length - 1) ^ 1, ecRaw.length - 1);
  assert.throws(() => parsePublicKey(`ecdsa-sha2-nistp256 ${ecRaw.toString('base64')}`), badKey(/curve/));
});

test('refuses RSA keys under 2048 bits', async () => {
  const small = await keygen('rsa1024', ['-t', 'rsa', '-b', '1024']);
  assert.throws(() => parsePublicKey(small.line), badKey(/at least 2048 bits/));
});
