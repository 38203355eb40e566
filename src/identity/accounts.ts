/**
 * Users and groups (admin operations). Local groups are managed here; groups
 * of an SSO source are filled at each login (external.ts) and refuse manual
 * membership changes. The last admin can be neither deleted nor demoted.
 */
import { newId } from '../store/index.js';
import type { GantryError } from '../errors/index.js';
import { hashPassword } from '../auth/passwords.js';
import type { Actor, GroupInfo, Role, UserInfo } from './types.js';
import { groupInfo, groupRec, userRec, type DirectoryState, type UserRec } from './memory.js';
import { badRequest, conflict, findGroup, findUser, iso, type WriteContext } from './context.js';
import { checkEmail, checkGroupName, checkPassword, checkRole, checkUsername } from './validate.js';

export async function createUser(
  ctx: WriteContext,
  by: Actor,
  u: { username: string; password?: string; role: Role; email?: string | null },
): Promise<UserInfo> {
  checkUsername(u.username);
  checkRole(u.role);
  const email = checkEmail(u.email);
  if (u.password !== undefined) checkPassword(u.password);
  if (ctx.state.usersByName.has(u.username)) throw conflict(`user ${u.username} already exists`);
  const hash = u.password === undefined ? '' : await hashPassword(u.password);
  const user = await ctx.serial(async () => {
    if (ctx.state.usersByName.has(u.username)) throw conflict(`user ${u.username} already exists`);
    const row = {
      id: newId(),
      username: u.username,
      password_hash: hash,
      role: u.role,
      email,
      created_at: iso(ctx),
      source: 'local',
    };
    await ctx.db.insertInto('users').values(row).execute();
    const rec = userRec(row);
    ctx.state.addUser(rec);
    return rec;
  });
  await ctx.audit(by, 'user.create', `user:${user.username}`, {
    role: user.role,
    email: user.email,
    password: hash !== '',
  });
  return ctx.state.userInfo(user);
}

export async function updateUser(
  ctx: WriteContext,
  by: Actor,
  username: string,
  change: { role?: Role; email?: string | null; password?: string },
): Promise<UserInfo> {
  if (change.role !== undefined) checkRole(change.role);
  const email = change.email === undefined ? undefined : checkEmail(change.email);
  if (change.password !== undefined) checkPassword(change.password);
  const pre = findUser(ctx.state, username);
  if (change.password !== undefined && pre.source !== 'local') throw ssoOnly(pre, 'password');
  const hash = change.password === undefined ? undefined : await hashPassword(change.password);
  const r = await ctx.serial(async () => {
    const u = findUser(ctx.state, username);
    if (hash !== undefined && u.source !== 'local') throw ssoOnly(u, 'password');
    const from = u.role;
    const role = change.role !== undefined && change.role !== u.role ? change.role : undefined;
    if (role !== undefined && from === 'admin') refuseLastAdmin(ctx.state, u, 'remove the admin role from');
    const set: { role?: Role; email?: string | null; password_hash?: string } = {};
    if (role !== undefined) set.role = role;
    if (email !== undefined && email !== u.email) set.email = email;
    if (hash !== undefined) set.password_hash = hash;
    if (Object.keys(set).length) await ctx.db.updateTable('users').set(set).where('id', '=', u.id).execute();
    if (set.role !== undefined) u.role = set.role;
    if (set.email !== undefined) u.email = set.email;
    if (set.password_hash !== undefined) u.passwordHash = set.password_hash;
    if (set.role !== undefined || set.email !== undefined) u.version++;
    return { u, from, set };
  });
  const target = `user:${username}`;
  if (r.set.role !== undefined) await ctx.audit(by, 'user.role', target, { from: r.from, to: r.set.role });
  const fields = [
    ...(r.set.email !== undefined ? ['email'] : []),
    ...(r.set.password_hash !== undefined ? ['password'] : []),
  ];
  if (fields.length)
    await ctx.audit(by, 'user.update', target, {
      fields,
      ...(r.set.email !== undefined ? { email: r.set.email } : {}),
    });
  // Role and email are in the identity apps receive: drop cached headers and JWTs now.
  if (r.set.role !== undefined || r.set.email !== undefined) ctx.changed();
  return ctx.state.userInfo(r.u);
}

export async function destroyUser(ctx: WriteContext, by: Actor, username: string): Promise<void> {
  const r = await ctx.serial(async () => {
    const u = findUser(ctx.state, username);
    if (u.role === 'admin') refuseLastAdmin(ctx.state, u, 'delete');
    const owned = [...ctx.state.apps.values()].filter((a) => a.owner === u).map((a) => a.name);
    await ctx.db.transaction().execute(async (tx) => {
      await tx
        .deleteFrom('app_grants')
        .where('principal_kind', '=', 'user')
        .where('principal_id', '=', u.id)
        .execute();
      await tx.updateTable('apps').set({ owner_id: null }).where('owner_id', '=', u.id).execute();
      await tx.deleteFrom('api_tokens').where('user_id', '=', u.id).execute();
      await tx.deleteFrom('sessions').where('user_id', '=', u.id).execute();
      await tx.deleteFrom('ssh_keys').where('user_id', '=', u.id).execute();
      await tx.deleteFrom('group_members').where('user_id', '=', u.id).execute();
      await tx.deleteFrom('users').where('id', '=', u.id).execute();
    });
    ctx.state.removeUser(u);
    return { u, owned };
  });
  await ctx.audit(by, 'user.destroy', `user:${username}`, {
    role: r.u.role,
    source: r.u.source,
    ownedApps: r.owned,
  });
  ctx.changed();
}

export async function createGroup(ctx: WriteContext, by: Actor, name: string): Promise<GroupInfo> {
  checkGroupName(name);
  const g = await ctx.serial(async () => {
    if (ctx.state.groupsByName.has(name)) throw conflict(`group ${name} already exists`);
    const g = groupRec({ id: newId(), name, source: 'local', created_at: iso(ctx) });
    await ctx.db
      .insertInto('groups')
      .values({ id: g.id, name: g.name, source: g.source, created_at: g.createdAt })
      .execute();
    ctx.state.addGroup(g);
    return g;
  });
  await ctx.audit(by, 'group.create', `group:${name}`);
  return groupInfo(g);
}

export async function destroyGroup(ctx: WriteContext, by: Actor, name: string): Promise<void> {
  const g = await ctx.serial(async () => {
    const g = findGroup(ctx.state, name);
    await ctx.db.transaction().execute(async (tx) => {
      await tx
        .deleteFrom('app_grants')
        .where('principal_kind', '=', 'group')
        .where('principal_id', '=', g.id)
        .execute();
      await tx.deleteFrom('group_members').where('group_id', '=', g.id).execute();
      await tx.deleteFrom('groups').where('id', '=', g.id).execute();
    });
    const members = g.members.size;
    ctx.state.removeGroup(g);
    return { g, members };
  });
  await ctx.audit(by, 'group.destroy', `group:${name}`, { source: g.g.source, members: g.members });
  ctx.changed();
}

/** A group whose members admins set by hand (not one an SSO provider fills at each login). */
function adminManagedGroup(ctx: WriteContext, group: string): ReturnType<typeof findGroup> {
  const g = findGroup(ctx.state, group);
  if (g.source !== 'local')
    throw badRequest(
      `group ${group} is filled from ${g.source} at each login; change its members in ${g.source}`,
    );
  return g;
}

export async function addToGroup(
  ctx: WriteContext,
  by: Actor,
  group: string,
  username: string,
): Promise<GroupInfo> {
  const r = await ctx.serial(async () => {
    const g = adminManagedGroup(ctx, group);
    const u = findUser(ctx.state, username);
    if (g.members.has(u)) return { g, changed: false };
    await ctx.db
      .insertInto('group_members')
      .values({ group_id: g.id, user_id: u.id, source: 'local' })
      .execute();
    ctx.state.join(g, u);
    return { g, changed: true };
  });
  if (r.changed) {
    await ctx.audit(by, 'group.add', `group:${group}`, { user: username });
    ctx.changed();
  }
  return groupInfo(r.g);
}

export async function removeFromGroup(
  ctx: WriteContext,
  by: Actor,
  group: string,
  username: string,
): Promise<GroupInfo> {
  const r = await ctx.serial(async () => {
    const g = adminManagedGroup(ctx, group);
    const u = findUser(ctx.state, username);
    if (!g.members.has(u)) return { g, changed: false };
    const from = u.memberSource.get(g.id) ?? 'local';
    if (from !== 'local')
      throw badRequest(
        `${username} is in ${group} through ${from} (mapped at each login); change it in ${from}`,
      );
    await ctx.db
      .deleteFrom('group_members')
      .where('group_id', '=', g.id)
      .where('user_id', '=', u.id)
      .execute();
    ctx.state.leave(g, u);
    return { g, changed: true };
  });
  if (r.changed) {
    await ctx.audit(by, 'group.remove', `group:${group}`, { user: username });
    ctx.changed();
  }
  return groupInfo(r.g);
}

function refuseLastAdmin(state: DirectoryState, u: UserRec, verb: string): void {
  for (const other of state.usersById.values()) if (other !== u && other.role === 'admin') return;
  throw conflict(`cannot ${verb} ${u.username}: they are the last admin; make another user admin first`);
}

function ssoOnly(u: UserRec, what: string): GantryError {
  return badRequest(`${u.username} signs in through ${u.source}; change their ${what} there`);
}
