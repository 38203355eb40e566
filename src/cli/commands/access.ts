/**
 * apps:collaborators[:add|:remove] (who may deploy and configure an app) and
 * access[:add|:remove|:visibility] (who may open it).
 */
import type { Command } from 'commander';
import type { Visibility } from '../../identity/types.js';
import { parsePrincipalArg, parseVisibility } from '../args.js';
import type { AccessSettings, Collaborators } from '../client.js';
import { appCommand, type AppOptions, type Context } from '../context.js';
import { heading, json, keyValues, table } from '../io.js';

const VISIBILITY_MEANS: Record<Visibility, string> = {
  public: 'anyone may open it, no login needed',
  authenticated: 'any logged-in user may open it',
  restricted: 'only the owner, collaborators and viewers may open it',
};

function who(c: Collaborators): string[][] {
  const rows: string[][] = [];
  if (c.owner !== null) rows.push([`user:${c.owner}`, 'owner']);
  for (const p of c.collaborators) rows.push([p, 'collaborator']);
  return rows;
}

const noOwner = (app: string): string => `${app} has no owner (its owner was deleted): admins manage it\n`;

export function registerAccess(program: Command, ctx: Context): void {
  appCommand(program, 'apps:collaborators', 'list who may deploy and configure an app')
    .option('--json', 'output JSON')
    .action(async (opts: AppOptions) => {
      const app = await ctx.app(opts);
      const c = await (await ctx.client()).getCollaborators(app);
      if (opts.json) return ctx.out(json(c));
      ctx.out(heading(`${app} Collaborators`));
      if (c.owner === null) ctx.out(noOwner(app));
      ctx.out(table(who(c), ['Principal', 'Right']));
    });

  appCommand(program, 'apps:collaborators:add', 'let a user or group deploy and configure an app (owner)')
    .argument('<principal>', 'user:NAME or group:NAME')
    .action(async (arg: string, opts: AppOptions) => {
      const principal = parsePrincipalArg(arg);
      const app = await ctx.app(opts);
      await (await ctx.client()).addCollaborator(app, principal);
      ctx.out(`Added ${principal} as a collaborator on ${app}\n`);
    });

  appCommand(program, 'apps:collaborators:remove', 'remove a collaborator from an app (owner)')
    .argument('<principal>', 'user:NAME or group:NAME')
    .action(async (arg: string, opts: AppOptions) => {
      const principal = parsePrincipalArg(arg);
      const app = await ctx.app(opts);
      await (await ctx.client()).removeCollaborator(app, principal);
      ctx.out(`Removed collaborator ${principal} from ${app}\n`);
    });

  appCommand(program, 'access', 'show who may open an app')
    .option('--json', 'output JSON')
    .action(async (opts: AppOptions) => {
      const app = await ctx.app(opts);
      const a = await (await ctx.client()).getAccess(app);
      if (opts.json) return ctx.out(json(a));
      ctx.out(heading(`${app} Access`));
      ctx.out(keyValues([['Visibility', `${a.visibility} (${VISIBILITY_MEANS[a.visibility] ?? '?'})`]]));
      if (a.owner === null) ctx.out(noOwner(app));
      const rows = [...who(a), ...a.viewers.map((p) => [p, 'viewer'])];
      ctx.out(table(rows, ['Principal', 'Access']));
    });

  appCommand(program, 'access:add', 'let a user or group open a restricted app')
    .argument('<principal>', 'user:NAME or group:NAME')
    .action(async (arg: string, opts: AppOptions) => {
      const principal = parsePrincipalArg(arg);
      const app = await ctx.app(opts);
      const a = await (await ctx.client()).addViewer(app, principal);
      ctx.out(`Added viewer ${principal} to ${app}\n`);
      visibilityHint(app, a);
    });

  appCommand(program, 'access:remove', 'remove a viewer from an app')
    .argument('<principal>', 'user:NAME or group:NAME')
    .action(async (arg: string, opts: AppOptions) => {
      const principal = parsePrincipalArg(arg);
      const app = await ctx.app(opts);
      const a = await (await ctx.client()).removeViewer(app, principal);
      ctx.out(`Removed viewer ${principal} from ${app}\n`);
      visibilityHint(app, a);
    });

  appCommand(program, 'access:visibility', 'set who may open an app: public, authenticated or restricted')
    .argument('<visibility>', 'public, authenticated or restricted')
    .action(async (arg: string, opts: AppOptions) => {
      const visibility = parseVisibility(arg);
      const app = await ctx.app(opts);
      const a = await (await ctx.client()).setVisibility(app, visibility);
      ctx.out(`${app} is now ${a.visibility}: ${VISIBILITY_MEANS[a.visibility] ?? '?'}\n`);
    });

  /** Viewers only matter for restricted apps: say so instead of letting it look like it worked. */
  function visibilityHint(app: string, a: AccessSettings): void {
    if (a.visibility !== 'restricted') {
      ctx.io.stderr.write(
        `Note: ${app} is ${a.visibility}, so viewers make no difference until ` +
          `gantry access:visibility restricted -a ${app}\n`,
      );
    }
  }
}
