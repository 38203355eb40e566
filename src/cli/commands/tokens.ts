/** tokens, tokens:create, tokens:revoke. */
import type { Command } from 'commander';
import { parseExpires, parseName, parseScopeArg } from '../args.js';
import type { Context } from '../context.js';
import { ago, heading, json, table, until, UsageError } from '../io.js';

interface UserOption {
  user?: string;
}

const userOpt = (opts: UserOption): string | undefined =>
  opts.user === undefined ? undefined : parseName('username', opts.user);

const today = (): string => new Date().toISOString().slice(0, 10);

export function registerTokens(program: Command, ctx: Context): void {
  program
    .command('tokens')
    .description("list your API tokens (admins: anyone's, with --user)")
    .option('--user <name>', "another user's tokens (admin)")
    .option('--json', 'output JSON')
    .action(async (opts: UserOption & { json?: boolean }) => {
      const user = userOpt(opts);
      const tokens = await (await ctx.client()).listTokens(user);
      if (opts.json) return ctx.out(json(tokens));
      if (tokens.length === 0) return ctx.out('No API tokens. Create one with: gantry tokens:create\n');
      ctx.out(heading(user ? `API tokens of ${user}` : 'API tokens'));
      ctx.out(
        table(
          tokens.map((t) => [
            t.id,
            t.name,
            t.scope,
            ago(t.createdAt),
            t.lastUsedAt ? ago(t.lastUsedAt) : 'never',
            until(t.expiresAt),
          ]),
          ['ID', 'Name', 'Scope', 'Created', 'Last used', 'Expires'],
        ),
      );
    });

  program
    .command('tokens:create')
    .description('create an API token (for CI or scripts); it is printed once')
    .option('-n, --name <name>', 'what the token is for', `token-${today()}`)
    .option('-s, --scope <scope>', 'full, read (GET only) or app:NAME (one app only)', 'full')
    .option('--expires <duration>', 'e.g. 30d, 12h, 90m, 2w, or never', 'never')
    .option('--user <name>', 'create it for another user (admin)')
    .option('--json', 'output JSON (token and info)')
    .action(async (opts: UserOption & { name: string; scope: string; expires: string; json?: boolean }) => {
      if (opts.name.trim() === '') throw new UsageError('--name must not be empty');
      const scope = parseScopeArg(opts.scope);
      const expiresIn = parseExpires(opts.expires);
      const user = userOpt(opts);
      const created = await (
        await ctx.client()
      ).createToken({ name: opts.name, scope, ...(expiresIn === undefined ? {} : { expiresIn }) }, user);
      if (opts.json) return ctx.out(json(created));
      const { info } = created;
      // Only the token goes to stdout, so TOKEN=$(gantry tokens:create) works.
      ctx.io.stderr.write(
        `Created token ${info.id} "${info.name}" (scope ${info.scope}, ` +
          `expires ${info.expiresAt ? `${info.expiresAt}, ${until(info.expiresAt)}` : 'never'})\n`,
      );
      ctx.out(`${created.token}\n`);
      ctx.io.stderr.write('Store it now; it is not shown again.\n');
    });

  program
    .command('tokens:revoke')
    .description('revoke an API token by its ID (see gantry tokens)')
    .argument('<id>', 'token ID')
    .option('--user <name>', "revoke another user's token (admin)")
    .action(async (id: string, opts: UserOption) => {
      if (id.trim() === '') throw new UsageError('give the token ID (see gantry tokens)');
      await (await ctx.client()).revokeToken(id, userOpt(opts));
      ctx.out(`Revoked token ${id}\n`);
    });
}
