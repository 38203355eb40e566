/** autoscale, autoscale:set, ps:sleep, ps:wake: scale to zero and autoscaling of web processes. */
import type { Command } from 'commander';
import { MAX_IDLE_TIMEOUT_MS, MIN_IDLE_TIMEOUT_MS } from '../../api/index.js';
import type { ScalingChange, ScalingInfo } from '../client.js';
import { appCommand, type AppOptions, type Context } from '../context.js';
import { heading, json, keyValues, UsageError } from '../io.js';
import { formatDuration, parseDuration, parseWhole } from '../units.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 'es'}`;

/** One line about the web processes: awake and how many, asleep, waking, or not deployed. */
export function stateLine(s: Pick<ScalingInfo, 'state' | 'replicas' | 'desired'>): string {
  switch (s.state) {
    case 'asleep':
      return 'asleep — wakes on the next request';
    case 'waking':
      return 'waking';
    case 'stopped':
      return 'stopped (not deployed)';
    default:
      return `awake, ${plural(s.replicas, 'web process')}${s.desired === s.replicas ? '' : `, scaling to ${s.desired}`}`;
  }
}

/** The settings, each marked `(set)` for this app or `(default)` for the server's. */
export function scalingText(app: string, info: ScalingInfo): string {
  const { settings: s, custom } = info;
  const mark = (k: keyof ScalingInfo['settings']): string => (custom.includes(k) ? '(set)' : '(default)');
  const floor = Math.max(1, s.min);
  return (
    heading(`${app} Autoscaling`) +
    keyValues([
      ['State', stateLine(info)],
      ['Min', `${s.min} ${mark('min')}${s.min === 0 ? ' — sleeps when idle' : ' — never sleeps'}`],
      [
        'Max',
        s.max === null
          ? `none ${mark('max')} — not autoscaled: runs the formation's web count (ps:scale web=N)`
          : `${s.max} ${mark('max')} — autoscaled between ${floor} and ${s.max}`,
      ],
      ['Concurrency', `${s.concurrency} ${mark('concurrency')} — in-flight requests per process`],
      [
        'Idle timeout',
        `${formatDuration(s.idleTimeoutMs)} ${mark('idleTimeoutMs')}${s.min > 0 ? ' — unused while min ≥ 1' : ''}`,
      ],
      [
        'Affinity',
        `${s.affinity ? 'on' : 'off'} ${mark('affinity')}${s.affinity ? ' — a browser sticks to one process' : ''}`,
      ],
      ['Server limit', `${info.maxReplicas} web processes`],
    ])
  );
}

interface SetOptions extends AppOptions {
  min?: string;
  max?: string;
  concurrency?: string;
  idleTimeout?: string;
  affinity?: string;
}

const isDefault = (v: string): boolean => v === 'default';

/** The options of autoscale:set → the change to send; `default` resets a setting. */
export function scalingChange(opts: SetOptions): ScalingChange {
  const change: ScalingChange = {};
  if (opts.min !== undefined)
    change.min = isDefault(opts.min) ? null : parseWhole('--min', opts.min, 0, 1000);
  if (opts.max !== undefined) {
    change.max = isDefault(opts.max) || opts.max === 'none' ? null : parseWhole('--max', opts.max, 1, 1000);
  }
  if (opts.concurrency !== undefined) {
    change.concurrency = isDefault(opts.concurrency)
      ? null
      : parseWhole('--concurrency', opts.concurrency, 1, 100_000);
  }
  if (opts.idleTimeout !== undefined) {
    if (/^(none|never|off)$/.test(opts.idleTimeout)) {
      throw new UsageError(
        'to keep an app from sleeping, set --min 1 (--idle-timeout takes a duration like 15m)',
      );
    }
    if (!isDefault(opts.idleTimeout)) {
      const ms = parseDuration('--idle-timeout', opts.idleTimeout);
      if (ms < MIN_IDLE_TIMEOUT_MS || ms > MAX_IDLE_TIMEOUT_MS) {
        throw new UsageError('--idle-timeout must be from 1s to 7d');
      }
      change.idleTimeoutMs = ms;
    } else {
      change.idleTimeoutMs = null;
    }
  }
  if (opts.affinity !== undefined) {
    const a = opts.affinity;
    if (!/^(on|off|default)$/.test(a))
      throw new UsageError(`--affinity expects on, off or default; got "${a}"`);
    change.affinity = a === 'default' ? null : a === 'on';
  }
  if (Object.keys(change).length === 0) {
    throw new UsageError('give at least one of --min, --max, --concurrency, --idle-timeout, --affinity');
  }
  const { min, max } = change;
  if (typeof min === 'number' && typeof max === 'number' && min > max) {
    throw new UsageError(`--min (${min}) must not be above --max (${max})`);
  }
  return change;
}

export function registerAutoscale(program: Command, ctx: Context): void {
  appCommand(program, 'autoscale', 'show scale-to-zero and autoscaling settings, state and replicas')
    .option('--json', 'output JSON')
    .action(async (opts: AppOptions) => {
      const app = await ctx.app(opts);
      const info = await (await ctx.client()).getScaling(app);
      ctx.out(opts.json ? json(info) : scalingText(app, info));
    });

  appCommand(
    program,
    'autoscale:set',
    'change scaling settings ("default" puts one back to the server default)',
  )
    .option('--min <n>', 'fewest web processes; 0 = sleep when idle, wake on the next request')
    .option('--max <n>', 'most web processes (autoscaled by load); "none" = not autoscaled')
    .option('--concurrency <n>', 'target in-flight requests per process before adding one')
    .option(
      '--idle-timeout <duration>',
      'sleep after this long without requests (only with --min 0), e.g. 15m',
    )
    .option('--affinity <on|off>', 'keep each browser on one process (Shiny, Streamlit, Bokeh)')
    .option('--json', 'output JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  gantry autoscale:set -a sales --min 0 --max 4 --idle-timeout 30m\n  gantry autoscale:set -a sales --max none',
    )
    .action(async (opts: SetOptions) => {
      const change = scalingChange(opts);
      const app = await ctx.app(opts);
      const info = await (await ctx.client()).setScaling(app, change);
      ctx.out(opts.json ? json(info) : scalingText(app, info));
    });

  appCommand(program, 'ps:sleep', "stop an app's web processes now; it wakes on the next request").action(
    async (opts: AppOptions) => {
      const app = await ctx.app(opts);
      await (await ctx.client()).sleep(app);
      ctx.out(`${app} is asleep: it wakes on the next request\n`);
    },
  );

  appCommand(program, 'ps:wake', 'start a sleeping app now (returns once it serves)').action(
    async (opts: AppOptions) => {
      const app = await ctx.app(opts);
      const info = await (await ctx.client()).wake(app);
      ctx.out(`${app} is ${stateLine(info)}\n`);
    },
  );
}
