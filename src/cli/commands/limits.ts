/** limits, limits:set, limits:unset: memory, CPU and task limits per process type. */
import type { Command } from 'commander';
import { PROCESS_NAME_PATTERN } from '../../apps/index.js';
import type { ResourceLimits } from '../../runtime/types.js';
import type { LimitsInfo } from '../client.js';
import { appCommand, type AppOptions, type Context } from '../context.js';
import { heading, json, keyValues, table, UsageError } from '../io.js';
import { formatBytes, formatCpu, parseBytes, parseCpu, parseWhole } from '../units.js';

const KEYS = ['memoryBytes', 'cpu', 'pids'] as const;

function value(k: (typeof KEYS)[number], v: number | undefined): string {
  if (v === undefined) return 'unlimited';
  return k === 'memoryBytes' ? formatBytes(v) : k === 'cpu' ? formatCpu(v) : String(v);
}

/** `memory 512 MB, CPU 1 core, PIDs 1024`. */
export function limitsSummary(l: ResourceLimits): string {
  return `memory ${value('memoryBytes', l.memoryBytes)}, CPU ${value('cpu', l.cpu)}, PIDs ${value('pids', l.pids)}`;
}

export function limitsText(app: string, info: LimitsInfo): string {
  const rows = Object.entries(info.types).map(([type, l]) => [
    type,
    ...KEYS.map((k) => value(k, l[k]) + (info.custom[type]?.[k] === undefined ? '' : ' *')),
  ]);
  const enforced = info.enforced
    ? `yes${info.cgroup ? ` (cgroup ${info.cgroup})` : ''}`
    : `no — ${info.reason ?? 'this host cannot enforce limits'}`;
  return (
    heading(`${app} Resource Limits`) +
    (rows.length > 0
      ? table(rows, ['Type', 'Memory', 'CPU', 'PIDs']) +
        '* set for this app; the rest follow the server defaults\n\n'
      : 'No process types yet (deploy first, or set limits for a type)\n\n') +
    keyValues([
      ['Defaults', limitsSummary(info.defaults)],
      ['Maxima', limitsSummary(info.maxima)],
      ['Enforced', enforced],
    ])
  );
}

function processType(arg: string): string {
  if (!PROCESS_NAME_PATTERN.test(arg)) {
    throw new UsageError(
      `invalid process type "${arg}": use lowercase letters, digits and - (e.g. web, worker)`,
    );
  }
  return arg;
}

interface SetOptions extends AppOptions {
  memory?: string;
  cpu?: string;
  pids?: string;
}

/** The type's limits after the options: given ones replace, `default` drops one, the rest are kept. */
export function mergeLimits(current: ResourceLimits | undefined, opts: SetOptions): ResourceLimits {
  if (opts.memory === undefined && opts.cpu === undefined && opts.pids === undefined) {
    throw new UsageError('give at least one of --memory, --cpu, --pids');
  }
  const next: ResourceLimits = { ...current };
  const apply = <K extends keyof ResourceLimits>(
    k: K,
    arg: string | undefined,
    parse: (a: string) => number,
  ) => {
    if (arg === undefined) return;
    if (arg === 'default') delete next[k];
    else next[k] = parse(arg);
  };
  apply('memoryBytes', opts.memory, (a) => parseBytes('--memory', a));
  apply('cpu', opts.cpu, (a) => parseCpu('--cpu', a));
  apply('pids', opts.pids, (a) => parseWhole('--pids', a, 1, 4_194_304));
  return next;
}

export function registerLimits(program: Command, ctx: Context): void {
  appCommand(program, 'limits', 'show memory, CPU and task limits of each process type')
    .option('--json', 'output JSON')
    .action(async (opts: AppOptions) => {
      const app = await ctx.app(opts);
      const info = await (await ctx.client()).getLimits(app);
      ctx.out(opts.json ? json(info) : limitsText(app, info));
    });

  appCommand(program, 'limits:set', "set a process type's limits (its processes restart with them)")
    .argument('<type>', 'process type, e.g. web or worker')
    .option('--memory <size>', 'memory, e.g. 512M or 2G (over it the process is killed and restarted)')
    .option('--cpu <cores>', 'CPU cores, e.g. 0.5 or 2 (over it the process is slowed down)')
    .option('--pids <n>', 'most processes and threads at once')
    .option('--json', 'output JSON')
    .addHelpText('after', '\n"default" drops a limit back to the server default; limits not named are kept.')
    .action(async (typeArg: string, opts: SetOptions) => {
      const type = processType(typeArg);
      const app = await ctx.app(opts);
      const client = await ctx.client();
      const limits = mergeLimits((await client.getLimits(app)).custom[type], opts);
      const info =
        Object.keys(limits).length === 0
          ? await client.unsetLimits(app, type)
          : await client.setLimits(app, type, limits);
      if (opts.json) return ctx.out(json(info));
      ctx.out(`${type} processes of ${app} now run with ${limitsSummary(info.types[type] ?? {})}\n`);
      if (!info.enforced)
        ctx.out(`Note: this host does not enforce limits (${info.reason ?? 'no cgroups'})\n`);
    });

  appCommand(program, 'limits:unset', "put a process type's limits back to the server defaults")
    .argument('<type>', 'process type, e.g. web or worker')
    .option('--json', 'output JSON')
    .action(async (typeArg: string, opts: AppOptions) => {
      const type = processType(typeArg);
      const app = await ctx.app(opts);
      const info = await (await ctx.client()).unsetLimits(app, type);
      if (opts.json) return ctx.out(json(info));
      ctx.out(
        `${type} processes of ${app} follow the server defaults: ${limitsSummary(info.types[type] ?? info.defaults)}\n`,
      );
    });
}
