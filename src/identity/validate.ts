/**
 * Input checks for the directory's write methods: one place for the rules on
 * usernames, group names, roles, emails, passwords and token names, each
 * failing with a GANTRY_BAD_REQUEST message that says what is allowed.
 */
import { GantryError } from '../errors/index.js';
import { ROLES, VISIBILITIES, type Role, type Visibility } from './types.js';

/** Usernames and group names: the same pattern as principals (`user:NAME`, `group:NAME`). */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;

const bad = (message: string): GantryError => new GantryError('GANTRY_BAD_REQUEST', message);

export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

export function checkUsername(name: string): void {
  if (!isValidName(name))
    throw bad(
      `invalid username ${JSON.stringify(name.slice(0, 120))}: use 1-100 letters, digits, '.', '_', '@' or '-', starting with a letter or digit`,
    );
}

export function checkGroupName(name: string): void {
  if (!isValidName(name))
    throw bad(
      `invalid group name ${JSON.stringify(name.slice(0, 120))}: use 1-100 letters, digits, '.', '_', '@' or '-', starting with a letter or digit`,
    );
}

export function checkRole(role: string): asserts role is Role {
  if (!(ROLES as readonly string[]).includes(role))
    throw bad(`invalid role ${JSON.stringify(role)}: use one of ${ROLES.join(', ')}`);
}

export function checkVisibility(v: string): asserts v is Visibility {
  if (!(VISIBILITIES as readonly string[]).includes(v))
    throw bad(`invalid visibility ${JSON.stringify(v)}: use one of ${VISIBILITIES.join(', ')}`);
}

/** Normalises an email (trimmed; empty means none) and checks its shape loosely. */
export function checkEmail(email: string | null | undefined): string | null {
  if (email === null || email === undefined) return null;
  const e = email.trim();
  if (e === '') return null;
  if (e.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(e))
    throw bad(`invalid email ${JSON.stringify(e.slice(0, 120))}: expected something like name@example.com`);
  return e;
}

export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 1024;

export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD)
    throw bad(`password too short: use at least ${MIN_PASSWORD} characters`);
  if (password.length > MAX_PASSWORD) throw bad(`password too long: use at most ${MAX_PASSWORD} characters`);
}

/** Token and key names: free text shown in listings, one line. */
export function checkLabel(what: string, name: string): string {
  const n = name.trim();
  if (n === '' || n.length > 100 || hasControlChars(n))
    throw bad(`invalid ${what} name: use 1-100 printable characters`);
  return n;
}

/** True if `s` has ASCII control characters (C0 or DEL). */
export function hasControlChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
