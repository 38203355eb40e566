/**
 * A stand-in for a command in an app's sandbox, for FakePlatform's one-off
 * runs and cron jobs: a handful of familiar programs, output in chunks as a
 * real process would give it, abortable. Nothing is ever executed.
 *
 * - `echo ARGS…`, `printenv NAME` (from the app's config), `true`, `false`, `exit N`
 * - `seq N`: the numbers 1..N, one output chunk each
 * - `sleep SECONDS`: waits (aborting ends it with SIGTERM)
 * - `kill SIGNAL`: ends as killed by that signal (e.g. SIGKILL, as an OOM kill would)
 * - anything else: `sh: 1: NAME: not found`, exit 127
 */
import type { OutputSink } from './platform.js';

export interface FakeExit {
  exitCode: number | null;
  signal: string | null;
}

function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const exited = (exitCode: number): FakeExit => ({ exitCode, signal: null });
const TERMINATED: FakeExit = { exitCode: null, signal: 'SIGTERM' };

export async function fakeShell(
  argv: readonly string[],
  env: Record<string, string>,
  output: OutputSink,
  signal?: AbortSignal,
): Promise<FakeExit> {
  if (signal?.aborted) return TERMINATED;
  const [program = '', ...args] = argv;
  // Like a process, output arrives after the start, never synchronously.
  await sleep(0);
  switch (program) {
    case 'echo':
      output(`${args.join(' ')}\n`);
      return exited(0);
    case 'printenv': {
      const value = env[args[0] ?? ''];
      if (value === undefined) return exited(1);
      output(`${value}\n`);
      return exited(0);
    }
    case 'true':
      return exited(0);
    case 'false':
      return exited(1);
    case 'exit':
      return exited(Number(args[0] ?? 0) & 0xff);
    case 'seq':
      for (let i = 1; i <= Number(args[0] ?? 0); i++) {
        if (signal?.aborted) return TERMINATED;
        output(`${i}\n`);
        await sleep(0);
      }
      return exited(0);
    case 'sleep':
      return (await sleep(Number(args[0] ?? 0) * 1000, signal)) ? exited(0) : TERMINATED;
    case 'kill':
      return { exitCode: null, signal: args[0] ?? 'SIGTERM' };
    default:
      output(`sh: 1: ${program}: not found\n`);
      return exited(127);
  }
}
