/**
 * The identity directory over the store (SQLite or PostgreSQL), mirrored in
 * memory (memory.ts). Reads are synchronous lookups; every write runs in one
 * queue (so memory and database never diverge under concurrent requests):
 * database first (a transaction when more than one row changes), then
 * memory, then the audit log, then the onChange listeners. The writes live
 * in accounts.ts, credentials.ts, grants.ts and external.ts.
 *
 * Start-up order: migrate the store, Users.bootstrapAdmin(), then load().
 */
import type { Database } from '../store/index.js';
import type { Logger } from '../log/index.js';
import { DUMMY_HASH, hashToken, verifyPassword } from '../auth/passwords.js';
import type {
  Actor,
  AppAccess,
  AuditAction,
  AuditEvent,
  Directory,
  ExternalIdentity,
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
import { DirectoryState, groupInfo, keyInfo, tokenInfo } from './memory.js';
import { AuditLog, type AuditFilter } from './audit.js';
import { byCreation, byKey, findUser, type WriteContext } from './context.js';
import * as accounts from './accounts.js';
import * as credentials from './credentials.js';
import * as grants from './grants.js';
import { upsertExternalUser } from './external.js';
import { MAX_PASSWORD } from './validate.js';

export interface SqlDirectoryOptions {
  db: Database;
  logger: Logger;
  /** How often expired sessions are deleted from memory and the database (default 10 minutes). */
  sweepIntervalMs?: number;
  /** Clock in ms, injectable for tests (default Date.now). */
  now?: () => number;
}

/** Token and SSH key use is written at most this often per token/key. */
const USE_RECORD_INTERVAL_MS = 60_000;
/** A session cookie: 32 random bytes, base64url. */
const COOKIE_LENGTH = 43;

export class SqlDirectory implements Directory {
  readonly #db: Database;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #sweepMs: number;
  readonly #state = new DirectoryState();
  readonly #auditLog: AuditLog;
  readonly #ctx: WriteContext;
  readonly #listeners = new Set<() => void>();
  /** Background writes (token/key last use, lazy session deletes), awaited by close(). */
  readonly #pending = new Set<Promise<void>>();
  #queue: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: SqlDirectoryOptions) {
    this.#db = opts.db;
    this.#logger = opts.logger;
    this.#now = opts.now ?? Date.now;
    this.#sweepMs = opts.sweepIntervalMs ?? 10 * 60_000;
    this.#auditLog = new AuditLog({ db: opts.db, logger: opts.logger, now: this.#now });
    this.#ctx = {
      db: this.#db,
      state: this.#state,
      logger: this.#logger,
      now: this.#now,
      serial: (fn) => this.#serial(fn),
      audit: (...args) => this.audit(...args),
      changed: () => this.#changed(),
    };
  }

  async load(): Promise<void> {
    await this.#serial(() => this.#state.load(this.#db, this.#now()));
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => void this.sweepSessions(), this.#sweepMs);
      this.#timer.unref();
    }
    this.#changed();
  }

  /** Stops the session sweep and waits for queued and background writes. The store stays open (its owner closes it). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#queue;
    while (this.#pending.size) await Promise.all([...this.#pending]);
  }

  // ---- per-request reads: one sha256 at most, Map lookups, cached frozen objects --------------------

  resolveSession(cookieValue: string): Identity | undefined {
    if (cookieValue.length !== COOKIE_LENGTH) return undefined;
    const s = this.#state.sessionsByHash.get(hashToken(cookieValue));
    if (!s) return undefined;
    if (s.expiresMs <= this.#now()) {
      this.#state.removeSession(s);
      this.#background('delete an expired session', this.#db.deleteFrom('sessions').where('id', '=', s.hash));
      return undefined;
    }
    return this.#state.sessionIdentity(s);
  }

  resolveToken(token: string): Identity | undefined {
    if (!token.startsWith('gty_') || token.length > 200) return undefined;
    const t = this.#state.tokensByHash.get(hashToken(token));
    if (!t || t.scope === null) return undefined;
    const now = this.#now();
    if (t.expiresMs !== null && t.expiresMs <= now) return undefined;
    if (now - t.lastUsedMs >= USE_RECORD_INTERVAL_MS) {
      t.lastUsedMs = now;
      t.lastUsedAt = new Date(now).toISOString();
      this.#background(
        'record token use',
        this.#db.updateTable('api_tokens').set({ last_used_at: t.lastUsedAt }).where('id', '=', t.id),
      );
    }
    return this.#state.tokenIdentity(t, t.scope);
  }

  appAccess(app: string): AppAccess | undefined {
    const rec = this.#state.apps.get(app);
    return rec && this.#state.access(rec);
  }

  identityOf(username: string, via: Identity['via']): Identity | undefined {
    const u = this.#state.usersByName.get(username);
    return u && this.#state.identity(u, via);
  }

  // ---- login and sessions -------------------------------------------------------------------------

  async verifyPassword(username: string, password: string): Promise<Identity | undefined> {
    if (password.length > MAX_PASSWORD * 4) return undefined;
    const u = this.#state.usersByName.get(username);
    const real = u !== undefined && u.source === 'local' && u.passwordHash !== '';
    const ok = await verifyPassword(real ? u.passwordHash : DUMMY_HASH, password);
    // Deleted (or replaced) while the hash was being checked: no identity.
    if (!ok || !real || this.#state.usersByName.get(username) !== u) return undefined;
    return this.#state.identity(u, 'password');
  }

  /** The identity returned has via `password`; redirect flows follow with createSession(). */
  async upsertExternalUser(ext: ExternalIdentity, defaultRole: Role): Promise<Identity> {
    return this.#state.identity(await upsertExternalUser(this.#ctx, ext, defaultRole), 'password');
  }

  createSession(
    userId: string,
    info: { ip: string | null; userAgent: string | null; provider: string; ttlMs: number },
  ): Promise<{ cookie: string; identity: Identity; expiresAt: string }> {
    return credentials.createSession(this.#ctx, userId, info);
  }

  /** Ends a session by its id (Identity.session.id); audits `logout` as `by` (default: the session's user). */
  endSession(sessionId: string, by?: Actor | null): Promise<void> {
    return credentials.endSession(this.#ctx, sessionId, by);
  }

  /** Deletes expired sessions from memory and the database; never throws. Returns how many rows went. */
  async sweepSessions(): Promise<number> {
    const now = this.#now();
    for (const s of [...this.#state.sessionsByHash.values()])
      if (s.expiresMs <= now) this.#state.removeSession(s);
    try {
      const r = await this.#db
        .deleteFrom('sessions')
        .where('expires_at', '<=', new Date(now).toISOString())
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    } catch (err) {
      this.#logger.warn({ err }, 'could not delete expired sessions');
      return 0;
    }
  }

  // ---- users and groups ---------------------------------------------------------------------------

  listUsers(): UserInfo[] {
    return [...this.#state.usersById.values()]
      .sort(byKey((u) => u.username))
      .map((u) => this.#state.userInfo(u));
  }

  getUser(username: string): UserInfo | undefined {
    const u = this.#state.usersByName.get(username);
    return u && this.#state.userInfo(u);
  }

  createUser(
    by: Actor,
    u: { username: string; password?: string; role: Role; email?: string | null },
  ): Promise<UserInfo> {
    return accounts.createUser(this.#ctx, by, u);
  }

  updateUser(
    by: Actor,
    username: string,
    change: { role?: Role; email?: string | null; password?: string },
  ): Promise<UserInfo> {
    return accounts.updateUser(this.#ctx, by, username, change);
  }

  destroyUser(by: Actor, username: string): Promise<void> {
    return accounts.destroyUser(this.#ctx, by, username);
  }

  listGroups(): GroupInfo[] {
    return [...this.#state.groupsById.values()].sort(byKey((g) => g.name)).map(groupInfo);
  }

  createGroup(by: Actor, name: string): Promise<GroupInfo> {
    return accounts.createGroup(this.#ctx, by, name);
  }

  destroyGroup(by: Actor, name: string): Promise<void> {
    return accounts.destroyGroup(this.#ctx, by, name);
  }

  addToGroup(by: Actor, group: string, username: string): Promise<GroupInfo> {
    return accounts.addToGroup(this.#ctx, by, group, username);
  }

  removeFromGroup(by: Actor, group: string, username: string): Promise<GroupInfo> {
    return accounts.removeFromGroup(this.#ctx, by, group, username);
  }

  // ---- tokens and SSH keys ------------------------------------------------------------------------

  listTokens(username: string): TokenInfo[] {
    return [...findUser(this.#state, username).tokens.values()].sort(byCreation).map(tokenInfo);
  }

  createToken(
    by: Actor,
    username: string,
    t: { name: string; scope: TokenScope; expiresAt: Date | null },
  ): Promise<{ token: string; info: TokenInfo }> {
    return credentials.createToken(this.#ctx, by, username, t);
  }

  revokeToken(by: Actor, username: string, tokenId: string): Promise<void> {
    return credentials.revokeToken(this.#ctx, by, username, tokenId);
  }

  listKeys(username: string): SshKeyInfo[] {
    return [...findUser(this.#state, username).keys.values()].sort(byCreation).map(keyInfo);
  }

  addKey(by: Actor, username: string, publicKey: string, name?: string): Promise<SshKeyInfo> {
    return credentials.addKey(this.#ctx, by, username, publicKey, name);
  }

  removeKey(by: Actor, username: string, idOrFingerprint: string): Promise<void> {
    return credentials.removeKey(this.#ctx, by, username, idOrFingerprint);
  }

  userForKey(fingerprint: string): { username: string; publicKey: string } | undefined {
    const k = this.#state.keysByFingerprint.get(fingerprint);
    return k && { username: k.user.username, publicKey: k.publicKey };
  }

  /** Records that the key was used to log in (written at most once a minute per key, in the background). */
  keyUsed(fingerprint: string): void {
    const k = this.#state.keysByFingerprint.get(fingerprint);
    const now = this.#now();
    if (!k || now - k.lastUsedMs < USE_RECORD_INTERVAL_MS) return;
    k.lastUsedMs = now;
    k.lastUsedAt = new Date(now).toISOString();
    this.#background(
      'record SSH key use',
      this.#db.updateTable('ssh_keys').set({ last_used_at: k.lastUsedAt }).where('id', '=', k.id),
    );
  }

  // ---- apps ---------------------------------------------------------------------------------------

  /** `owner` is the owner's username (the platform already wrote the row, with visibility `restricted`). */
  appCreated(app: string, owner: string | null): void {
    const rec = owner === null ? null : (this.#state.usersByName.get(owner) ?? null);
    if (owner !== null && rec === null) this.#logger.warn({ app, owner }, 'app created by an unknown user');
    this.#state.apps.set(app, { id: null, name: app, owner: rec, visibility: 'restricted', grants: [] });
    this.#changed();
  }

  appDestroyed(app: string): void {
    if (this.#state.apps.delete(app)) this.#changed();
  }

  addCollaborator(by: Actor, app: string, p: Principal): Promise<AppAccess> {
    return grants.grant(this.#ctx, by, app, p, 'collaborator', true);
  }

  removeCollaborator(by: Actor, app: string, p: Principal): Promise<AppAccess> {
    return grants.grant(this.#ctx, by, app, p, 'collaborator', false);
  }

  addViewer(by: Actor, app: string, p: Principal): Promise<AppAccess> {
    return grants.grant(this.#ctx, by, app, p, 'viewer', true);
  }

  removeViewer(by: Actor, app: string, p: Principal): Promise<AppAccess> {
    return grants.grant(this.#ctx, by, app, p, 'viewer', false);
  }

  setVisibility(by: Actor, app: string, v: Visibility): Promise<AppAccess> {
    return grants.setVisibility(this.#ctx, by, app, v);
  }

  // ---- audit and change notification --------------------------------------------------------------

  audit(
    by: Actor,
    action: AuditAction,
    target: string | null,
    detail?: Record<string, unknown>,
  ): Promise<void> {
    return this.#auditLog.record(by, action, target, detail);
  }

  listAudit(filter: AuditFilter): Promise<AuditEvent[]> {
    return this.#auditLog.list(filter);
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #changed(): void {
    for (const l of this.#listeners) {
      try {
        l();
      } catch (err) {
        this.#logger.error({ err }, 'a directory change listener failed');
      }
    }
  }

  /** Runs writes one at a time; a failed write does not block the next. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(fn);
    this.#queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** A write nobody waits for (usage records, lazy cleanup): failures are logged, never thrown. */
  #background(what: string, q: { execute(): Promise<unknown> }): void {
    const p = (async () => {
      try {
        await q.execute();
      } catch (err) {
        this.#logger.warn({ err }, `could not ${what}`);
      }
    })();
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }
}
