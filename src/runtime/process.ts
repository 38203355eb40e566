/**
 * One run of one command inside the sandbox: spawn, stream output as log
 * lines, and stop it gracefully.
 *
 * Process layout (sandboxed): Gantry → bwrap → bwrap init (pid 1 of the new
 * pid namespace, ignores SIGTERM) → `/bin/sh -c COMMAND` (dash does not exec
 * the last command) → the app. When the shell exits, bwrap's init exits and
 * the kernel SIGKILLs everything left in the namespace — so nothing outlives
 * a sandbox, but a shell killed too early takes the app down before its
 * SIGTERM handler ran. Hence {@link SandboxedProcess.terminate} signals the
 * app processes first and the top shell only once it has no children left.
 * (The env loader of sandbox.ts `exec`s the shell: the chain is unchanged.)
 *
 * The app's environment goes to bwrap on fd 3 (see sandbox.ts), never in
 * bwrap's own environment.
 *
 * Cgroup placement is race-free: bwrap reads fd 3 to EOF before it starts the
 * command, so the process is spawned, moved into its cgroup (with whatever
 * bwrap forked so far, see {@link ProcessCgroup.enter}), and only then gets
 * its env. Unsafe mode has no such gate: the shell is moved right after spawn,
 * so what it does in those first microseconds (exec, maybe a fork — forks are
 * caught too) is charged to Gantry's cgroup, not the app's.
 */
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { GantryError } from '../errors/index.js';
import { spawnProcess, writeExtraFd } from '../exec/index.js';
import type { ProcessCgroup } from './cgroup.js';
import { baseSandboxEnv, isRoot, sandboxCommand } from './sandbox.js';
import { LineSplitter } from './lines.js';
import { childrenOf, descendantsOf, isShell, signal } from './proctree.js';
import type { LogSink, OneOffSpec } from './types.js';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** Set when the process could not be started at all. */
  error?: Error;
}

/** A one-off's spec (name `sales.web.1` or `sales.release`; env on top of the sandbox base), plus how to run it. */
export interface LaunchOptions extends Omit<OneOffSpec, 'timeoutMs' | 'limits' | 'signal'> {
  unsafe: boolean;
  logSink: LogSink;
  /** The cgroup to run in (limits already set); placed before the command starts. */
  cgroup?: ProcessCgroup;
}

const POLL_MS = 50;
/** The top shell gets SIGTERM at the latest after this share of the grace period. */
const SHELL_DEFER_MAX_MS = 5000;

/** Creates the app's data dir (mode 0700) owned by its uid, so only the app can read it. */
export function prepareDataDir(path: string, uid: number): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
  if (isRoot()) chownSync(path, uid, uid);
}

export class SandboxedProcess {
  readonly #child: ChildProcess;
  readonly #unsafe: boolean;
  readonly exited: Promise<ExitInfo>;
  #done = false;

  private constructor(
    child: ChildProcess,
    unsafe: boolean,
    exited: Promise<ExitInfo>,
    cgroup: ProcessCgroup | undefined,
  ) {
    this.#child = child;
    this.#unsafe = unsafe;
    this.exited = exited.then((info) => {
      this.#done = true;
      return info;
    });
    // Unsafe mode has no pid namespace to collapse: reap what the shell left behind (which
    // would also hold the output pipes open, so 'close' would never come) — its process group,
    // and with a cgroup even what left the group (setsid daemons).
    if (unsafe)
      child.once('exit', () => {
        if (child.pid !== undefined) killGroup(child.pid);
        cgroup?.killAll();
      });
  }

  static start(opts: LaunchOptions): SandboxedProcess {
    const home = opts.unsafe ? opts.dataPath : '/data';
    const cmd = sandboxCommand({
      uid: opts.uid,
      hostname: opts.app,
      binds: [
        { src: opts.slugPath, dest: '/app' },
        { src: opts.dataPath, dest: '/data', writable: true },
      ],
      cwd: '/app',
      argv: ['/bin/sh', '-c', opts.command],
      env: { ...baseSandboxEnv(home), ...opts.env },
      unsafe: opts.unsafe,
    });
    const child = spawnProcess(cmd.file, cmd.args, {
      cwd: cmd.cwd,
      env: cmd.env,
      stdio: cmd.envFileData === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe', 'pipe'],
      // Unsafe: own process group, so stopping reaches grandchildren the shell orphaned.
      detached: opts.unsafe,
    });
    let setupError: Error | undefined;
    // No pid: the spawn failed ('error' below reports it); there is nothing to place, no fd 3 to write.
    if (child.pid !== undefined) {
      const pid = child.pid;
      const writeEnv = (data: string): void => {
        if (cmd.envFileData !== undefined) writeExtraFd(child, data);
      };
      // bwrap waits for the env on fd 3 before it runs the command: place first, then send it.
      const place = async (): Promise<void> => {
        try {
          if (opts.cgroup) await opts.cgroup.enter(pid);
          writeEnv(cmd.envFileData ?? '');
        } catch (e) {
          // Never run unconfined: the env is withheld, so bwrap has not started the command yet.
          setupError = new GantryError(
            'GANTRY_INTERNAL',
            `cannot place the process in its cgroup: ${String(e)}`,
            {
              cause: e,
            },
          );
          child.kill('SIGKILL');
          writeEnv('');
        }
      };
      void place(); // Cannot reject: a failure kills the process, and 'close' reports setupError.
    }
    const line = (stream: 'stdout' | 'stderr') =>
      new LineSplitter((text) =>
        opts.logSink({ app: opts.app, process: opts.name, stream, time: new Date(), text }),
      );
    const out = line('stdout');
    const err = line('stderr');
    child.stdout?.on('data', (c: Buffer) => {
      out.push(c);
      opts.onOutput?.(c.toString('utf8'));
    });
    child.stderr?.on('data', (c: Buffer) => {
      err.push(c);
      opts.onOutput?.(c.toString('utf8'));
    });
    const exited = new Promise<ExitInfo>((resolve) => {
      child.once('error', (e) => {
        // Spawn failures (ENOENT…) have no pid and may never emit 'close'.
        if (child.pid === undefined) resolve({ code: null, signal: null, error: e });
      });
      // 'close' (not 'exit'): every output line has been read by then.
      child.once('close', (code, sig) => {
        out.end();
        err.end();
        resolve(setupError ? { code, signal: sig, error: setupError } : { code, signal: sig });
      });
    });
    return new SandboxedProcess(child, opts.unsafe, exited, opts.cgroup);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return !this.#done && this.#child.pid !== undefined;
  }

  /** The processes that run the command: the shell(s) right under bwrap's init. */
  #tops(): number[] {
    const pid = this.#child.pid;
    if (pid === undefined || this.#done) return [];
    if (this.#unsafe) return [pid];
    return childrenOf(pid).flatMap((init) => childrenOf(init));
  }

  /**
   * SIGTERM to the app, SIGKILL to the whole tree after `graceMs`. Resolves
   * when the process has exited.
   */
  async terminate(graceMs: number): Promise<ExitInfo> {
    if (!this.running) return this.exited;
    const start = Date.now();
    const deferUntil = start + Math.min(graceMs / 2, SHELL_DEFER_MAX_MS);
    const termed = new Set<number>();
    let appSignalled = false;
    const tick = (): void => {
      const tops = this.#tops();
      if (!appSignalled && tops.length > 0) {
        // Once, like Heroku: everything below the top shell gets SIGTERM together.
        for (const top of tops)
          for (const pid of descendantsOf(top)) if (signal(pid, 'SIGTERM')) termed.add(pid);
        appSignalled = true;
      }
      for (const top of tops) {
        if (termed.has(top)) continue;
        const shellWaiting = isShell(top) && childrenOf(top).length > 0;
        if (!shellWaiting || Date.now() >= deferUntil) {
          signal(top, 'SIGTERM');
          termed.add(top);
        }
      }
    };
    tick();
    let timer: NodeJS.Timeout | undefined;
    const polled = new Promise<void>((resolve) => {
      timer = setInterval(() => {
        if (!this.running || Date.now() - start >= graceMs) return resolve();
        tick();
      }, POLL_MS);
    });
    await Promise.race([this.exited, polled]);
    clearInterval(timer);
    if (this.running) this.kill();
    return this.exited;
  }

  /** SIGKILL to bwrap and everything under it. */
  kill(): void {
    const pid = this.#child.pid;
    if (pid === undefined || this.#done) return;
    const tree = [pid, ...descendantsOf(pid)];
    for (const p of tree.reverse()) signal(p, 'SIGKILL');
    if (this.#unsafe) killGroup(pid);
  }
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch (e) {
    // ESRCH: the group is already empty — the normal case.
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}
