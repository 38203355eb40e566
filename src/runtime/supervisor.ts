/**
 * One process slot (`APP.TYPE.N`) of a deployment: keeps its process running
 * while desired, restarting it with backoff after a crash, and stops it
 * gracefully on demand.
 *
 * States: starting → running → (crashed → starting …) → stopping → stopped.
 */
import type { Logger } from '../log/index.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import type { PortAllocator } from './ports.js';
import { SandboxedProcess, type ExitInfo } from './process.js';
import type {
  DeploymentSpec,
  LogSink,
  ProcessSpec,
  ProcessState,
  ProcessStatus,
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

  constructor(opts: SlotOptions) {
    this.#o = opts;
    this.#backoff = new Backoff(opts.backoff);
    this.name = `${opts.deployment.app}.${opts.process.type}.${opts.index}`;
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
    });
    const startedAt = new Date();
    this.#proc = proc;
    this.#startedAt = startedAt;
    this.#nextRestartAt = undefined;
    this.#handled = proc.exited.then((info) => {
      if (this.#proc === proc) this.#onExit(info, Date.now() - startedAt.getTime());
    });
    if (proc.pid !== undefined) {
      this.#setState('running');
      this.#emit('start', `pid ${proc.pid}`);
    }
  }

  #onExit(info: ExitInfo, uptimeMs: number): void {
    this.#proc = undefined;
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
    };
  }
}
