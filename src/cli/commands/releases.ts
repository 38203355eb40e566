/** releases, rollback, builds, builds:log. */
import type { Command } from 'commander';
import { appCommand, type AppOptions, type Context } from '../context.js';
import { ago, heading, json, table, UsageError } from '../io.js';

/** `v3` or `3` → 3. */
export function parseVersion(arg: string): number {
  const m = /^v?(\d{1,9})$/.exec(arg);
  if (!m || Number(m[1]) < 1) throw new UsageError(`expected a release version like v3, got "${arg}"`);
  return Number(m[1]);
}

export function registerReleases(program: Command, ctx: Context): void {
  appCommand(program, 'releases', "list an app's releases")
    .option('--json', 'output JSON')
    .action(async (opts: AppOptions) => {
      const app = await ctx.app(opts);
      const releases = await (await ctx.client()).listReleases(app);
      if (opts.json) return ctx.out(json(releases));
      if (releases.length === 0) return ctx.out(`${app} has no releases yet\n`);
      ctx.out(heading(`${app} Releases`));
      ctx.out(
        table(
          releases.map((r) => [
            `v${r.version}${r.current ? ' *' : ''}`,
            r.description,
            r.commit?.slice(0, 7) ?? '',
            ago(r.createdAt),
          ]),
          ['Version', 'Description', 'Commit', 'Created'],
        ),
      );
    });

  appCommand(program, 'rollback', 'go back to an earlier release (default: the previous one)')
    .argument('[version]', 'e.g. v3')
    .action(async (arg: string | undefined, opts: AppOptions) => {
      const version = arg === undefined ? undefined : parseVersion(arg);
      const app = await ctx.app(opts);
      const release = await (await ctx.client()).rollback(app, version);
      ctx.out(`Rolled back ${app}: ${release.description}, now v${release.version}\n`);
    });

  appCommand(program, 'builds', "list an app's builds")
    .option('--json', 'output JSON')
    .action(async (opts: AppOptions) => {
      const app = await ctx.app(opts);
      const builds = await (await ctx.client()).listBuilds(app);
      if (opts.json) return ctx.out(json(builds));
      if (builds.length === 0) return ctx.out(`${app} has no builds yet\n`);
      ctx.out(heading(`${app} Builds`));
      ctx.out(
        table(
          builds.map((b) => [
            b.id,
            b.status,
            b.releaseVersion === null ? '' : `v${b.releaseVersion}`,
            b.commit?.slice(0, 7) ?? '',
            ago(b.startedAt),
            b.error ?? '',
          ]),
          ['Build', 'Status', 'Release', 'Commit', 'Started', 'Error'],
        ),
      );
    });

  appCommand(program, 'builds:log', 'print the full output of one build')
    .argument('<id>')
    .action(async (id: string, opts: AppOptions) => {
      const app = await ctx.app(opts);
      ctx.out(await (await ctx.client()).buildLog(app, id));
    });
}
