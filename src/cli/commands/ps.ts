/** ps, ps:scale, ps:restart. */
import type { Command } from 'commander';
import type { ProcessInfo } from '../client.js';
import { appCommand, type AppOptions, type Context } from '../context.js';
import { ago, heading, json, table, UsageError } from '../io.js';

export const PROCESS_HEADERS = ['Process', 'State', 'Release', 'Port', 'Restarts', 'Since'];

export function processRows(processes: ProcessInfo[]): string[][] {
  return processes.map((p) => [
    p.name,
    p.state,
    `v${p.release}`,
    p.port === undefined ? '' : String(p.port),
    String(p.restarts),
    ago(p.startedAt),
  ]);
}

/** `web=2 worker=0` → { web: 2, worker: 0 }; anything else is a usage error. */
export function parseFormation(args: string[]): Record<string, number> {
  const formation: Record<string, number> = {};
  for (const arg of args) {
    const m = /^([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)=(\d{1,4})$/.exec(arg);
    if (!m) throw new UsageError(`expected TYPE=COUNT (e.g. web=2), got "${arg}"`);
    formation[m[1]!] = Number(m[2]);
  }
  return formation;
}

export function registerPs(program: Command, ctx: Context): void {
  appCommand(program, 'ps', "list an app's processes")
    .option('--json', 'output JSON')
    .action(async (opts: AppOptions) => {
      const app = await ctx.app(opts);
      const processes = await (await ctx.client()).listProcesses(app);
      if (opts.json) return ctx.out(json(processes));
      if (processes.length === 0) return ctx.out(`${app} has no running processes\n`);
      ctx.out(heading(`${app} Processes`));
      ctx.out(table(processRows(processes), PROCESS_HEADERS));
    });

  appCommand(program, 'ps:scale', 'set how many processes of each type run')
    .argument('<formation...>', 'TYPE=COUNT pairs, e.g. web=2 worker=1')
    .option('--json', 'output JSON')
    .action(async (args: string[], opts: AppOptions) => {
      const formation = parseFormation(args);
      const app = await ctx.app(opts);
      const now = await (await ctx.client()).scale(app, formation);
      if (opts.json) return ctx.out(json(now));
      const summary = Object.entries(now)
        .map(([t, n]) => `${t} at ${n}`)
        .join(', ');
      ctx.out(`Scaled ${app}: now running ${summary}\n`);
    });

  appCommand(program, 'ps:restart', "restart an app's processes one by one")
    .argument('[type]', 'only this process type')
    .action(async (type: string | undefined, opts: AppOptions) => {
      const app = await ctx.app(opts);
      await (await ctx.client()).restart(app, type);
      ctx.out(`Restarted ${type ? `${type} processes of ` : ''}${app}\n`);
    });
}
