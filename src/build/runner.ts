/**
 * Runs build steps inside the app's sandbox and streams their output to the
 * pusher, Heroku-style (seven spaces of indent). Every step sees the slug at
 * /app, the per-app tool cache at /cache and a private writable /tmp.
 *
 * Config vars reach the step only inside the sandbox, after the privilege
 * drop (sandbox.ts): bwrap itself runs with a fixed minimal environment.
 *
 * Unsafe mode (no sandbox, development only): the sandbox paths in argv and
 * env are rewritten to their host locations, and when Gantry is root the
 * step still drops to the app's uid.
 */
import type { Logger } from '../log/index.js';
import { run, type ExecResult } from '../exec/index.js';
import { GantryError, isGantryError } from '../errors/index.js';
import { sandboxCommand, baseSandboxEnv, isRoot, type Bind } from '../runtime/sandbox.js';
import { LineSplitter } from './lines.js';

export const INDENT = '       ';

export interface RunnerOptions {
  app: string;
  uid: number;
  /** Mounted at /app (writable). */
  sourceDir: string;
  /** Mounted at /cache (writable): pip/npm/uv download caches. */
  toolCacheDir: string;
  /** Mounted at /tmp (writable, private to this build). */
  tmpDir: string;
  /** Extra binds, e.g. the wheelhouse at /wheelhouse. */
  binds: Bind[];
  /** Config vars, applied over the base sandbox env. */
  env: Record<string, string>;
  unsafe: boolean;
  output: (text: string) => void;
  logger: Logger;
  signal?: AbortSignal;
}

export interface Step {
  /** Short name for errors: "pip install". */
  label: string;
  argv: string[];
  /** Extra env for this step (wins over config vars). */
  env?: Record<string, string>;
  /** Stream output to the pusher (default true). */
  stream?: boolean;
  /** Resolve with the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  timeoutMs?: number;
}

/** The most telling line of a failed step: its last error line, else its last line. */
export function lastLine(r: Pick<ExecResult, 'stdout' | 'stderr'>): string {
  const lines = `${r.stdout}\n${r.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const isError = (l: string): boolean =>
    /^(ERROR:|error:|Error:|E: |npm ERR! |npm error )/.test(l) && !/A complete log of this run/.test(l);
  return [...lines].reverse().find(isError) ?? lines.at(-1) ?? '';
}

export class SandboxRunner {
  readonly #o: RunnerOptions;
  readonly #map: [string, string][];

  constructor(opts: RunnerOptions) {
    this.#o = opts;
    this.#map = [
      ['/app', opts.sourceDir],
      ['/cache', opts.toolCacheDir],
      ['/tmp', opts.tmpDir],
      ...opts.binds.map((b): [string, string] => [b.dest, b.src]),
    ];
  }

  /** In unsafe mode, maps a sandbox path (or a PATH-like list) to the host. */
  #host(value: string): string {
    if (!this.#o.unsafe) return value;
    return value
      .split(':')
      .map((part) => {
        for (const [inner, outer] of this.#map) {
          if (part === inner || part.startsWith(`${inner}/`)) return outer + part.slice(inner.length);
        }
        return part;
      })
      .join(':');
  }

  async run(step: Step): Promise<ExecResult> {
    const o = this.#o;
    const env: Record<string, string> = { ...baseSandboxEnv('/tmp'), ...o.env, ...step.env };
    for (const k of Object.keys(env)) env[k] = this.#host(env[k]!);
    const cmd = sandboxCommand({
      uid: o.uid,
      hostname: o.app,
      binds: [
        { src: o.sourceDir, dest: '/app', writable: true },
        { src: o.toolCacheDir, dest: '/cache', writable: true },
        // bwrap's own /tmp tmpfs is root-owned 0755; the build needs a writable one.
        { src: o.tmpDir, dest: '/tmp', writable: true },
        ...o.binds,
      ],
      cwd: '/app',
      argv: step.argv.map((a) => this.#host(a)),
      env,
      unsafe: o.unsafe,
    });
    const stream = step.stream ?? true;
    const out = new LineSplitter((l) => o.output(INDENT + l));
    const dropToUid = o.unsafe && isRoot();
    o.logger.debug({ app: o.app, step: step.label }, 'build step');
    let r: ExecResult;
    try {
      r = await run(cmd.file, cmd.args, {
        cwd: cmd.cwd,
        env: cmd.env,
        extraFdData: cmd.envFileData,
        signal: o.signal,
        timeoutMs: step.timeoutMs,
        uid: dropToUid ? o.uid : undefined,
        gid: dropToUid ? o.uid : undefined,
        onStdout: stream ? (c) => out.push(c) : undefined,
        onStderr: stream ? (c) => out.push(c) : undefined,
      });
    } catch (e) {
      if (o.signal?.aborted)
        throw new GantryError('GANTRY_BUILD_FAILED', `${step.label} cancelled`, { cause: e });
      if (isGantryError(e))
        throw new GantryError('GANTRY_BUILD_FAILED', `${step.label} could not start: ${e.message}`, {
          cause: e,
        });
      throw e;
    }
    out.flush();
    if (r.code !== 0 && !step.allowFailure) {
      const status = r.code === null ? `signal ${r.signal}` : `exit ${r.code}`;
      const tail = lastLine(r).slice(0, 300);
      throw new GantryError(
        'GANTRY_BUILD_FAILED',
        `${step.label} failed (${status})${tail ? `: ${tail}` : ''}`,
        {
          details: { step: step.label, exitCode: r.code },
        },
      );
    }
    return r;
  }
}
