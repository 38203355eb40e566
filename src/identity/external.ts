/**
 * Maps an SSO login onto the directory: creates the user on first login,
 * updates their email, creates missing groups (source = the provider) and
 * replaces the memberships this provider made. A provider group whose name
 * matches an existing Gantry group (local ones too) maps onto it; memberships
 * an admin made, or another provider made, are never touched. Works in
 * batches so a user in thousands of groups logs in quickly; writes nothing
 * when nothing changed.
 */
import { newId } from '../store/index.js';
import { GantryError } from '../errors/index.js';
import type { Actor, ExternalIdentity, Role } from './types.js';
import { checkEmail, checkRole, checkUsername, isValidName } from './validate.js';
import { groupRec, userRec, type GroupRec, type UserRec } from './memory.js';
import { iso, type WriteContext } from './context.js';

/** Rows per statement: well under SQLite's and Postgres' bound-parameter limits. */
const CHUNK = 500;

interface SyncResult {
  user: UserRec;
  created: boolean;
  emailChanged: boolean;
  added: string[];
  removed: string[];
  createdGroups: string[];
}

function* chunks<T>(items: readonly T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += CHUNK) yield items.slice(i, i + CHUNK);
}

const SYSTEM: Actor = { username: null, ip: null };

/** Creates or updates the user of an SSO login; see Directory.upsertExternalUser. */
export async function upsertExternalUser(
  ctx: WriteContext,
  ext: ExternalIdentity,
  defaultRole: Role,
): Promise<UserRec> {
  const r = await ctx.serial(() => sync(ctx, ext, defaultRole));
  const target = `user:${r.user.username}`;
  const groups = {
    added: r.added.slice(0, 50),
    removed: r.removed.slice(0, 50),
    addedCount: r.added.length,
    removedCount: r.removed.length,
    createdGroups: r.createdGroups.length,
  };
  if (r.created)
    await ctx.audit(SYSTEM, 'user.create', target, { source: ext.provider, role: r.user.role, ...groups });
  else if (r.emailChanged || r.added.length || r.removed.length)
    await ctx.audit(SYSTEM, 'user.update', target, {
      source: ext.provider,
      emailChanged: r.emailChanged,
      ...groups,
    });
  if (!r.created && (r.added.length || r.removed.length)) ctx.changed();
  return r.user;
}

/** Runs inside the write queue: reads memory, writes the database, then memory. */
async function sync(ctx: WriteContext, ext: ExternalIdentity, defaultRole: Role): Promise<SyncResult> {
  const { db, state, logger } = ctx;
  const provider = ext.provider;
  if (!provider || provider === 'local')
    throw new GantryError('GANTRY_BAD_REQUEST', `invalid SSO provider name ${JSON.stringify(provider)}`);
  checkUsername(ext.username);
  checkRole(defaultRole);
  let email: string | null;
  try {
    email = checkEmail(ext.email);
  } catch (err) {
    // A provider's odd email must not block the login.
    logger.warn({ err, provider, username: ext.username }, 'ignoring an invalid email from the SSO provider');
    email = null;
  }

  const existing = state.usersByName.get(ext.username);
  if (existing && existing.source !== provider)
    throw new GantryError(
      'GANTRY_CONFLICT',
      `cannot sign in "${ext.username}" through ${provider}: a user with that name already exists from ` +
        `${existing.source === 'local' ? 'local accounts (source local)' : `${existing.source} (source ${existing.source})`}; ` +
        'an admin must delete or rename one of them',
    );

  // The groups this login should leave the user in, limited to groups this provider may fill.
  const wanted = new Set<string>();
  const invalid: string[] = [];
  for (const name of ext.groups) {
    if (!isValidName(name)) invalid.push(name);
    else wanted.add(name);
  }
  if (invalid.length)
    logger.warn(
      { provider, username: ext.username, groups: invalid.slice(0, 20), count: invalid.length },
      'ignoring SSO group names that are not valid Gantry group names',
    );

  const current = existing
    ? [...existing.groups].filter((g) => existing.memberSource.get(g.id) === provider)
    : [];
  const toRemove = current.filter((g) => !wanted.has(g.name));
  // Already a member (this provider's, an admin's or another provider's membership): nothing to add.
  const have = new Set(existing ? [...existing.groups].map((g) => g.name) : []);
  const addNames = [...wanted].filter((n) => !have.has(n));
  const newGroups: GroupRec[] = [];
  const toAdd: GroupRec[] = [];
  for (const name of addNames) {
    let g = state.groupsByName.get(name);
    if (!g) {
      g = groupRec({ id: newId(), name, source: provider, created_at: iso(ctx) });
      newGroups.push(g);
    }
    toAdd.push(g);
  }
  const emailChanged = existing !== undefined && existing.email !== email;
  const result = {
    created: !existing,
    emailChanged,
    added: toAdd.map((g) => g.name),
    removed: toRemove.map((g) => g.name),
    createdGroups: newGroups.map((g) => g.name),
  };
  if (existing && !emailChanged && toAdd.length === 0 && toRemove.length === 0)
    return { user: existing, ...result };

  const user =
    existing ??
    userRec({
      id: newId(),
      username: ext.username,
      email,
      role: defaultRole,
      source: provider,
      created_at: iso(ctx),
      password_hash: '',
    });
  await db.transaction().execute(async (tx) => {
    if (!existing)
      await tx
        .insertInto('users')
        .values({
          id: user.id,
          username: user.username,
          email,
          role: user.role,
          source: provider,
          created_at: user.createdAt,
          password_hash: '',
        })
        .execute();
    else if (emailChanged) await tx.updateTable('users').set({ email }).where('id', '=', user.id).execute();
    for (const batch of chunks(newGroups))
      await tx
        .insertInto('groups')
        .values(batch.map((g) => ({ id: g.id, name: g.name, source: g.source, created_at: g.createdAt })))
        .execute();
    for (const batch of chunks(toRemove))
      await tx
        .deleteFrom('group_members')
        .where('user_id', '=', user.id)
        .where(
          'group_id',
          'in',
          batch.map((g) => g.id),
        )
        .execute();
    for (const batch of chunks(toAdd))
      await tx
        .insertInto('group_members')
        .values(batch.map((g) => ({ group_id: g.id, user_id: user.id, source: provider })))
        .execute();
  });

  if (!existing) state.addUser(user);
  else if (emailChanged) {
    user.email = email;
    user.version++;
  }
  for (const g of newGroups) state.addGroup(g);
  for (const g of toRemove) state.leave(g, user);
  for (const g of toAdd) state.join(g, user, provider);
  return { user, ...result };
}
