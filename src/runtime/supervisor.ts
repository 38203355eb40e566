/**
 * One process slot (`APP.TYPE.N`) of a deployment: keeps its process running
 * while desired, restarting it with backoff after a crash, and stops it
 * gracefully on demand.
 *
 * States: starting → running → (crashed → starting …) → stopping → stopped.
 *
 * Each run of the process gets a cgroup of its own (when the host has them):
 * its limits, its usage samples, and its OOM kills, which are reported as an
 * `oom` event and a log line before the exit that follows.
 */
import type { Logger } from '../log/index.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import type { ProcessCgroup } from './cgroup.js';
import type { CgroupManager } from './cgroups.js';
import type { PortAllocator } from './ports.js';
import { SandboxedProcess, type ExitInfo } from './process.js';
import { oomMessage, readCounters, unenforcedNote, UsageMeter } from './resources.js';
import type {
  DeploymentSpec,
  LogSink,
  ProcessSpec,
  ProcessState,
  ProcessStatus,
  ResourceLimits,
  ResourceUsage,
  RuntimeEvent,
} from './types.js';

export interface SlotOptions {
  deployment: DeploymentSpec;
  process: ProcessSpec;
  /** 1-based. */
  index: number;
  host: string;
  ports: PortAllocator;
  unsafe: boolean;
  logSink: LogSink;
  logger: Logger;
  backoff: BackoffOptions;
  emit: (e: RuntimeEvent) => void;
  cgroups: CgroupManager;
}

export function describeExit(info: ExitInfo): string {
  if (info.error) return `Process failed to start: ${info.error.message}`;
  if (info.signal) return `Process exited by signal ${info.signal}`;
  return `Process exited with status ${info.code}`;
}

export class ProcessSlot {
  readonly #o: SlotOptions;
  readonly #backoff: Backoff;
  readonly name: string;
  #state: ProcessState = 'starting';
  #desired = true;
  #proc?: SandboxedProcess;
  /** Settles once the current process's exit has been handled. */
  #handled: Promise<void> = Promise.resolve();
  #starting?: Promise<void>;
  #port?: number;
  #restarts = 0;
  #startedAt?: Date;
  #lastExit?: ProcessStatus['lastExit'];
  #nextRestartAt?: Date;
  #timer?: NodeJS.Timeout;
  /** The current run's cgroup. */
  #cg?: ProcessCgroup;
  /** Limits of the latest run, as enforced. */
  #limits?: ResourceLimits;
  #meter?: UsageMeter;
  #usage?: ResourceUsage;
  #oomKills = 0;
  /** The current cgroup's OOM-kill count already reported. */
  #oomSeen = 0;

  constructor(opts: SlotOptions) {
    this.#o = opts;
    this.#backoff = new Backoff(opts.backoff);
    this.name = `${opts.deployment.app}.${opts.process.type}.${opts.index}`;
  }

  /** `web.1`: the name users see in messages about their app. */
  get #short(): string {
    return `${this.#o.process.type}.${this.#o.index}`;
  }

  get index(): number {
    return this.#o.index;
  }

  #system(text: string): void {
    this.#o.logSink({
      app: this.#o.deployment.app,
      process: this.name,
      stream: 'system',
      time: new Date(),
      text,
    });
  }

  #emit(kind: RuntimeEvent['kind'], detail?: string): void {
    this.#o.emit({
      app: this.#o.deployment.app,
      deployment: this.#o.deployment.id,
      process: this.name,
      kind,
      detail,
      time: new Date(),
    });
  }

  #setState(next: ProcessState): void {
    if (next === this.#state) return;
    this.#system(`State changed from ${this.#state} to ${next}`);
    this.#state = next;
  }

  /** Starts the process. Resolves once it has been spawned (or has failed and a restart is scheduled). */
  start(): Promise<void> {
    this.#starting = this.#start().finally(() => (this.#starting = undefined));
    return this.#starting;
  }

  async #start(): Promise<void> {
    const { deployment: d, process: p } = this.#o;
    this.#setState('starting');
    try {
      if (p.web) this.#port = await this.#o.ports.reuseOrAllocate(this.#port);
    } catch (e) {
      this.#o.logger.error({ err: e, process: this.name }, 'cannot allocate a port');
      this.#onExit({ code: null, signal: null, error: e as Error }, 0);
      return;
    }
    if (!this.#desired) return;
    let cg: ProcessCgroup | undefined;
    try {
      cg = this.#o.cgroups.create({ app: d.app, name: this.#short, limits: p.limits });
    } catch (e) {
      this.#o.logger.error({ err: e, process: this.name }, 'cannot make the cgroup of a process');
      this.#onExit({ code: null, signal: null, error: e as Error }, 0);
      return;
    }
    const note = unenforcedNote(p.limits, cg, this.#o.cgroups.support.reason);
    if (note) this.#system(note);
    this.#system(`Starting process with command \`${p.command}\``);
    const env = p.web ? { ...d.env, PORT: String(this.#port) } : { ...d.env };
    const proc = SandboxedProcess.start({
      app: d.app,
      name: this.name,
      slugPath: d.slugPath,
      dataPath: d.dataPath,
      uid: d.uid,
      env,
      command: p.command,
      unsafe: this.#o.unsafe,
      logSink: this.#o.logSink,
      cgroup: cg,
    });
    const startedAt = new Date();
    this.#proc = proc;
    this.#cg = cg;
    this.#limits = cg && Object.keys(cg.limits).length > 0 ? cg.limits : undefined;
    this.#oomSeen = 0;
    this.#meter = new UsageMeter(startedAt.getTime());
    this.#usage = undefined;
    this.#startedAt = startedAt;
    this.#nextRestartAt = undefined;
    this.#handled = proc.exited.then(async (info) => {
      if (cg) this.#checkOom(cg);
      if (this.#proc === proc) this.#onExit(info, Date.now() - startedAt.getTime());
      await cg
        ?.destroy()
        .catch((e: unknown) => this.#o.logger.error({ err: e, process: this.name }, 'cannot remove cgroup'));
    });
    if (proc.pid !== undefined) {
      this.#setState('running');
      this.#emit('start', `pid ${proc.pid}`);
    }
  }

  /** Reports OOM kills in the current cgroup since the last check (while running, or at exit). */
  #checkOom(cg: ProcessCgroup): void {
    let n: number;
    try {
      n = cg.oomKills();
    } catch (e) {
      this.#o.logger.error({ err: e, process: this.name }, 'cannot read the OOM-kill count');
      return;
    }
    if (n <= this.#oomSeen) return;
    this.#oomSeen = n;
    this.#oomKills++;
    const text = oomMessage(this.#short, cg.limits);
    this.#system(text);
    this.#emit('oom', text);
  }

  /** Takes a usage sample (and notices OOM kills of child processes that did not end the run). */
  sample(): void {
    const proc = this.#proc;
    if (this.#state !== 'running' || !proc?.running || proc.pid === undefined) return;
    if (this.#cg) this.#checkOom(this.#cg);
    this.#usage = this.#meter?.next(readCounters(proc.pid, this.#cg));
  }

  #onExit(info: ExitInfo, uptimeMs: number): void {
    this.#proc = undefined;
    this.#cg = undefined;
    this.#usage = undefined;
    this.#lastExit = { code: info.code, signal: info.signal, at: new Date() };
    const what = describeExit(info);
    this.#system(what);
    this.#emit('exit', what);
    if (!this.#desired) return;
    const delay = this.#backoff.next(uptimeMs);
    this.#nextRestartAt = new Date(Date.now() + delay);
    this.#setState('crashed');
    this.#emit('crash', `${what}; restarting in ${delay} ms`);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#desired) return;
      this.#restarts++;
      this.#emit('restart', `attempt ${this.#restarts}`);
      this.start().catch((e: unknown) =>
        this.#o.logger.error({ err: e, process: this.name }, 'restart failed'),
      );
    }, delay);
  }

  /** Stops the process for good: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.#desired = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#nextRestartAt = undefined;
    await this.#starting;
    const proc = this.#proc;
    if (proc?.running) {
      this.#setState('stopping');
      this.#system(`Stopping process with SIGTERM (grace ${graceMs / 1000} s)`);
      await proc.terminate(graceMs);
    }
    await this.#handled;
    this.#o.ports.release(this.#port);
    this.#setState('stopped');
    this.#emit('stop');
  }

  status(): ProcessStatus {
    const { deployment: d, process: p } = this.#o;
    return {
      deployment: d.id,
      app: d.app,
      release: d.release,
      type: p.type,
      index: this.#o.index,
      name: this.name,
      state: this.#state,
      pid: this.#proc?.pid,
      host: this.#o.host,
      port: p.web ? this.#port : undefined,
      restarts: this.#restarts,
      startedAt: this.#startedAt,
      lastExit: this.#lastExit,
      nextRestartAt: this.#nextRestartAt,
      limits: this.#limits,
      usage: this.#state === 'running' ? this.#usage : undefined,
      oomKills: this.#oomKills,
    };
  }
}
