/** ps, ps:scale, ps:restart. */
import type { Command } from 'commander';
import { ApiError, type ProcessInfo, type ScalingInfo } from '../client.js';
import { appCommand, type AppOptions, type Context } from '../context.js';
import { heading, json, table, UsageError } from '../io.js';
import { formatDuration, formatMemory } from '../units.js';

export const PROCESS_HEADERS = ['Process', 'State', 'Release', 'Restarts', 'Uptime', 'CPU', 'Memory'];

/** `running`, `crashed (exit 1)`, `running, 2 OOM kills`. */
function stateText(p: ProcessInfo): string {
  const exit =
    p.state === 'crashed' && p.lastExit ? ` (${p.lastExit.signal ?? `exit ${p.lastExit.code}`})` : '';
  const oom = p.oomKills ? `, ${p.oomKills} OOM kill${p.oomKills === 1 ? '' : 's'}` : '';
  return `${p.state}${exit}${oom}`;
}

/** Rows of `ps`: `type.N` (the app is in the heading), uptime while running, last CPU and memory sample. */
export function processRows(processes: ProcessInfo[], now = Date.now()): string[][] {
  return processes.map((p) => {
    const up = p.state === 'running' && p.startedAt ? formatDuration(now - Date.parse(p.startedAt)) : '';
    return [
      `${p.type}.${p.index}`,
      stateText(p),
      `v${p.release}`,
      String(p.restarts),
      up,
      p.usage ? `${p.usage.cpuPercent.toFixed(1)}%` : '',
      formatMemory(p.usage?.memoryBytes, p.limits?.memoryBytes),
    ];
  });
}

/** The scaling state, or undefined from a server without it (older versions answer 404 for the route). */
async function scalingOf(ctx: Context, app: string): Promise<ScalingInfo | undefined> {
  try {
    return await (await ctx.client()).getScaling(app);
  } catch (e) {
    if (e instanceof ApiError && e.code === 'GANTRY_NOT_FOUND') return undefined;
    throw e;
  }
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
      const client = await ctx.client();
      const [processes, scaling] = await Promise.all([client.listProcesses(app), scalingOf(ctx, app)]);
      if (opts.json) return ctx.out(json(processes));
      const asleep = scaling?.state === 'asleep' ? 'web: asleep — wakes on the next request\n' : '';
      if (processes.length === 0) return ctx.out(asleep || `${app} has no running processes\n`);
      ctx.out(heading(`${app} Processes`));
      ctx.out(table(processRows(processes), PROCESS_HEADERS));
      ctx.out(asleep);
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
