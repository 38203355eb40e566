/**
 * The `local` runtime backend: every app process is a bubblewrap sandbox on
 * this server, running as the app's own uid, supervised by Gantry.
 */
import { GantryError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { assertSandboxAvailable } from './check.js';
import { CgroupManager } from './cgroups.js';
import { ONE_OFF_KILL_GRACE_MS, runOneOff } from './oneoff.js';
import { PortAllocator, waitListening } from './ports.js';
import { prepareDataDir, SandboxedProcess } from './process.js';
import { ProcessSlot } from './supervisor.js';
import type {
  DeploymentSpec,
  LogSink,
  OneOffResult,
  OneOffSpec,
  ProcessSpec,
  ProcessStatus,
  Runtime,
  RuntimeCapabilities,
  RuntimeEvent,
} from './types.js';

export interface LocalRuntimeOptions {
  logger: Logger;
  logSink: LogSink;
  /** SIGTERM → SIGKILL grace period. Default 30 s. */
  stopGraceMs?: number;
  /** Run processes without bubblewrap (development only). */
  unsafeNoSandbox?: boolean;
  /** Address web processes are reached on. Default 127.0.0.1. */
  host?: string;
  /** Crash-restart backoff. Default 1 s doubling to 5 min, reset after 10 min up. */
  backoff?: BackoffOptions;
  /** Rolling restart: how long a new web process may take to listen before the old one is stopped anyway. Default 60 s. */
  restartReadyTimeoutMs?: number;
  /** How often running processes' CPU and memory are sampled (`ProcessStatus.usage`). Default 5 s. */
  usageIntervalMs?: number;
  /**
   * Where process cgroups come from. Default: detected on this host
   * ({@link CgroupManager.detect}); `CgroupManager.disabled(logger, why)` to run without limits.
   */
  cgroups?: CgroupManager;
}

interface Deployment {
  spec: DeploymentSpec;
  /** Each type's spec as its running slots were started with. */
  types: Map<string, ProcessSpec>;
  slots: Map<string, ProcessSlot[]>;
  /** Slots being replaced by a rolling restart; still listed until stopped. */
  retiring: Set<ProcessSlot>;
}

export class LocalRuntime implements Runtime {
  readonly name = 'local';
  readonly #o: Required<Omit<LocalRuntimeOptions, 'backoff' | 'cgroups'>> & {
    backoff: Required<BackoffOptions>;
  };
  readonly #cgroups: CgroupManager;
  readonly #sampler: NodeJS.Timeout;
  #sampling = false;
  readonly #ports: PortAllocator;
  readonly #deployments = new Map<string, Deployment>();
  /** Per-deployment operation chain: apply/remove/restart of one deployment never interleave. */
  readonly #queues = new Map<string, Promise<void>>();
  readonly #listeners = new Set<(e: RuntimeEvent) => void>();
  readonly #oneOffs = new Set<SandboxedProcess>();
  #closed = false;

  constructor(opts: LocalRuntimeOptions) {
    this.#o = {
      logger: opts.logger,
      logSink: opts.logSink,
      stopGraceMs: opts.stopGraceMs ?? 30_000,
      unsafeNoSandbox: opts.unsafeNoSandbox ?? false,
      host: opts.host ?? '127.0.0.1',
      backoff: { ...DEFAULT_BACKOFF, ...opts.backoff },
      restartReadyTimeoutMs: opts.restartReadyTimeoutMs ?? 60_000,
      usageIntervalMs: opts.usageIntervalMs ?? 5000,
    };
    this.#ports = new PortAllocator(this.#o.host);
    this.#cgroups = opts.cgroups ?? CgroupManager.detect({ logger: opts.logger });
    this.#sampler = setInterval(() => {
      this.#sample().catch((err: unknown) => this.#o.logger.error({ err }, 'usage sampling failed'));
    }, this.#o.usageIntervalMs);
    this.#sampler.unref();
  }

  capabilities(): RuntimeCapabilities {
    const s = this.#cgroups.support;
    const limits = this.#cgroups.enabled;
    return { limits, cgroup: limits ? s.version : null, ...(s.reason ? { reason: s.reason } : {}) };
  }

  /**
   * Samples every running process, one at a time with a turn of the event loop
   * in between: the router shares this loop, and hundreds of processes' file
   * reads in one go would stall it.
   */
  async #sample(): Promise<void> {
    if (this.#sampling) return;
    this.#sampling = true;
    try {
      const slots = [...this.#deployments.values()].flatMap((d) => [
        ...[...d.slots.values()].flat(),
        ...d.retiring,
      ]);
      for (const s of slots) {
        try {
          s.sample();
        } catch (err) {
          this.#o.logger.warn({ err, process: s.name }, 'cannot sample process usage');
        }
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.#sampling = false;
    }
  }

  /** Throws GANTRY_SANDBOX_UNAVAILABLE when processes could not be sandboxed here. */
  static check(opts: { unsafeNoSandbox?: boolean; logger: Logger }): Promise<void> {
    return assertSandboxAvailable(opts);
  }

  #serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#queues.get(id) ?? Promise.resolve();
    const result = prev.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(id, tail);
    void tail.then(() => {
      if (this.#queues.get(id) === tail) this.#queues.delete(id);
    });
    return result;
  }

  #emit = (e: RuntimeEvent): void => {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        this.#o.logger.error({ err, event: e }, 'runtime event listener failed');
      }
    }
  };

  #slot(d: Deployment, p: ProcessSpec, index: number): ProcessSlot {
    return new ProcessSlot({
      deployment: d.spec,
      process: p,
      index,
      host: this.#o.host,
      ports: this.#ports,
      unsafe: this.#o.unsafeNoSandbox,
      logSink: this.#o.logSink,
      logger: this.#o.logger,
      backoff: this.#o.backoff,
      emit: this.#emit,
      cgroups: this.#cgroups,
    });
  }

  apply(spec: DeploymentSpec): Promise<void> {
    if (this.#closed) return Promise.reject(new GantryError('GANTRY_INTERNAL', 'runtime is closed'));
    validate(spec);
    return this.#serial(spec.id, async () => {
      let d = this.#deployments.get(spec.id);
      if (!d) {
        prepareDataDir(spec.dataPath, spec.uid);
        d = {
          spec: { ...spec, env: { ...spec.env } },
          types: new Map(),
          slots: new Map(),
          retiring: new Set(),
        };
        this.#deployments.set(spec.id, d);
      }
      const wanted = new Map(spec.processes.map((p) => [p.type, p]));
      const work: Promise<void>[] = [];
      for (const [type, slots] of d.slots) {
        if (wanted.has(type)) continue;
        work.push(...slots.map((s) => s.stop(this.#o.stopGraceMs)));
        d.slots.delete(type);
      }
      for (const p of wanted.values()) {
        const slots = d.slots.get(p.type) ?? [];
        // A running type keeps the spec it started with: a new release is a new deployment id.
        if (slots.length === 0) d.types.set(p.type, { ...p });
        const running = d.types.get(p.type)!;
        while (slots.length < p.count) {
          const slot = this.#slot(d, running, slots.length + 1);
          slots.push(slot);
          work.push(slot.start());
        }
        // Surplus: highest index first.
        while (slots.length > Math.max(0, p.count)) work.push(slots.pop()!.stop(this.#o.stopGraceMs));
        if (slots.length > 0) d.slots.set(p.type, slots);
        else d.slots.delete(p.type);
      }
      await Promise.all(work);
    });
  }

  remove(deploymentId: string, opts: { graceMs?: number } = {}): Promise<void> {
    return this.#serial(deploymentId, async () => {
      const d = this.#deployments.get(deploymentId);
      if (!d) return;
      await this.#stopAll(d, opts.graceMs ?? this.#o.stopGraceMs);
      this.#deployments.delete(deploymentId);
    });
  }

  async #stopAll(d: Deployment, graceMs: number): Promise<void> {
    const all = [...[...d.slots.values()].flat(), ...d.retiring];
    await Promise.all(all.map((s) => s.stop(graceMs)));
    d.slots.clear();
    d.retiring.clear();
  }

  restart(deploymentId: string, type?: string): Promise<void> {
    return this.#serial(deploymentId, async () => {
      const d = this.#deployments.get(deploymentId);
      if (!d) throw new GantryError('GANTRY_NOT_FOUND', `deployment ${deploymentId} not found`);
      for (const [t, slots] of d.slots) {
        if (type !== undefined && t !== type) continue;
        const p = d.types.get(t)!;
        for (let i = 0; i < slots.length; i++) {
          const old = slots[i]!;
          const fresh = this.#slot(d, p, old.index);
          if (p.web) {
            // Rolling: the new process is up before the old one goes, so the type never has a gap.
            d.retiring.add(old);
            slots[i] = fresh;
            await fresh.start();
            await this.#waitReady(fresh);
            await old.stop(this.#o.stopGraceMs);
            d.retiring.delete(old);
          } else {
            // Workers may hold exclusive resources (queues, locks): never two of the same slot at once.
            await old.stop(this.#o.stopGraceMs);
            slots[i] = fresh;
            await fresh.start();
          }
        }
      }
    });
  }

  /** Until a new web process listens (or dies, or takes too long: then the restart goes on regardless). */
  async #waitReady(slot: ProcessSlot): Promise<void> {
    const { port, host } = slot.status();
    if (port === undefined) return;
    const ok = await waitListening({
      host,
      port,
      timeoutMs: this.#o.restartReadyTimeoutMs,
      alive: () => slot.status().state === 'running',
    });
    if (!ok)
      this.#o.logger.warn({ process: slot.name, port }, 'restarted process is not listening; going on');
  }

  list(app?: string): ProcessStatus[] {
    const out: ProcessStatus[] = [];
    for (const d of this.#deployments.values()) {
      if (app !== undefined && d.spec.app !== app) continue;
      for (const slots of d.slots.values()) for (const s of slots) out.push(s.status());
      for (const s of d.retiring) out.push(s.status());
    }
    return out;
  }

  async runOnce(spec: OneOffSpec): Promise<OneOffResult> {
    if (this.#closed) throw new GantryError('GANTRY_INTERNAL', 'runtime is closed');
    validate({ uid: spec.uid });
    prepareDataDir(spec.dataPath, spec.uid);
    return runOneOff(spec, {
      unsafe: this.#o.unsafeNoSandbox,
      logSink: this.#o.logSink,
      logger: this.#o.logger,
      cgroups: this.#cgroups,
      running: this.#oneOffs,
    });
  }

  onEvent(listener: (e: RuntimeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops every process and one-off run (server shutdown). */
  async close(opts: { graceMs?: number } = {}): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sampler);
    const graceMs = opts.graceMs ?? this.#o.stopGraceMs;
    await Promise.all([
      ...[...this.#deployments.keys()].map((id) => this.remove(id, { graceMs })),
      ...[...this.#oneOffs].map((p) => p.terminate(Math.min(graceMs, ONE_OFF_KILL_GRACE_MS))),
    ]);
  }
}

function validate(spec: { uid: number }): void {
  // uid 0 would run app code as root on the host: never.
  if (!Number.isInteger(spec.uid) || spec.uid <= 0) {
    throw new GantryError('GANTRY_BAD_REQUEST', `refusing to run app processes as uid ${spec.uid}`);
  }
}
