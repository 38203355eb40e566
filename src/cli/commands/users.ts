/** users, users:create, users:set-role, users:set-password, users:destroy, groups, groups:*. (admin) */
import type { Command } from 'commander';
import { parseEmail, parseName, parseRole } from '../args.js';
import type { Context } from '../context.js';
import { ago, heading, json, readAll, table, UsageError } from '../io.js';

const list = (items: readonly string[]): string => (items.length > 0 ? items.join(', ') : '—');

/**
 * The password of `--password P`; `--password -` reads it from stdin; without
 * the option it is asked twice (no echo) when stdin is a terminal, else none.
 */
async function passwordFrom(ctx: Context, opt: string | undefined): Promise<string | undefined> {
  if (opt === '-') {
    const text = (await readAll(ctx.io.stdin)).replace(/\r?\n$/, '');
    if (text === '') throw new UsageError('--password -: stdin was empty');
    return text;
  }
  if (opt !== undefined) {
    if (opt === '') throw new UsageError('--password must not be empty');
    return opt;
  }
  if (!ctx.io.stdin.isTTY) return undefined;
  const first = await ctx.prompter.ask('Password (empty for none): ', { secret: true });
  if (first === '') return undefined;
  const again = await ctx.prompter.ask('Password again: ', { secret: true });
  if (again !== first) throw new Error('the passwords do not match: nothing changed');
  return first;
}

export function registerUsers(program: Command, ctx: Context): void {
  program
    .command('users')
    .description('list users (admin)')
    .option('--json', 'output JSON')
    .action(async (opts: { json?: boolean }) => {
      const users = await (await ctx.client()).listUsers();
      if (opts.json) return ctx.out(json(users));
      ctx.out(heading('Users'));
      ctx.out(
        table(
          users.map((u) => [u.username, u.role, u.email ?? '', list(u.groups), u.source, ago(u.createdAt)]),
          ['Username', 'Role', 'Email', 'Groups', 'Source', 'Created'],
        ),
      );
    });

  program
    .command('users:create')
    .description('create a local user (admin)')
    .argument('<name>', 'username')
    .requiredOption('-r, --role <role>', 'admin, developer or viewer')
    .option('-p, --password <password>', 'password; "-" reads it from stdin (prompted in a terminal)')
    .option('-e, --email <email>', 'email address')
    .option('--json', 'output JSON')
    .action(
      async (name: string, opts: { role: string; password?: string; email?: string; json?: boolean }) => {
        const username = parseName('username', name);
        const role = parseRole(opts.role);
        const email = opts.email === undefined ? undefined : parseEmail(opts.email);
        const client = await ctx.client();
        const password = await passwordFrom(ctx, opts.password);
        const user = await client.createUser({ username, role, password, email });
        if (opts.json) return ctx.out(json(user));
        ctx.out(`Created ${user.username} (${user.role})\n`);
        if (password === undefined) {
          ctx.io.stderr.write(
            `No password set: ${user.username} can log in only through single sign-on ` +
              `(or set one with gantry users:set-password ${user.username})\n`,
          );
        }
      },
    );

  program
    .command('users:set-role')
    .description("change a user's role (admin)")
    .argument('<name>', 'username')
    .argument('<role>', 'admin, developer or viewer')
    .action(async (name: string, roleArg: string) => {
      const username = parseName('username', name);
      const role = parseRole(roleArg);
      const user = await (await ctx.client()).updateUser(username, { role });
      ctx.out(`${user.username} is now ${user.role}\n`);
    });

  program
    .command('users:set-password')
    .description("set a local user's password (admin)")
    .argument('<name>', 'username')
    .option('-p, --password <password>', 'password; "-" reads it from stdin (prompted in a terminal)')
    .action(async (name: string, opts: { password?: string }) => {
      const username = parseName('username', name);
      const client = await ctx.client();
      const password = await passwordFrom(ctx, opts.password);
      if (password === undefined) {
        throw new UsageError('give the password: --password P, or --password - to read it from stdin');
      }
      await client.updateUser(username, { password });
      ctx.out(`Password of ${username} changed\n`);
    });

  program
    .command('users:destroy')
    .description('delete a user with their tokens, sessions and SSH keys (admin)')
    .argument('<name>', 'username')
    .option('--confirm <name>', 'the username, to skip the question')
    .action(async (name: string, opts: { confirm?: string }) => {
      const username = parseName('username', name);
      const client = await ctx.client();
      let answer = opts.confirm;
      if (answer === undefined) {
        ctx.io.stderr.write(
          `This deletes ${username} with their tokens, sessions and SSH keys; their apps stay, without owner.\n`,
        );
        answer = (await ctx.prompter.ask(`Type the username (${username}) to confirm: `)).trim();
      }
      if (answer !== username) {
        throw new Error(`confirmation "${answer}" does not match ${username}: nothing deleted`);
      }
      await client.destroyUser(username);
      ctx.out(`Deleted ${username}\n`);
    });

  program
    .command('groups')
    .description('list groups and their members (admin)')
    .option('--json', 'output JSON')
    .action(async (opts: { json?: boolean }) => {
      const groups = await (await ctx.client()).listGroups();
      if (opts.json) return ctx.out(json(groups));
      if (groups.length === 0) return ctx.out('No groups yet. Create one with: gantry groups:create NAME\n');
      ctx.out(heading('Groups'));
      ctx.out(
        table(
          groups.map((g) => [g.name, g.source, ago(g.createdAt), list(g.members)]),
          ['Group', 'Source', 'Created', 'Members'],
        ),
      );
    });

  program
    .command('groups:create')
    .description('create a group (admin)')
    .argument('<group>', 'group name')
    .action(async (arg: string) => {
      const group = await (await ctx.client()).createGroup(parseName('group name', arg));
      ctx.out(`Created group ${group.name}\n`);
    });

  program
    .command('groups:destroy')
    .description('delete a group; its app grants go with it (admin)')
    .argument('<group>', 'group name')
    .action(async (arg: string) => {
      const name = parseName('group name', arg);
      await (await ctx.client()).destroyGroup(name);
      ctx.out(`Deleted group ${name}\n`);
    });

  program
    .command('groups:add')
    .description('add a user to a group (admin)')
    .argument('<group>', 'group name')
    .argument('<user>', 'username')
    .action(async (g: string, u: string) => {
      const group = await (
        await ctx.client()
      ).addToGroup(parseName('group name', g), parseName('username', u));
      ctx.out(`Added ${u} to ${group.name} (members: ${list(group.members)})\n`);
    });

  program
    .command('groups:remove')
    .description('remove a user from a group (admin)')
    .argument('<group>', 'group name')
    .argument('<user>', 'username')
    .action(async (g: string, u: string) => {
      const group = await (
        await ctx.client()
      ).removeFromGroup(parseName('group name', g), parseName('username', u));
      ctx.out(`Removed ${u} from ${group.name} (members: ${list(group.members)})\n`);
    });
}
