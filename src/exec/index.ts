/**
 * The one place that spawns child processes. Always an argv array, never a
 * shell: user-controlled strings can only ever be single arguments.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { GantryError } from '../errors/index.js';

export interface ExecOptions {
  cwd?: string;
  /** Full environment for the child. Defaults to a minimal PATH-only env, never Gantry's own. */
  env?: Record<string, string | undefined>;
  /** Written to stdin, then stdin is closed. */
  input?: string | Buffer;
  timeoutMs?: number;
  /** Called with each chunk as it arrives (build output streaming). */
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Max bytes of stdout/stderr kept in the result (tail). Default 1 MiB. */
  maxBuffer?: number;
  uid?: number;
  gid?: number;
  signal?: AbortSignal;
  /**
   * Opens fd 3 of the child as a pipe, writes this to it and closes it (e.g.
   * data bwrap copies into a sandbox: never argv, never the environment).
   */
  extraFdData?: string | Buffer;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export const MINIMAL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function defaultEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? MINIMAL_PATH, LANG: 'C.UTF-8', HOME: process.env.HOME ?? '/' };
}

export class ExecError extends GantryError {
  readonly argv: string[];
  readonly exitCode: number | null;
  readonly stderrTail: string;
  constructor(argv: string[], result: ExecResult) {
    const tail = result.stderr.trim().split('\n').slice(-5).join('\n');
    super(
      'GANTRY_EXEC_FAILED',
      `${argv[0]} exited with ${result.code ?? result.signal}${tail ? `: ${tail}` : ''}`,
      { details: { argv, exitCode: result.code, signal: result.signal } },
    );
    this.argv = argv;
    this.exitCode = result.code;
    this.stderrTail = tail;
  }
}

function tailAppend(buf: Buffer[], chunk: Buffer, state: { size: number }, max: number): void {
  buf.push(chunk);
  state.size += chunk.length;
  while (state.size > max && buf.length > 1) state.size -= buf.shift()!.length;
}

/** Runs a command to completion. Resolves with its result whatever the exit code. */
export function run(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const max = opts.maxBuffer ?? 1 << 20;
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ?? defaultEnv(),
      stdio: opts.extraFdData === undefined ? ['pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe', 'pipe'],
      uid: opts.uid,
      gid: opts.gid,
      signal: opts.signal,
      timeout: opts.timeoutMs,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const so = { size: 0 };
    const se = { size: 0 };
    child.stdout.on('data', (c: Buffer) => {
      opts.onStdout?.(c);
      tailAppend(out, c, so, max);
    });
    child.stderr.on('data', (c: Buffer) => {
      opts.onStderr?.(c);
      tailAppend(err, c, se, max);
    });
    child.on('error', (e) =>
      reject(new GantryError('GANTRY_EXEC_FAILED', `cannot run ${file}: ${e.message}`, { cause: e })),
    );
    child.on('close', (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.on('error', () => {
      // The child may exit before reading its input (EPIPE); its exit code tells the story.
    });
    child.stdin.end(opts.input);
    if (opts.extraFdData !== undefined) writeExtraFd(child, opts.extraFdData);
  });
}

/**
 * Writes `data` to the child's fd 3 (spawned with `stdio[3]: 'pipe'`) and
 * closes it. Anything the child writes back on it is discarded (read, so the
 * child's 'close' event is not held up by it).
 */
export function writeExtraFd(child: ChildProcess, data: string | Buffer): void {
  const fd = child.stdio[3] as (NodeJS.ReadableStream & NodeJS.WritableStream) | null | undefined;
  if (!fd) throw new GantryError('GANTRY_INTERNAL', 'child has no fd 3 pipe');
  fd.on('error', () => {
    // The child may exit (or close fd 3) before reading it all (EPIPE); its exit code tells the story.
  });
  fd.resume();
  fd.end(data);
}

/** Runs a command and throws ExecError unless it exits 0. */
export async function runChecked(
  file: string,
  args: readonly string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const r = await run(file, args, opts);
  if (r.code !== 0) throw new ExecError([file, ...args], r);
  return r;
}

export interface SpawnProcessOptions extends Omit<SpawnOptions, 'shell' | 'env'> {
  env?: Record<string, string | undefined>;
}

/** Starts a long-running child (app processes, git receive-pack). Caller owns its lifecycle. */
export function spawnProcess(
  file: string,
  args: readonly string[],
  opts: SpawnProcessOptions = {},
): ChildProcess {
  return spawn(file, args, { ...opts, env: opts.env ?? defaultEnv(), shell: false });
}

/** True if an executable is found on PATH (or is an absolute existing path). */
export async function which(cmd: string): Promise<string | undefined> {
  const { access, constants } = await import('node:fs/promises');
  const { join, isAbsolute } = await import('node:path');
  const candidates = isAbsolute(cmd)
    ? [cmd]
    : (process.env.PATH ?? MINIMAL_PATH).split(':').map((d) => join(d, cmd));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      return c;
    } catch {
      continue;
    }
  }
  return undefined;
}
