/**
 * Keys: the server's host key (made once in-process, kept 0600; no ssh-keygen needed) and
 * checking a client's public key against the one stored for its fingerprint.
 */
import { timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import ssh2 from 'ssh2';
import { GantryError } from '../errors/index.js';
import { fingerprintOf } from '../identity/sshkey.js';

const { utils } = ssh2;

/**
 * True when `signature` over `data` was made by the key whose stored public
 * line is `storedLine`, and `offered` (the blob the client sent) is that key.
 */
export function verifyClientKey(o: {
  storedLine: string;
  offered: Buffer;
  /** Undefined for a "would you accept this key?" query: then only the key is compared. */
  signature?: { data: Buffer; signature: Buffer; hashAlgo?: string };
}): boolean {
  const parsed = utils.parseKey(o.storedLine.trim());
  if (parsed instanceof Error) return false;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key.isPrivateKey()) return false;
  const blob = key.getPublicSSH();
  if (blob.length !== o.offered.length || !timingSafeEqual(blob, o.offered)) return false;
  if (!o.signature) return true;
  return key.verify(o.signature.data, o.signature.signature, o.signature.hashAlgo) === true;
}

/** Reads the host key, generating it first (ed25519, no passphrase, 0600) if it does not exist. */
export async function ensureHostKey(path: string): Promise<Buffer> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let key: Buffer;
  try {
    key = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    const made = utils.generateKeyPairSync('ed25519', { comment: 'gantry-host-key' });
    // 'wx': two servers starting at once on one data dir keep the first key.
    await writeFile(path, made.private, { mode: 0o600, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    key = await readFile(path);
  }
  await chmod(path, 0o600);
  const parsed = utils.parseKey(key);
  if (parsed instanceof Error || (Array.isArray(parsed) ? !parsed[0] : !parsed.isPrivateKey()))
    throw new GantryError(
      'GANTRY_INVALID_CONFIG',
      `cannot read the SSH host key ${path}: delete it to have a new one generated`,
    );
  return key;
}

/** The public fingerprint of a private host key, to show users (`ssh-keygen -lf`). */
export function hostKeyFingerprint(privateKey: Buffer): string {
  const parsed = utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new GantryError('GANTRY_INVALID_CONFIG', 'unreadable SSH host key');
  return fingerprintOf(key.getPublicSSH());
}
