/**
 * OpenSSH public key lines (`ssh-ed25519 AAAA… comment`): parsing, structural
 * validation of the key blob, and the fingerprint exactly as `ssh-keygen -lf`
 * prints it (`SHA256:` + unpadded base64 of sha256(blob)).
 */
import { createHash, createPublicKey } from 'node:crypto';
import { GantryError } from '../errors/index.js';
import { hasControlChars } from './validate.js';

export const KEY_TYPES = ['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export interface ParsedKey {
  type: KeyType;
  /** The decoded key blob (what SSH clients send and fingerprints hash). */
  blob: Buffer;
  /** Comment after the key, '' when none. */
  comment: string;
  /** `SHA256:…`, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** Normalised one-line form: `TYPE BASE64[ COMMENT]`. */
  line: string;
}

const MAX_LINE = 16 * 1024;
const MIN_RSA_BITS = 2048;

const bad = (message: string): GantryError =>
  new GantryError('GANTRY_BAD_REQUEST', `invalid SSH public key: ${message}`);

export function fingerprintOf(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Reads SSH wire-format strings (uint32 length + bytes) from a blob. */
class Reader {
  #pos = 0;
  constructor(readonly buf: Buffer) {}
  string(): Buffer {
    if (this.#pos + 4 > this.buf.length) throw bad('the key data is truncated');
    const len = this.buf.readUInt32BE(this.#pos);
    const start = this.#pos + 4;
    if (start + len > this.buf.length) throw bad('the key data is truncated');
    this.#pos = start + len;
    return this.buf.subarray(start, start + len);
  }
  get done(): boolean {
    return this.#pos === this.buf.length;
  }
}

/** Bits of an SSH mpint (big-endian, possibly with a leading zero byte). */
function mpintBits(b: Buffer): number {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  if (i === b.length) return 0;
  return (b.length - i - 1) * 8 + (32 - Math.clz32(b[i]!));
}

function checkBlob(type: KeyType, blob: Buffer): void {
  const r = new Reader(blob);
  const embedded = r.string().toString('latin1');
  if (embedded !== type) throw bad(`the key data is a ${JSON.stringify(embedded)} key, not ${type}`);
  if (type === 'ssh-ed25519') {
    if (r.string().length !== 32) throw bad('an ed25519 key has 32 bytes');
  } else if (type === 'ssh-rsa') {
    const e = r.string();
    const n = r.string();
    if (mpintBits(e) === 0 || mpintBits(n) === 0) throw bad('the RSA key data is malformed');
    if (mpintBits(n) < MIN_RSA_BITS) throw bad(`RSA keys must have at least ${MIN_RSA_BITS} bits`);
  } else {
    if (r.string().toString('latin1') !== 'nistp256') throw bad('the ECDSA curve must be nistp256');
    const q = r.string();
    if (q.length !== 65 || q[0] !== 4) throw bad('the ECDSA point is malformed');
    try {
      // Rejects points that are not on the curve.
      createPublicKey({
        key: {
          kty: 'EC',
          crv: 'P-256',
          x: q.subarray(1, 33).toString('base64url'),
          y: q.subarray(33).toString('base64url'),
        },
        format: 'jwk',
      });
    } catch {
      throw bad('the ECDSA point is not on the curve');
    }
  }
  if (!r.done) throw bad('unexpected data after the key');
}

/**
 * Parses one OpenSSH public key line (as in `~/.ssh/id_ed25519.pub`). Accepts
 * ssh-ed25519, ssh-rsa (≥ 2048 bits) and ecdsa-sha2-nistp256; refuses
 * authorized_keys options, private keys and anything else with a
 * GANTRY_BAD_REQUEST saying what is wrong.
 */
export function parsePublicKey(input: string): ParsedKey {
  const text = input.trim();
  if (text === '') throw bad('it is empty; paste the contents of a .pub file such as ~/.ssh/id_ed25519.pub');
  if (text.length > MAX_LINE) throw bad('it is too long');
  if (text.includes('PRIVATE KEY')) throw bad('this is a private key; give the .pub file instead');
  if (/[\r\n]/.test(text)) throw bad('give exactly one key, on one line');
  const m = /^(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(text);
  if (!m) throw bad('expected "TYPE BASE64 [comment]", e.g. the contents of ~/.ssh/id_ed25519.pub');
  const [, type, b64, rest] = m;
  if (!(KEY_TYPES as readonly string[]).includes(type!))
    throw bad(
      `unsupported key type ${JSON.stringify(type!.slice(0, 60))}: use one of ${KEY_TYPES.join(', ')}`,
    );
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64!) || b64!.length % 4 !== 0)
    throw bad('the key data is not valid base64');
  const blob = Buffer.from(b64!, 'base64');
  if (blob.toString('base64') !== b64) throw bad('the key data is not valid base64');
  checkBlob(type as KeyType, blob);
  const comment = (rest ?? '').trim();
  if (hasControlChars(comment)) throw bad('the comment contains control characters');
  return {
    type: type as KeyType,
    blob,
    comment,
    fingerprint: fingerprintOf(blob),
    line: comment ? `${type} ${b64} ${comment}` : `${type} ${b64}`,
  };
}
