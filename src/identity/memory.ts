/**
 * The directory's in-memory mirror of the identity tables: records linked by
 * reference (a token points at its user, a user at its groups), loaded once
 * and then kept in step by the directory's write methods. Identity and
 * AppAccess objects are built lazily, frozen and cached until the records
 * they come from change (a user's `version` bumps on any change to the user
 * or their groups), so a per-request resolve allocates nothing.
 */
import type { Database } from '../store/index.js';
import type {
  AppAccess,
  GroupInfo,
  Identity,
  Principal,
  Role,
  SshKeyInfo,
  TokenInfo,
  TokenScope,
  UserInfo,
  Visibility,
} from './types.js';
import { parseScope } from './types.js';

type Via = Identity['via'];

export interface UserRec {
  id: string;
  username: string;
  email: string | null;
  role: Role;
  source: string;
  createdAt: string;
  /** '' when the user has no local password (SSO users, token-only users). */
  passwordHash: string;
  groups: Set<GroupRec>;
  /** Source of each membership by group id: `local` or the SSO provider that made it. */
  memberSource: Map<string, string>;
  tokens: Map<string, TokenRec>;
  sessions: Set<SessionRec>;
  keys: Map<string, KeyRec>;
  /** Bumped on every change to the user or their group memberships; invalidates cached identities. */
  version: number;
  cache?: { version: number; groups: readonly string[]; byVia: Partial<Record<Via, Identity>> };
}

export interface GroupRec {
  id: string;
  name: string;
  source: string;
  createdAt: string;
  members: Set<UserRec>;
}

export interface TokenRec {
  id: string;
  hash: string;
  user: UserRec;
  name: string;
  /** null when the stored scope is unreadable: such a token never resolves (it can only be revoked). */
  scope: TokenScope | null;
  /** The scope as stored (`full`, `read`, `app:NAME`). */
  scopeText: string;
  createdAt: string;
  lastUsedAt: string | null;
  /** When the last use was written (or scheduled), ms; 0 when never. */
  lastUsedMs: number;
  expiresAt: string | null;
  expiresMs: number | null;
  cached?: { version: number; identity: Identity };
}

export interface SessionRec {
  /** sha256 of the cookie value, hex (sessions.id). */
  hash: string;
  user: UserRec;
  csrf: string;
  expiresAt: string;
  expiresMs: number;
  cached?: { version: number; identity: Identity };
}

export interface KeyRec {
  id: string;
  user: UserRec;
  name: string;
  fingerprint: string;
  type: string;
  publicKey: string;
  createdAt: string;
  lastUsedAt: string | null;
  lastUsedMs: number;
}

export type GrantKind = 'collaborator' | 'viewer';

export type GrantRec =
  | { kind: GrantKind; principalKind: 'user'; principal: UserRec }
  | { kind: GrantKind; principalKind: 'group'; principal: GroupRec };

export interface AppRec {
  /** apps.id; null until first needed for an app announced by appCreated(). */
  id: string | null;
  name: string;
  owner: UserRec | null;
  visibility: Visibility;
  grants: GrantRec[];
  cached?: AppAccess;
}

const ms = (iso: string): number => new Date(iso).getTime();

export class DirectoryState {
  readonly usersById = new Map<string, UserRec>();
  readonly usersByName = new Map<string, UserRec>();
  readonly groupsById = new Map<string, GroupRec>();
  readonly groupsByName = new Map<string, GroupRec>();
  readonly tokensByHash = new Map<string, TokenRec>();
  readonly sessionsByHash = new Map<string, SessionRec>();
  readonly keysByFingerprint = new Map<string, KeyRec>();
  readonly apps = new Map<string, AppRec>();

  clear(): void {
    for (const m of [
      this.usersById,
      this.usersByName,
      this.groupsById,
      this.groupsByName,
      this.tokensByHash,
      this.sessionsByHash,
      this.keysByFingerprint,
      this.apps,
    ])
      m.clear();
  }

  /** Replaces the mirror with the database's contents; sessions expired at `nowMs` are skipped. */
  async load(db: Database, nowMs: number): Promise<void> {
    const [users, groups, members, tokens, sessions, keys, apps, grants] = await Promise.all([
      db.selectFrom('users').selectAll().execute(),
      db.selectFrom('groups').selectAll().execute(),
      db.selectFrom('group_members').selectAll().execute(),
      db.selectFrom('api_tokens').selectAll().execute(),
      db.selectFrom('sessions').selectAll().where('expires_at', '>', new Date(nowMs).toISOString()).execute(),
      db.selectFrom('ssh_keys').selectAll().execute(),
      db.selectFrom('apps').select(['id', 'name', 'owner_id', 'visibility']).execute(),
      db.selectFrom('app_grants').selectAll().execute(),
    ]);
    this.clear();
    for (const r of users) this.addUser(userRec(r));
    for (const r of groups) this.addGroup(groupRec(r));
    for (const m of members) {
      const u = this.usersById.get(m.user_id);
      const g = this.groupsById.get(m.group_id);
      if (u && g) this.join(g, u, m.source);
    }
    for (const r of tokens) {
      const user = this.usersById.get(r.user_id);
      if (!user) continue;
      this.addToken({
        id: r.id,
        hash: r.token_hash,
        user,
        name: r.name,
        scope: parseScope(r.scope) ?? null,
        scopeText: r.scope,
        createdAt: r.created_at,
        lastUsedAt: r.last_used_at,
        lastUsedMs: r.last_used_at ? ms(r.last_used_at) : 0,
        expiresAt: r.expires_at,
        expiresMs: r.expires_at ? ms(r.expires_at) : null,
      });
    }
    for (const r of sessions) {
      const user = this.usersById.get(r.user_id);
      if (user)
        this.addSession({
          hash: r.id,
          user,
          csrf: r.csrf,
          expiresAt: r.expires_at,
          expiresMs: ms(r.expires_at),
        });
    }
    for (const r of keys) {
      const user = this.usersById.get(r.user_id);
      if (user)
        this.addKey({
          id: r.id,
          user,
          name: r.name,
          fingerprint: r.fingerprint,
          type: r.public_key.split(' ', 1)[0]!,
          publicKey: r.public_key,
          createdAt: r.created_at,
          lastUsedAt: r.last_used_at,
          lastUsedMs: r.last_used_at ? ms(r.last_used_at) : 0,
        });
    }
    const appsById = new Map<string, AppRec>();
    for (const r of apps) {
      const app: AppRec = {
        id: r.id,
        name: r.name,
        owner: r.owner_id === null ? null : (this.usersById.get(r.owner_id) ?? null),
        visibility: r.visibility as Visibility,
        grants: [],
      };
      this.apps.set(app.name, app);
      appsById.set(app.id!, app);
    }
    for (const g of grants) {
      const app = appsById.get(g.app_id);
      if (!app) continue;
      if (g.principal_kind === 'user') {
        const u = this.usersById.get(g.principal_id);
        if (u) app.grants.push({ kind: g.kind, principalKind: 'user', principal: u });
      } else {
        const grp = this.groupsById.get(g.principal_id);
        if (grp) app.grants.push({ kind: g.kind, principalKind: 'group', principal: grp });
      }
    }
  }

  addUser(u: UserRec): void {
    this.usersById.set(u.id, u);
    this.usersByName.set(u.username, u);
  }

  addGroup(g: GroupRec): void {
    this.groupsById.set(g.id, g);
    this.groupsByName.set(g.name, g);
  }

  join(g: GroupRec, u: UserRec, source = 'local'): void {
    g.members.add(u);
    u.groups.add(g);
    u.memberSource.set(g.id, source);
    u.version++;
  }

  leave(g: GroupRec, u: UserRec): void {
    g.members.delete(u);
    u.groups.delete(g);
    u.memberSource.delete(g.id);
    u.version++;
  }

  addToken(t: TokenRec): void {
    this.tokensByHash.set(t.hash, t);
    t.user.tokens.set(t.id, t);
  }

  removeToken(t: TokenRec): void {
    this.tokensByHash.delete(t.hash);
    t.user.tokens.delete(t.id);
  }

  addSession(s: SessionRec): void {
    this.sessionsByHash.set(s.hash, s);
    s.user.sessions.add(s);
  }

  removeSession(s: SessionRec): void {
    this.sessionsByHash.delete(s.hash);
    s.user.sessions.delete(s);
  }

  addKey(k: KeyRec): void {
    this.keysByFingerprint.set(k.fingerprint, k);
    k.user.keys.set(k.id, k);
  }

  removeKey(k: KeyRec): void {
    this.keysByFingerprint.delete(k.fingerprint);
    k.user.keys.delete(k.id);
  }

  /** Drops a user and everything hanging off them; apps they own keep running with no owner. */
  removeUser(u: UserRec): void {
    for (const t of [...u.tokens.values()]) this.removeToken(t);
    for (const s of [...u.sessions]) this.removeSession(s);
    for (const k of [...u.keys.values()]) this.removeKey(k);
    for (const g of u.groups) g.members.delete(u);
    u.groups.clear();
    for (const app of this.apps.values()) {
      const before = app.grants.length;
      app.grants = app.grants.filter((g) => g.principal !== u);
      if (app.owner === u || app.grants.length !== before) app.cached = undefined;
      if (app.owner === u) app.owner = null;
    }
    this.usersById.delete(u.id);
    this.usersByName.delete(u.username);
    u.version++;
  }

  removeGroup(g: GroupRec): void {
    for (const u of g.members) {
      u.groups.delete(g);
      u.version++;
    }
    g.members.clear();
    for (const app of this.apps.values()) {
      const before = app.grants.length;
      app.grants = app.grants.filter((gr) => gr.principal !== g);
      if (app.grants.length !== before) app.cached = undefined;
    }
    this.groupsById.delete(g.id);
    this.groupsByName.delete(g.name);
  }

  /** The user's identity for `via`, cached per user version. */
  identity(u: UserRec, via: Via): Identity {
    const c = this.#cache(u);
    let id = c.byVia[via];
    if (!id) {
      id = Object.freeze({ ...base(u, c.groups), via });
      c.byVia[via] = id;
    }
    return id;
  }

  /** The identity of a token, given its (readable) scope. */
  tokenIdentity(t: TokenRec, scope: TokenScope): Identity {
    const u = t.user;
    if (t.cached?.version === u.version) return t.cached.identity;
    const c = this.#cache(u);
    const identity: Identity = Object.freeze({
      ...base(u, c.groups),
      via: 'token' as const,
      token: Object.freeze({ id: t.id, scope }),
    });
    t.cached = { version: u.version, identity };
    return identity;
  }

  sessionIdentity(s: SessionRec): Identity {
    const u = s.user;
    if (s.cached?.version === u.version) return s.cached.identity;
    const c = this.#cache(u);
    const identity: Identity = Object.freeze({
      ...base(u, c.groups),
      via: 'session' as const,
      session: Object.freeze({ id: s.hash, csrf: s.csrf }),
    });
    s.cached = { version: u.version, identity };
    return identity;
  }

  #cache(u: UserRec): NonNullable<UserRec['cache']> {
    if (u.cache?.version !== u.version) {
      const groups = Object.freeze([...u.groups].map((g) => g.name).sort());
      u.cache = { version: u.version, groups, byVia: {} };
    }
    return u.cache;
  }

  access(app: AppRec): AppAccess {
    if (app.cached) return app.cached;
    const pick = (kind: GrantKind): readonly Principal[] =>
      Object.freeze(
        app.grants
          .filter((g) => g.kind === kind)
          .map((g) => Object.freeze({ kind: g.principalKind, name: principalName(g) }))
          .sort((a, b) => cmp(a.kind, b.kind) || cmp(a.name, b.name)),
      );
    app.cached = Object.freeze({
      app: app.name,
      owner: app.owner?.username ?? null,
      visibility: app.visibility,
      collaborators: pick('collaborator'),
      viewers: pick('viewer'),
    });
    return app.cached;
  }

  userInfo(u: UserRec): UserInfo {
    return {
      id: u.id,
      username: u.username,
      email: u.email,
      role: u.role,
      groups: [...this.#cache(u).groups],
      source: u.source,
      createdAt: u.createdAt,
    };
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function base(u: UserRec, groups: readonly string[]): Omit<Identity, 'via'> {
  return { userId: u.id, username: u.username, email: u.email, role: u.role, groups };
}

function principalName(g: GrantRec): string {
  return g.principalKind === 'user' ? g.principal.username : g.principal.name;
}

export function userRec(r: {
  id: string;
  username: string;
  email: string | null;
  role: string;
  source: string;
  created_at: string;
  password_hash: string;
}): UserRec {
  return {
    id: r.id,
    username: r.username,
    email: r.email,
    role: r.role as Role,
    source: r.source,
    createdAt: r.created_at,
    passwordHash: r.password_hash,
    groups: new Set(),
    memberSource: new Map(),
    tokens: new Map(),
    sessions: new Set(),
    keys: new Map(),
    version: 0,
  };
}

export function groupRec(r: { id: string; name: string; source: string; created_at: string }): GroupRec {
  return { id: r.id, name: r.name, source: r.source, createdAt: r.created_at, members: new Set() };
}

export function groupInfo(g: GroupRec): GroupInfo {
  return {
    name: g.name,
    source: g.source,
    members: [...g.members].map((u) => u.username).sort(),
    createdAt: g.createdAt,
  };
}

export function tokenInfo(t: TokenRec): TokenInfo {
  return {
    id: t.id,
    name: t.name,
    scope: t.scopeText,
    createdAt: t.createdAt,
    lastUsedAt: t.lastUsedAt,
    expiresAt: t.expiresAt,
  };
}

export function keyInfo(k: KeyRec): SshKeyInfo {
  return {
    id: k.id,
    name: k.name,
    fingerprint: k.fingerprint,
    type: k.type,
    createdAt: k.createdAt,
    lastUsedAt: k.lastUsedAt,
  };
}
