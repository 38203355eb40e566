import { hash, verify, Algorithm } from '@node-rs/argon2';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** argon2id with OWASP's recommended minimums (19 MiB, 2 iterations). */
export function hashPassword(password: string): Promise<string> {
  return hash(password, { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 });
}

export async function verifyPassword(hashed: string, password: string): Promise<boolean> {
  try {
    return await verify(hashed, password);
  } catch {
    // A malformed stored hash verifies nothing.
    return false;
  }
}

/** A new API token: `gty_` + 32 random bytes, base64url. */
export function newToken(): string {
  return `gty_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}

export function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

/** argon2id hash of a random string: verified against for unknown users so timing doesn't reveal which usernames exist. */
export const DUMMY_HASH =
  '$argon2id$v=19$m=19456,t=2,p=1$mskkiWrbBBTo5e9v9PFlDw$+IoBGpKzuPuelDg9aWXGyT0TuTeGZZ/aIcrHcAox3p4';
