/** config, config:get, config:set, config:unset. */
import type { Command } from 'commander';
import type { ReleaseInfo } from '../client.js';
import { appCommand, type AppOptions, type Context } from '../context.js';
import { heading, json, keyValues, UsageError } from '../io.js';

/** `KEY=VALUE` → [KEY, VALUE]; the value may contain `=`. */
export function parseAssignment(arg: string): [string, string] {
  const at = arg.indexOf('=');
  if (at <= 0) throw new UsageError(`expected KEY=VALUE, got "${arg}"`);
  return [arg.slice(0, at), arg.slice(at + 1)];
}

/** Single-quotes a value for a POSIX shell when it needs it (`config --shell`). */
export function shellQuote(v: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]*$/.test(v) && v !== '' ? v : `'${v.replaceAll("'", `'\\''`)}'`;
}

function outcome(app: string, release: ReleaseInfo | null): string {
  return release
    ? `done, ${app} is now at v${release.version}\n`
    : 'done (takes effect on the first deploy)\n';
}

export function registerConfig(program: Command, ctx: Context): void {
  appCommand(program, 'config', "show an app's config vars")
    .option('--json', 'output JSON')
    .option('-s, --shell', 'output KEY=VALUE lines (for a .env file)')
    .action(async (opts: AppOptions & { shell?: boolean }) => {
      const app = await ctx.app(opts);
      const vars = await (await ctx.client()).getConfig(app);
      const keys = Object.keys(vars).sort();
      if (opts.json) return ctx.out(json(vars));
      if (opts.shell) return ctx.out(keys.map((k) => `${k}=${shellQuote(vars[k]!)}\n`).join(''));
      ctx.out(heading(`${app} Config Vars`));
      ctx.out(keyValues(keys.map((k) => [k, vars[k]!])));
    });

  appCommand(program, 'config:get', 'print the value of one config var')
    .argument('<key>')
    .action(async (key: string, opts: AppOptions) => {
      const vars = await (await ctx.client()).getConfig(await ctx.app(opts));
      if (!Object.hasOwn(vars, key)) throw new Error(`config var ${key} is not set`);
      ctx.out(`${vars[key]}\n`);
    });

  appCommand(program, 'config:set', 'set config vars (creates a release and restarts the app)')
    .argument('<assignments...>', 'KEY=VALUE pairs')
    .action(async (assignments: string[], opts: AppOptions) => {
      const set = Object.fromEntries(assignments.map(parseAssignment));
      const app = await ctx.app(opts);
      const client = await ctx.client();
      ctx.out(`Setting ${Object.keys(set).join(', ')} on ${app}... `);
      ctx.out(outcome(app, await client.updateConfig(app, { set })));
    });

  appCommand(program, 'config:unset', 'remove config vars (creates a release and restarts the app)')
    .argument('<keys...>')
    .action(async (keys: string[], opts: AppOptions) => {
      const app = await ctx.app(opts);
      const client = await ctx.client();
      ctx.out(`Unsetting ${keys.join(', ')} on ${app}... `);
      ctx.out(outcome(app, await client.updateConfig(app, { unset: keys })));
    });
}
