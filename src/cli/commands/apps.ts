/** apps, apps:create, apps:info, apps:destroy, git:remote. */
import type { Command } from 'commander';
import { appCommand, type AppOptions, type Context } from '../context.js';
import {
  DEFAULT_SSH_PORT,
  parseCredentialRequest,
  setCredentialHelper,
  setGantryRemote,
  sshRemoteUrl,
} from '../git.js';
import { loadCredentials } from '../credentials.js';
import { parsePort } from '../args.js';
import type { AppListEntry } from '../client.js';
import { ago, heading, json, keyValues, readAll, table } from '../io.js';
import { processRows, PROCESS_HEADERS } from './ps.js';

const version = (v: number | null): string => (v === null ? '—' : `v${v}`);

/** Owner and visibility lines of apps:info, when the server has access control. */
function access(app: AppListEntry): [string, string][] {
  if (app.visibility === undefined) return [];
  return [
    ['Owner', app.owner ?? '— (admins manage it)'],
    ['Visibility', app.visibility],
  ];
}

export function registerApps(program: Command, ctx: Context): void {
  program
    .command('apps')
    .description('list apps')
    .option('--json', 'output JSON')
    .action(async (opts: { json?: boolean }) => {
      const apps = await (await ctx.client()).listApps();
      if (opts.json) return ctx.out(json(apps));
      if (apps.length === 0) return ctx.out('No apps yet. Create one with: gantry apps:create NAME\n');
      ctx.out(heading('Apps'));
      // Servers with access control say whose each app is and what the caller may do with it.
      const withAccess = apps.some((a) => a.access !== undefined);
      const row = (a: AppListEntry): string[] =>
        withAccess
          ? [a.name, a.status, version(a.currentVersion), a.owner ?? '—', a.access ?? '', a.url]
          : [a.name, a.status, version(a.currentVersion), a.url];
      const headers = withAccess
        ? ['Name', 'Status', 'Release', 'Owner', 'Access', 'URL']
        : ['Name', 'Status', 'Release', 'URL'];
      ctx.out(table(apps.map(row), headers));
    });

  program
    .command('apps:create')
    .description('create an app')
    .argument('<name>', 'lowercase letters, digits and dashes')
    .option('--json', 'output JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      const app = await (await ctx.client()).createApp(name);
      if (opts.json) return ctx.out(json(app));
      ctx.out(`Created ${app.name}\n`);
      ctx.out(
        keyValues([
          ['URL', app.url],
          ['Git URL', app.gitUrl],
        ]),
      );
      ctx.out(
        `Deploy with: gantry deploy -a ${app.name}  (or gantry git:remote -a ${app.name} && git push gantry)\n`,
      );
    });

  appCommand(program, 'apps:info', 'show an app')
    .option('--json', 'output JSON')
    .action(async (opts: AppOptions) => {
      const app = await (await ctx.client()).getApp(await ctx.app(opts));
      if (opts.json) return ctx.out(json(app));
      const formation = Object.entries(app.formation)
        .map(([t, n]) => `${t}=${n}`)
        .join(' ');
      ctx.out(heading(app.name));
      ctx.out(
        keyValues([
          ['Status', app.status],
          ['Release', version(app.currentVersion)],
          ['URL', app.url],
          ['Git URL', app.gitUrl],
          ['Buildpack', app.buildpack ?? '—'],
          ['Framework', app.framework ?? '—'],
          ['Commit', app.commit?.slice(0, 12) ?? '—'],
          ['Formation', formation || '—'],
          ...access(app),
          ['Created', `${app.createdAt} (${ago(app.createdAt)})`],
          ['Updated', `${app.updatedAt} (${ago(app.updatedAt)})`],
        ]),
      );
      const types = Object.entries(app.processTypes);
      if (types.length > 0) {
        ctx.out('\n' + heading('Process types'));
        ctx.out(table(types));
      }
      if (app.processes.length > 0) {
        ctx.out('\n' + heading('Processes'));
        ctx.out(table(processRows(app.processes), PROCESS_HEADERS));
      }
    });

  appCommand(program, 'apps:destroy', 'destroy an app with its releases, processes and data')
    .option('--confirm <name>', 'the app name, to skip the question')
    .action(async (opts: AppOptions & { confirm?: string }) => {
      const name = await ctx.app(opts);
      const client = await ctx.client();
      let answer = opts.confirm;
      if (answer === undefined) {
        ctx.io.stderr.write(`This destroys ${name}: its processes, releases, config and data.\n`);
        answer = (await ctx.prompter.ask(`Type the app name (${name}) to confirm: `)).trim();
      }
      if (answer !== name)
        throw new Error(`confirmation "${answer}" does not match ${name}: nothing destroyed`);
      await client.destroyApp(name);
      ctx.out(`Destroyed ${name}\n`);
    });

  appCommand(program, 'git:remote', 'add a "gantry" git remote for the app to the repo in this directory')
    .option('--ssh', 'push over SSH with your key (see gantry keys:add) instead of HTTPS')
    .option('--ssh-port <port>', "the Gantry server's SSH port", String(DEFAULT_SSH_PORT))
    .action(async (opts: AppOptions & { ssh?: boolean; sshPort: string }) => {
      const port = parsePort('--ssh-port', opts.sshPort);
      const client = await ctx.client();
      const app = await client.getApp(await ctx.app(opts));
      const url = opts.ssh ? sshRemoteUrl(client.url, app.name, port) : app.gitUrl;
      const what = await setGantryRemote(ctx.io.cwd, url);
      ctx.out(`${what === 'added' ? 'Added' : 'Updated'} git remote gantry → ${url}\n`);
      if (opts.ssh) {
        ctx.out(
          'Deploy with: git push gantry HEAD:main  (git uses your SSH key; add it with gantry keys:add)\n',
        );
        return;
      }
      await setCredentialHelper(ctx.io.cwd, app.gitUrl);
      ctx.out('Deploy with: git push gantry HEAD:main  (git uses your gantry login token)\n');
    });

  program
    .command('git:credential', { hidden: true })
    .description('git credential helper: answers with the token of gantry login')
    .argument('<operation>', 'get, store or erase (only get answers)')
    .action(async (operation: string) => {
      if (operation !== 'get') return;
      const req = parseCredentialRequest(await readAll(ctx.io.stdin));
      const creds = await loadCredentials(ctx.io.env);
      if (!creds.url || !creds.token || !req.protocol || !req.host) return;
      // Only ever hand the token to the server it was issued by.
      if (new URL(creds.url).origin !== `${req.protocol}://${req.host}`) return;
      ctx.out(`username=gantry\npassword=${creds.token}\n`);
    });
}
