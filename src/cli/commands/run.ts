/** run -- CMD ARGS…: a one-off command in the app's sandbox, output streamed, exit status passed through. */
import type { Command } from 'commander';
import { constants } from 'node:os';
import { MAX_ARGS, MAX_ARGV_BYTES } from '../../api/index.js';
import type { StreamMessage } from '../client.js';
import { appCommand, type AppOptions, type Context } from '../context.js';
import { ExitStatus, UsageError } from '../io.js';

type Final = Exclude<StreamMessage, { output: string }>;

/**
 * Writes the output of a run stream to stdout and returns its final line.
 * An `error` line is thrown as it is; a stream that ends without a final line
 * is an error too (the outcome is unknown).
 */
export async function followStream(ctx: Context, stream: AsyncIterable<StreamMessage>): Promise<Final> {
  let final: Final | undefined;
  for await (const m of stream) {
    if ('output' in m) ctx.out(m.output);
    else if ('error' in m) throw new Error(m.error.message);
    else final = m;
  }
  if (!final) throw new Error('the connection ended before the command finished: its outcome is unknown');
  return final;
}

/** A shell's exit status: the code, or 128 + the signal's number when killed by one. */
export function exitStatus(exit: { code: number | null; signal: string | null }): number {
  if (exit.code !== null) return exit.code;
  const n = exit.signal ? constants.signals[exit.signal as keyof typeof constants.signals] : undefined;
  return n === undefined ? 1 : 128 + n;
}

/** Throws ExitStatus for a non-zero status, with a note when a signal ended the command. */
export function passThrough(exit: { code: number | null; signal: string | null }): void {
  const status = exitStatus(exit);
  if (status === 0) return;
  throw new ExitStatus(status, exit.code === null ? `killed by ${exit.signal ?? 'a signal'}` : '');
}

export function checkArgv(argv: string[]): string[] {
  if (argv.length === 0 || argv[0] === '') throw new UsageError('give the command to run after --');
  if (argv.length > MAX_ARGS) throw new UsageError(`at most ${MAX_ARGS} arguments`);
  const bytes = argv.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0);
  if (bytes > MAX_ARGV_BYTES) throw new UsageError(`the command is longer than ${MAX_ARGV_BYTES} bytes`);
  return argv;
}

export function registerRun(program: Command, ctx: Context): void {
  appCommand(program, 'run', "run a one-off command with the app's release and config")
    .argument('<command...>', 'the command and its arguments, after --')
    .passThroughOptions()
    .addHelpText(
      'after',
      "\nOutput (stdout and stderr) streams to stdout; gantry exits with the command's exit code\n" +
        '(128 + the signal number when a signal killed it). No terminal: the command gets no input.\n\n' +
        'Examples:\n  gantry run -a sales -- python manage.py migrate\n  gantry run -a sales -- ls -la /app',
    )
    .action(async (argv: string[], opts: AppOptions) => {
      checkArgv(argv);
      const app = await ctx.app(opts);
      const client = await ctx.client();
      const final = await followStream(ctx, client.run(app, argv, ctx.io.signal));
      if (!('exit' in final)) throw new Error('unexpected reply from the server: no exit status');
      passThrough(final.exit);
    });
}
