/**
 * App access settings: collaborators and viewers (users or groups) in
 * app_grants, and the app's visibility. The app rows themselves belong to
 * the platform; the directory only mirrors what it needs.
 */
import { GantryError } from '../errors/index.js';
import {
  formatPrincipal,
  type Actor,
  type AppAccess,
  type AuditAction,
  type Principal,
  type Visibility,
} from './types.js';
import type { AppRec, DirectoryState, GrantKind, GrantRec } from './memory.js';
import { badRequest, findGroup, findUser, iso, type WriteContext } from './context.js';
import { checkVisibility } from './validate.js';

export async function setVisibility(
  ctx: WriteContext,
  by: Actor,
  app: string,
  v: Visibility,
): Promise<AppAccess> {
  checkVisibility(v);
  const r = await ctx.serial(async () => {
    const rec = findApp(ctx.state, app);
    const from = rec.visibility;
    if (from === v) return { rec, from };
    await ctx.db
      .updateTable('apps')
      .set({ visibility: v })
      .where('id', '=', await appId(ctx, rec))
      .execute();
    rec.visibility = v;
    rec.cached = undefined;
    return { rec, from };
  });
  if (r.from !== v) {
    await ctx.audit(by, 'app.visibility', `app:${app}`, { from: r.from, to: v });
    ctx.changed();
  }
  return ctx.state.access(r.rec);
}

/** Adds (`add`) or removes a collaborator or viewer; idempotent. */
export async function grant(
  ctx: WriteContext,
  by: Actor,
  app: string,
  p: Principal,
  kind: GrantKind,
  add: boolean,
): Promise<AppAccess> {
  const r = await ctx.serial(async () => {
    const rec = findApp(ctx.state, app);
    const g = principal(ctx.state, p, kind);
    const existing = rec.grants.find((x) => x.kind === kind && x.principal === g.principal);
    if (add === (existing !== undefined)) return { rec, changed: false };
    if (add && kind === 'collaborator' && rec.owner === g.principal)
      throw badRequest(`${p.name} owns app ${app} already`);
    const id = await appId(ctx, rec);
    if (add)
      await ctx.db
        .insertInto('app_grants')
        .values({
          app_id: id,
          kind,
          principal_kind: g.principalKind,
          principal_id: g.principal.id,
          created_at: iso(ctx),
        })
        .execute();
    else
      await ctx.db
        .deleteFrom('app_grants')
        .where('app_id', '=', id)
        .where('kind', '=', kind)
        .where('principal_kind', '=', g.principalKind)
        .where('principal_id', '=', g.principal.id)
        .execute();
    rec.grants = add ? [...rec.grants, g] : rec.grants.filter((x) => x !== existing);
    rec.cached = undefined;
    return { rec, changed: true };
  });
  if (r.changed) {
    const action: AuditAction =
      kind === 'collaborator'
        ? add
          ? 'app.collaborator.add'
          : 'app.collaborator.remove'
        : add
          ? 'app.access.add'
          : 'app.access.remove';
    await ctx.audit(by, action, `app:${app}`, { principal: formatPrincipal(p) });
    ctx.changed();
  }
  return ctx.state.access(r.rec);
}

function findApp(state: DirectoryState, name: string): AppRec {
  const a = state.apps.get(name);
  if (!a) throw new GantryError('GANTRY_APP_NOT_FOUND', `app "${name}" does not exist`);
  return a;
}

/** apps.id of an app announced by appCreated() (looked up once). */
async function appId(ctx: WriteContext, rec: AppRec): Promise<string> {
  if (rec.id !== null) return rec.id;
  const row = await ctx.db.selectFrom('apps').select('id').where('name', '=', rec.name).executeTakeFirst();
  if (!row) throw new GantryError('GANTRY_APP_NOT_FOUND', `app "${rec.name}" does not exist`);
  rec.id = row.id;
  return row.id;
}

function principal(state: DirectoryState, p: Principal, kind: GrantKind): GrantRec {
  if (p.kind === 'user') return { kind, principalKind: 'user', principal: findUser(state, p.name) };
  return { kind, principalKind: 'group', principal: findGroup(state, p.name) };
}
