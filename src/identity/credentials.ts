/**
 * Credentials: browser sessions, API tokens and SSH keys. Secrets (cookie
 * values, tokens) are returned once and stored only as sha256 hashes.
 */
import { randomBytes } from 'node:crypto';
import { newId } from '../store/index.js';
import { hashToken, newToken } from '../auth/passwords.js';
import {
  formatScope,
  parseScope,
  type Actor,
  type Identity,
  type SshKeyInfo,
  type TokenInfo,
  type TokenScope,
} from './types.js';
import { keyInfo, tokenInfo, type KeyRec, type SessionRec, type TokenRec } from './memory.js';
import { badRequest, conflict, findUser, iso, notFound, type WriteContext } from './context.js';
import { parsePublicKey } from './sshkey.js';
import { checkLabel } from './validate.js';

export async function createSession(
  ctx: WriteContext,
  userId: string,
  info: { ip: string | null; userAgent: string | null; provider: string; ttlMs: number },
): Promise<{ cookie: string; identity: Identity; expiresAt: string }> {
  if (!(info.ttlMs > 0)) throw badRequest('session lifetime must be positive');
  return ctx.serial(async () => {
    const user = ctx.state.usersById.get(userId);
    if (!user) throw notFound(`no user with id ${userId}`);
    const cookie = randomBytes(32).toString('base64url');
    const now = ctx.now();
    const s: SessionRec = {
      hash: hashToken(cookie),
      user,
      csrf: randomBytes(32).toString('base64url'),
      expiresMs: now + info.ttlMs,
      expiresAt: new Date(now + info.ttlMs).toISOString(),
    };
    await ctx.db
      .insertInto('sessions')
      .values({
        id: s.hash,
        user_id: user.id,
        csrf: s.csrf,
        created_at: new Date(now).toISOString(),
        expires_at: s.expiresAt,
        ip: info.ip,
        user_agent: info.userAgent?.slice(0, 512) ?? null,
        provider: info.provider,
      })
      .execute();
    ctx.state.addSession(s);
    return { cookie, identity: ctx.state.sessionIdentity(s), expiresAt: s.expiresAt };
  });
}

/**
 * Ends a session by its id (Identity.session.id); audits `logout` as `by` (default: the session's user)
 * unless `by` is null (the server's own short sessions, e.g. thumbnail captures, are not logins).
 */
export async function endSession(ctx: WriteContext, sessionId: string, by?: Actor | null): Promise<void> {
  const s = await ctx.serial(async () => {
    const s = ctx.state.sessionsByHash.get(sessionId);
    await ctx.db.deleteFrom('sessions').where('id', '=', sessionId).execute();
    if (s) ctx.state.removeSession(s);
    return s;
  });
  if (!s) return;
  if (by !== null)
    await ctx.audit(by ?? { username: s.user.username, ip: null }, 'logout', `user:${s.user.username}`);
  ctx.changed();
}

export async function createToken(
  ctx: WriteContext,
  by: Actor,
  username: string,
  t: { name: string; scope: TokenScope; expiresAt: Date | null },
): Promise<{ token: string; info: TokenInfo }> {
  const name = checkLabel('token', t.name);
  const scopeText = formatScope(t.scope);
  const scope = parseScope(scopeText);
  if (!scope)
    throw badRequest(`invalid token scope ${JSON.stringify(scopeText)}: use full, read or app:NAME`);
  const now = ctx.now();
  if (t.expiresAt !== null && !(t.expiresAt.getTime() > now))
    throw badRequest('token expiry must be a valid time in the future');
  const token = newToken();
  const rec = await ctx.serial(async () => {
    const user = findUser(ctx.state, username);
    const rec: TokenRec = {
      id: newId(),
      hash: hashToken(token),
      user,
      name,
      scope,
      scopeText,
      createdAt: new Date(now).toISOString(),
      lastUsedAt: null,
      lastUsedMs: 0,
      expiresAt: t.expiresAt?.toISOString() ?? null,
      expiresMs: t.expiresAt?.getTime() ?? null,
    };
    await ctx.db
      .insertInto('api_tokens')
      .values({
        id: rec.id,
        user_id: user.id,
        name,
        token_hash: rec.hash,
        created_at: rec.createdAt,
        last_used_at: null,
        expires_at: rec.expiresAt,
        scope: scopeText,
      })
      .execute();
    ctx.state.addToken(rec);
    return rec;
  });
  await ctx.audit(by, 'token.create', `token:${rec.id}`, {
    user: username,
    name,
    scope: scopeText,
    expiresAt: rec.expiresAt,
  });
  return { token, info: tokenInfo(rec) };
}

export async function revokeToken(
  ctx: WriteContext,
  by: Actor,
  username: string,
  tokenId: string,
): Promise<void> {
  const t = await ctx.serial(async () => {
    const t = findUser(ctx.state, username).tokens.get(tokenId);
    if (!t) throw notFound(`no token ${tokenId} for user ${username}`);
    await ctx.db.deleteFrom('api_tokens').where('id', '=', t.id).execute();
    ctx.state.removeToken(t);
    return t;
  });
  await ctx.audit(by, 'token.revoke', `token:${t.id}`, { user: username, name: t.name });
  ctx.changed();
}

export async function addKey(
  ctx: WriteContext,
  by: Actor,
  username: string,
  publicKey: string,
  name?: string,
): Promise<SshKeyInfo> {
  const key = parsePublicKey(publicKey);
  const label = checkLabel('key', name ?? (key.comment.slice(0, 100) || key.type));
  const k = await ctx.serial(async () => {
    const user = findUser(ctx.state, username);
    const dup = ctx.state.keysByFingerprint.get(key.fingerprint);
    if (dup?.user === user) throw conflict(`key ${key.fingerprint} is already added as "${dup.name}"`);
    if (dup)
      throw conflict(
        `key ${key.fingerprint} is already registered to another user; a key identifies one user`,
      );
    const k: KeyRec = {
      id: newId(),
      user,
      name: label,
      fingerprint: key.fingerprint,
      type: key.type,
      publicKey: key.line,
      createdAt: iso(ctx),
      lastUsedAt: null,
      lastUsedMs: 0,
    };
    await ctx.db
      .insertInto('ssh_keys')
      .values({
        id: k.id,
        user_id: user.id,
        name: k.name,
        fingerprint: k.fingerprint,
        public_key: k.publicKey,
        created_at: k.createdAt,
        last_used_at: null,
      })
      .execute();
    ctx.state.addKey(k);
    return k;
  });
  await ctx.audit(by, 'key.add', `user:${username}`, {
    name: k.name,
    fingerprint: k.fingerprint,
    type: k.type,
  });
  return keyInfo(k);
}

export async function removeKey(
  ctx: WriteContext,
  by: Actor,
  username: string,
  idOrFingerprint: string,
): Promise<void> {
  const k = await ctx.serial(async () => {
    const user = findUser(ctx.state, username);
    const k =
      user.keys.get(idOrFingerprint) ??
      [...user.keys.values()].find((k) => k.fingerprint === idOrFingerprint);
    if (!k) throw notFound(`no SSH key ${idOrFingerprint} for user ${username}`);
    await ctx.db.deleteFrom('ssh_keys').where('id', '=', k.id).execute();
    ctx.state.removeKey(k);
    return k;
  });
  await ctx.audit(by, 'key.remove', `user:${username}`, { name: k.name, fingerprint: k.fingerprint });
  ctx.changed();
}
