/**
 * The contract between the scheduler and whatever runs a job's process, and
 * how a run's ending becomes its recorded status and output.
 */

export interface JobRunRequest {
  app: string;
  appId: string;
  /** The entry's command, run by the sandbox's `/bin/sh -c`. */
  command: string;
  /** Process name for logs: `APP.cron.JOBID`. */
  name: string;
  onOutput: (text: string) => void;
  /** Aborted on timeout, cancellation or shutdown: stop the process, then resolve. */
  signal: AbortSignal;
}

export interface JobRunResult {
  exitCode: number | null;
  signal: string | null;
  /** Tail of the combined output. */
  output: string;
  oomKilled?: boolean;
}

/**
 * Runs one command in the app's sandbox with the serving release's slug, env
 * and limits (the server implements it with `runtime.runOnce`). Resolves when
 * the process has ended; a rejection is recorded as a failed run.
 */
export type JobRunner = (req: JobRunRequest) => Promise<JobRunResult>;

export interface RunVerdict {
  status: 'succeeded' | 'failed';
  exitCode: number | null;
  /** The output to keep, with a `[gantry]` line when the platform ended or failed the run. */
  output: string;
  /** Why it failed, for events ("exit 2", "timed out after 1 h"); undefined when it succeeded. */
  why?: string;
}

/**
 * Succeeded means the process exited 0 on its own: a run stopped by a timeout,
 * a cancellation or shutdown fails even if it then exits 0.
 */
export function judgeRun(end: { result?: JobRunResult; error?: unknown; stopped?: string }): RunVerdict {
  const { result, error, stopped } = end;
  const exitCode = result?.exitCode ?? null;
  let output = result?.output ?? '';
  let note: string | undefined;
  if (result === undefined)
    note = `could not run: ${error instanceof Error ? error.message : String(error ?? 'no result')}`;
  else if (stopped !== undefined) note = stopped;
  else if (result.oomKilled) note = 'out of memory: killed for exceeding its memory limit';
  if (note !== undefined) {
    output += `${output === '' || output.endsWith('\n') ? '' : '\n'}[gantry] ${note}\n`;
    return { status: 'failed', exitCode, output, why: note };
  }
  if (exitCode === 0) return { status: 'succeeded', exitCode, output };
  const why = exitCode === null ? `killed by ${result!.signal ?? 'a signal'}` : `exit ${exitCode}`;
  return { status: 'failed', exitCode, output, why };
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 100) / 10} s`;
}
