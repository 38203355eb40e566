/**
 * The identity model shared by the API, the router's gate, git (HTTP and SSH)
 * and single sign-on: who a caller is, what an app allows, and the in-memory
 * directory every per-request decision reads (never the database).
 */

export type Role = 'admin' | 'developer' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'developer', 'viewer'];

/** `public` (no login), `authenticated` (any logged-in user), `restricted` (listed users and groups). */
export type Visibility = 'public' | 'authenticated' | 'restricted';
export const VISIBILITIES: readonly Visibility[] = ['public', 'authenticated', 'restricted'];

/** A user or a group, written `user:NAME` / `group:NAME` on the CLI and in the API. */
export interface Principal {
  kind: 'user' | 'group';
  name: string;
}

/**
 * What an API token may do:
 * - `full`: everything its user may do;
 * - `read`: only GET/HEAD requests (API) and opening apps;
 * - `app`: deploy and manage the one app named (for CI pipelines), nothing else.
 */
export type TokenScope = { kind: 'full' } | { kind: 'read' } | { kind: 'app'; app: string };

/** A resolved caller. Built from memory per request; never from the database. */
export interface Identity {
  userId: string;
  username: string;
  email: string | null;
  role: Role;
  /** Names of the user's groups (sorted). */
  groups: readonly string[];
  /** How the caller authenticated. */
  via: 'session' | 'token' | 'password' | 'ssh';
  /** Set when via = token. */
  token?: { id: string; scope: TokenScope };
  /** Set when via = session: the session id (hash), its CSRF token and when it ends. */
  session?: { id: string; csrf: string; expiresAt?: string };
}

/** An app's access settings, held in memory by the directory. */
export interface AppAccess {
  app: string;
  /** Owner's username; null when the owner was deleted (admins still manage the app). */
  owner: string | null;
  visibility: Visibility;
  /** May deploy and configure, like the owner (but not delete the app or change collaborators). */
  collaborators: readonly Principal[];
  /** May open the app when visibility is `restricted`. Owner and collaborators always may. */
  viewers: readonly Principal[];
}

export interface UserInfo {
  id: string;
  username: string;
  email: string | null;
  role: Role;
  groups: string[];
  /** `local` or the SSO provider that created the user. */
  source: string;
  createdAt: string;
}

export interface GroupInfo {
  name: string;
  /** `local` or the SSO provider whose group claims fill it. */
  source: string;
  members: string[];
  createdAt: string;
}

export interface TokenInfo {
  id: string;
  name: string;
  /** `full`, `read` or `app:NAME`. */
  scope: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

export interface SshKeyInfo {
  id: string;
  name: string;
  fingerprint: string;
  /** e.g. `ssh-ed25519`. */
  type: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface AuditEvent {
  id: string;
  at: string;
  actor: string | null;
  action: string;
  target: string | null;
  ip: string | null;
  detail: Record<string, unknown>;
}

/** Who is making a change and from where, for the audit log. */
export interface Actor {
  /** Username; null for anonymous events (a failed login) and the system. */
  username: string | null;
  ip: string | null;
}

/**
 * A user as an SSO provider reports them at login. `subject` is the provider's
 * stable id; `username` becomes the Gantry username on first login.
 */
export interface ExternalIdentity {
  /** Provider name as configured, e.g. `okta`, `corp-ldap`. */
  provider: string;
  subject: string;
  username: string;
  email: string | null;
  /** Group names from the provider (after the provider's own mapping); replace the user's groups of this source at each login. */
  groups: string[];
}

/** Audit actions. Stable strings: admins filter on them. */
export type AuditAction =
  | 'login'
  | 'login.failed'
  | 'logout'
  | 'user.create'
  | 'user.update'
  | 'user.role'
  | 'user.destroy'
  | 'group.create'
  | 'group.destroy'
  | 'group.add'
  | 'group.remove'
  | 'token.create'
  | 'token.revoke'
  | 'key.add'
  | 'key.remove'
  | 'app.create'
  | 'app.destroy'
  | 'app.collaborator.add'
  | 'app.collaborator.remove'
  | 'app.access.add'
  | 'app.access.remove'
  | 'app.visibility'
  | 'app.deploy'
  | 'app.deploy.failed'
  | 'app.rollback'
  | 'app.scale'
  | 'app.restart'
  | 'app.config'
  | 'app.scaling'
  | 'app.sleep'
  | 'app.wake'
  | 'app.limits'
  | 'app.run'
  | 'app.cron.run'
  | 'app.meta'
  | 'app.thumbnail'
  | 'secrets.rotate';

/** Parses `user:NAME` / `group:NAME` (a bare NAME is a user). Undefined when malformed. */
export function parsePrincipal(s: string): Principal | undefined {
  const m = /^(?:(user|group):)?([A-Za-z0-9][A-Za-z0-9._@-]{0,99})$/.exec(s);
  if (!m) return undefined;
  return { kind: (m[1] ?? 'user') as Principal['kind'], name: m[2]! };
}

export function formatPrincipal(p: Principal): string {
  return `${p.kind}:${p.name}`;
}

export function parseScope(s: string): TokenScope | undefined {
  if (s === 'full') return { kind: 'full' };
  if (s === 'read') return { kind: 'read' };
  const m = /^app:([a-z][a-z0-9-]{0,62})$/.exec(s);
  return m ? { kind: 'app', app: m[1]! } : undefined;
}

export function formatScope(s: TokenScope): string {
  return s.kind === 'app' ? `app:${s.app}` : s.kind;
}

/**
 * The identity directory: users, groups, tokens, sessions, SSH keys and app
 * access, persisted in the store and mirrored in memory. Every read a request
 * makes is synchronous and in memory; every write goes to the database first,
 * then to memory, then to the audit log. Errors are GantryErrors with messages
 * a user can act on (GANTRY_NOT_FOUND, GANTRY_CONFLICT, GANTRY_BAD_REQUEST …).
 */
export interface Directory {
  /** Loads everything into memory (call once at start). */
  load(): Promise<void>;

  // ---- per-request reads: synchronous, in memory --------------------------------------
  /** Resolves a session cookie value; undefined when unknown or expired. */
  resolveSession(cookieValue: string): Identity | undefined;
  /** Resolves a `gty_…` API token; undefined when unknown, revoked or expired. */
  resolveToken(token: string): Identity | undefined;
  /** The app's access settings; undefined for an unknown app. */
  appAccess(app: string): AppAccess | undefined;
  /** Identity of a user by name (for git/SSH after the key or password was checked). */
  identityOf(username: string, via: Identity['via']): Identity | undefined;

  // ---- login -------------------------------------------------------------------------
  /** Checks a local password (argon2id, constant time for unknown users). */
  verifyPassword(username: string, password: string): Promise<Identity | undefined>;
  /**
   * Creates or updates the user of an SSO login: created on first login with
   * `defaultRole`; the user's groups from this provider are replaced by `ext.groups`
   * (groups are created as needed, source = provider). Refuses (GANTRY_CONFLICT) when
   * a local user or another provider's user already has that username.
   */
  upsertExternalUser(ext: ExternalIdentity, defaultRole: Role): Promise<Identity>;
  /** Starts a session; returns the cookie value (shown once) and the identity. */
  createSession(
    userId: string,
    info: { ip: string | null; userAgent: string | null; provider: string; ttlMs: number },
  ): Promise<{ cookie: string; identity: Identity; expiresAt: string }>;
  /** Ends a session (logout), audited as `by` (default: its user; null: not audited). Unknown ids are ignored. */
  endSession(sessionId: string, by?: Actor | null): Promise<void>;

  // ---- users and groups (admin) ------------------------------------------------------------------
  listUsers(): UserInfo[];
  getUser(username: string): UserInfo | undefined;
  createUser(
    by: Actor,
    u: { username: string; password?: string; role: Role; email?: string | null },
  ): Promise<UserInfo>;
  updateUser(
    by: Actor,
    username: string,
    change: { role?: Role; email?: string | null; password?: string },
  ): Promise<UserInfo>;
  /** Deletes the user, their tokens, sessions and keys; their apps keep running with no owner. Refuses to delete the last admin. */
  destroyUser(by: Actor, username: string): Promise<void>;
  listGroups(): GroupInfo[];
  createGroup(by: Actor, name: string): Promise<GroupInfo>;
  destroyGroup(by: Actor, name: string): Promise<void>;
  addToGroup(by: Actor, group: string, username: string): Promise<GroupInfo>;
  removeFromGroup(by: Actor, group: string, username: string): Promise<GroupInfo>;

  // ---- tokens (own; admins may manage anyone's) ---------------------------------------------------
  listTokens(username: string): TokenInfo[];
  createToken(
    by: Actor,
    username: string,
    t: { name: string; scope: TokenScope; expiresAt: Date | null },
  ): Promise<{ token: string; info: TokenInfo }>;
  revokeToken(by: Actor, username: string, tokenId: string): Promise<void>;

  // ---- SSH keys -----------------------------------------------------------------------------------
  listKeys(username: string): SshKeyInfo[];
  /** Validates and adds an OpenSSH public key line; refuses duplicates (by fingerprint) across all users. */
  addKey(by: Actor, username: string, publicKey: string, name?: string): Promise<SshKeyInfo>;
  /** By id or fingerprint. */
  removeKey(by: Actor, username: string, idOrFingerprint: string): Promise<void>;
  /** The user owning the key with this fingerprint (SSH login), or undefined. */
  userForKey(fingerprint: string): { username: string; publicKey: string } | undefined;
  /** Records that a key was just used (at most one write a minute per key). */
  keyUsed(fingerprint: string): void;

  // ---- apps --------------------------------------------------------------------------------------
  /** Called by the platform when an app is created/destroyed (the app row is written there); `owner` is a username. */
  appCreated(app: string, owner: string | null): void;
  appDestroyed(app: string): void;
  addCollaborator(by: Actor, app: string, p: Principal): Promise<AppAccess>;
  removeCollaborator(by: Actor, app: string, p: Principal): Promise<AppAccess>;
  addViewer(by: Actor, app: string, p: Principal): Promise<AppAccess>;
  removeViewer(by: Actor, app: string, p: Principal): Promise<AppAccess>;
  setVisibility(by: Actor, app: string, v: Visibility): Promise<AppAccess>;

  // ---- audit -------------------------------------------------------------------------------------
  /** Appends to the audit log (never throws; a failure is logged). */
  audit(
    by: Actor,
    action: AuditAction,
    target: string | null,
    detail?: Record<string, unknown>,
  ): Promise<void>;
  listAudit(filter: {
    limit?: number;
    before?: string;
    action?: string;
    actor?: string;
    target?: string;
  }): Promise<AuditEvent[]>;

  /** Subscribe to access changes (the router's gate drops cached decisions). Returns unsubscribe. */
  onChange(listener: () => void): () => void;
  /** Stops timers and waits for queued writes. */
  close(): Promise<void>;
}
