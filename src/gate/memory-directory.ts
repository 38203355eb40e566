/**
 * A small in-memory data source with the directory's per-request reads, for the gate's
 * tests and the proxy benchmark. Session cookies and tokens are looked up by their
 * SHA-256, as the real directory stores them, so the per-request cost is comparable.
 */
import { createHash } from 'node:crypto';
import type { AppAccess, Directory, Identity, Role, TokenScope } from '../identity/types.js';

type Reads = Pick<Directory, 'resolveSession' | 'resolveToken' | 'appAccess' | 'identityOf'>;

interface User {
  userId: string;
  username: string;
  email: string | null;
  role: Role;
  groups: string[];
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

export class MemoryDirectory implements Reads {
  readonly #users = new Map<string, User>();
  readonly #sessions = new Map<string, Identity>();
  readonly #tokens = new Map<string, Identity>();
  readonly #apps = new Map<string, AppAccess>();
  readonly #listeners = new Set<() => void>();
  /** Calls of the read methods, so tests can show what a request consulted. */
  reads = 0;

  addUser(u: { username: string; email?: string | null; role?: Role; groups?: string[] }): User {
    const user: User = {
      userId: `u-${u.username}`,
      username: u.username,
      email: u.email ?? null,
      role: u.role ?? 'viewer',
      groups: [...(u.groups ?? [])].sort(),
    };
    this.#users.set(u.username, user);
    this.#changed();
    return user;
  }

  /** Starts a session; returns the cookie value. */
  addSession(username: string, cookie: string): string {
    const u = this.#user(username);
    this.#sessions.set(sha(cookie), {
      ...u,
      via: 'session',
      session: { id: sha(cookie), csrf: 'csrf' },
    });
    return cookie;
  }

  endSession(cookie: string): void {
    this.#sessions.delete(sha(cookie));
    this.#changed();
  }

  addToken(username: string, token: string, scope: TokenScope = { kind: 'full' }): string {
    const u = this.#user(username);
    this.#tokens.set(sha(token), { ...u, via: 'token', token: { id: `t-${token.slice(-6)}`, scope } });
    return token;
  }

  revokeToken(token: string): void {
    this.#tokens.delete(sha(token));
    this.#changed();
  }

  setApp(access: Partial<AppAccess> & { app: string }): AppAccess {
    const a: AppAccess = {
      owner: null,
      visibility: 'restricted',
      collaborators: [],
      viewers: [],
      ...access,
    };
    this.#apps.set(a.app, a);
    this.#changed();
    return a;
  }

  removeApp(app: string): void {
    this.#apps.delete(app);
    this.#changed();
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  resolveSession(cookieValue: string): Identity | undefined {
    this.reads++;
    return this.#sessions.get(sha(cookieValue));
  }

  resolveToken(token: string): Identity | undefined {
    this.reads++;
    return this.#tokens.get(sha(token));
  }

  appAccess(app: string): AppAccess | undefined {
    this.reads++;
    return this.#apps.get(app);
  }

  identityOf(username: string, via: Identity['via']): Identity | undefined {
    const u = this.#users.get(username);
    return u === undefined ? undefined : { ...u, via };
  }

  #user(username: string): User {
    const u = this.#users.get(username);
    if (u === undefined) throw new Error(`no user ${username}`);
    return u;
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }
}
