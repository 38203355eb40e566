/**
 * Client-side checks of identity arguments, so a typo is a usage error
 * (exit 2) with a hint, before anything reaches the server.
 */
import {
  formatPrincipal,
  parsePrincipal,
  parseScope,
  ROLES,
  VISIBILITIES,
  type Role,
  type Visibility,
} from '../identity/types.js';
import { UsageError } from './io.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;

/** A username or group name (the NAME of `user:NAME` / `group:NAME`). */
export function parseName(what: 'username' | 'group name', arg: string): string {
  if (!NAME.test(arg)) {
    throw new UsageError(
      `invalid ${what} "${arg}": use letters, digits, ".", "_", "@" and "-" (at most 100, not starting with a symbol)`,
    );
  }
  return arg;
}

export function parseRole(arg: string): Role {
  if (!(ROLES as readonly string[]).includes(arg)) {
    throw new UsageError(`role must be ${ROLES.join(', ')}; got "${arg}"`);
  }
  return arg as Role;
}

export function parseVisibility(arg: string): Visibility {
  if (!(VISIBILITIES as readonly string[]).includes(arg)) {
    throw new UsageError(`visibility must be ${VISIBILITIES.join(', ')}; got "${arg}"`);
  }
  return arg as Visibility;
}

/** `user:NAME`, `group:NAME` or a bare NAME (a user) → the canonical `kind:NAME`. */
export function parsePrincipalArg(arg: string): string {
  const p = parsePrincipal(arg);
  if (!p) throw new UsageError(`expected user:NAME or group:NAME, got "${arg}"`);
  return formatPrincipal(p);
}

/** `full`, `read` or `app:NAME`. */
export function parseScopeArg(arg: string): string {
  if (!parseScope(arg)) throw new UsageError(`scope must be full, read or app:NAME; got "${arg}"`);
  return arg;
}

const UNIT_SECONDS: Record<string, number> = { m: 60, h: 3600, d: 86400, w: 7 * 86400 };

/** `30d`, `12h`, `90m`, `2w` → seconds; `never` → undefined (the token does not expire). */
export function parseExpires(arg: string): number | undefined {
  if (arg === 'never') return undefined;
  const m = /^(\d{1,5})([mhdw])$/.exec(arg);
  if (!m || Number(m[1]) === 0) {
    throw new UsageError(`--expires expects a duration like 30d, 12h, 90m, 2w or "never"; got "${arg}"`);
  }
  return Number(m[1]) * UNIT_SECONDS[m[2]!]!;
}

/** A positive whole number up to `max`. */
export function parseCount(option: string, arg: string, max: number): number {
  if (!/^\d{1,9}$/.test(arg) || Number(arg) < 1 || Number(arg) > max) {
    throw new UsageError(`${option} expects a number from 1 to ${max}, got "${arg}"`);
  }
  return Number(arg);
}

export function parseEmail(arg: string): string {
  if (!/^[^\s@]+@[^\s@]+$/.test(arg)) throw new UsageError(`not an email address: "${arg}"`);
  return arg;
}

export function parsePort(option: string, arg: string): number {
  if (!/^\d{1,5}$/.test(arg) || Number(arg) < 1 || Number(arg) > 65535) {
    throw new UsageError(`${option} expects a port number, got "${arg}"`);
  }
  return Number(arg);
}

const KEY_TYPES = new Set([
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
]);

/**
 * Checks that `text` (a file's content) is one OpenSSH public key line and
 * returns it trimmed. Refuses private keys outright: they must never be sent.
 */
export function parsePublicKey(text: string, file: string): string {
  if (/PRIVATE KEY/.test(text)) {
    throw new UsageError(
      `${file} is a private key: give the public key (${file}.pub), never the private one`,
    );
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const line = lines[0]?.trim() ?? '';
  const [type, data] = line.split(/\s+/);
  if (lines.length !== 1 || !type || !data || !KEY_TYPES.has(type) || !/^[A-Za-z0-9+/]+={0,2}$/.test(data)) {
    throw new UsageError(`${file} is not an OpenSSH public key (one line: TYPE BASE64 [COMMENT])`);
  }
  // The key blob starts with its own type name; a mismatch is a damaged or edited line.
  const blob = Buffer.from(data, 'base64');
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (len < 0 || blob.subarray(4, 4 + len).toString('latin1') !== type) {
    throw new UsageError(`${file}: the key data does not match its type ${type} (damaged key?)`);
  }
  return line;
}
