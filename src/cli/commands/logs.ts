/** logs [-n N] [-f]. */
import type { Command } from 'commander';
import { appCommand, type AppOptions, type Context } from '../context.js';
import { UsageError } from '../io.js';

export function registerLogs(program: Command, ctx: Context): void {
  appCommand(program, 'logs', "show an app's recent log lines")
    .option('-n, --num <lines>', 'how many lines', '100')
    .option('-f, --follow', 'keep streaming new lines')
    .action(async (opts: AppOptions & { num: string; follow?: boolean }) => {
      if (!/^\d{1,5}$/.test(opts.num))
        throw new UsageError(`-n expects a number of lines, got "${opts.num}"`);
      const app = await ctx.app(opts);
      const client = await ctx.client();
      try {
        for await (const chunk of client.logs(app, {
          lines: Number(opts.num),
          follow: opts.follow === true,
          signal: ctx.io.signal,
        })) {
          ctx.out(chunk);
        }
      } catch (e) {
        // Stopped on purpose (Ctrl-C, or the caller's signal): not an error.
        if (ctx.io.signal?.aborted) return;
        throw e;
      }
    });
}
