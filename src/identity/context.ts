/**
 * What the directory's write modules (accounts, credentials, grants) share:
 * the database, the in-memory mirror, the one write queue, the audit log and
 * change notification, plus lookups that fail with messages a user can act on.
 */
import type { Database } from '../store/index.js';
import type { Logger } from '../log/index.js';
import { GantryError } from '../errors/index.js';
import type { Actor, AuditAction } from './types.js';
import type { DirectoryState, GroupRec, UserRec } from './memory.js';

export interface WriteContext {
  readonly db: Database;
  readonly state: DirectoryState;
  readonly logger: Logger;
  now(): number;
  /**
   * Runs `fn` after every write queued before it: each write reads memory,
   * writes the database, then updates memory, with no other write in between.
   */
  serial<T>(fn: () => Promise<T>): Promise<T>;
  audit(
    by: Actor,
    action: AuditAction,
    target: string | null,
    detail?: Record<string, unknown>,
  ): Promise<void>;
  /** Tells onChange listeners (call after the audit). */
  changed(): void;
}

export const iso = (ctx: WriteContext): string => new Date(ctx.now()).toISOString();

export const notFound = (message: string): GantryError => new GantryError('GANTRY_NOT_FOUND', message);
export const conflict = (message: string): GantryError => new GantryError('GANTRY_CONFLICT', message);
export const badRequest = (message: string): GantryError => new GantryError('GANTRY_BAD_REQUEST', message);

export function findUser(state: DirectoryState, username: string): UserRec {
  const u = state.usersByName.get(username);
  if (!u) throw notFound(`no user named ${username}`);
  return u;
}

export function findGroup(state: DirectoryState, name: string): GroupRec {
  const g = state.groupsByName.get(name);
  if (!g) throw notFound(`no group named ${name}`);
  return g;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Oldest first; ties (same millisecond) by id, so listings are stable across reloads. */
export function byCreation(
  a: { createdAt: string; id: string },
  b: { createdAt: string; id: string },
): number {
  return cmp(a.createdAt, b.createdAt) || cmp(a.id, b.id);
}

export function byKey<T>(key: (x: T) => string): (a: T, b: T) => number {
  return (a, b) => cmp(key(a), key(b));
}
