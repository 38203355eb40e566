/** login, logout, whoami. */
import type { Command } from 'commander';
import { hostname } from 'node:os';
import { ApiClient } from '../client.js';
import { loadCredentials, removeCredentials, saveCredentials } from '../credentials.js';
import type { Context } from '../context.js';
import { json, keyValues, until, UsageError } from '../io.js';
import type { WhoAmI } from '../client.js';

export function registerAuth(program: Command, ctx: Context): void {
  program
    .command('login')
    .description('log in to a Gantry server and store an API token')
    .argument('[url]', 'server URL, e.g. https://gantry.example.com')
    .option('-u, --username <name>', 'username (prompted if missing)')
    .option('-p, --password <password>', 'password (prompted without echo if missing)')
    .action(async (urlArg: string | undefined, opts: { username?: string; password?: string }) => {
      const url = urlArg ?? (await loadCredentials(ctx.io.env)).url;
      if (!url) throw new UsageError('give the server URL: gantry login URL');
      const client = new ApiClient({ url });
      const username = opts.username ?? (await ctx.prompter.ask('Username: '));
      const password = opts.password ?? (await ctx.prompter.ask('Password: ', { secret: true }));
      const { token } = await client.login({ username, password, tokenName: `cli@${hostname()}` });
      const path = await saveCredentials(ctx.io.env, { url: client.url, token });
      ctx.out(`Logged in to ${client.url} as ${username}\n`);
      ctx.io.stderr.write(`Token saved in ${path}\n`);
    });

  program
    .command('logout')
    .description('forget the stored API token')
    .action(async () => {
      const had = await removeCredentials(ctx.io.env);
      ctx.out(had ? 'Logged out\n' : 'Not logged in\n');
    });

  program
    .command('whoami')
    .description('show the logged-in user')
    .option('--json', 'output JSON')
    .action(async (opts: { json?: boolean }) => {
      const client = await ctx.client();
      const me = await client.whoami();
      if (opts.json) return ctx.out(json(me));
      ctx.out(`${me.username} (${me.role}) on ${client.url}\n`);
      ctx.out(keyValues(whoamiDetails(me)));
    });
}

/** The lines under `NAME (ROLE) on URL`; only what the server told (older servers send less). */
export function whoamiDetails(me: WhoAmI): [string, string][] {
  const lines: [string, string][] = [];
  if (me.email) lines.push(['Email', me.email]);
  if (me.groups) lines.push(['Groups', me.groups.length > 0 ? me.groups.join(', ') : '—']);
  if (me.token) {
    const t = me.token;
    const expires = t.expiresAt ? `expires ${until(t.expiresAt)}` : 'never expires';
    lines.push(['Token', `${t.name ? `${t.name} ` : ''}(${t.id}), scope ${t.scope}, ${expires}`]);
  } else if (me.via) {
    lines.push(['Via', me.via]);
  }
  return lines;
}
