/**
 * The runtime contract: desired state in, observed state out.
 *
 * The control plane hands a backend the desired processes of one deployment
 * (one release of one app) with `apply`; the backend converges to it and
 * keeps it converged (restarting crashed processes with backoff) until
 * `remove`. Observed state is read with `list`. Backends: `local` (bubblewrap
 * sandboxed processes on this server), later `docker` and `kubernetes`. Every
 * backend runs the shared contract suite in `contract.ts`.
 */

/**
 * Resource limits of one process (its whole sandbox: every process the command starts).
 * Enforced with cgroups (v1 or v2, detected); a field left out is unlimited.
 */
export interface ResourceLimits {
  /** Memory in bytes (cgroup v2 `memory.max`, v1 `memory.limit_in_bytes`); going over it gets the process OOM-killed. */
  memoryBytes?: number;
  /** CPU in cores, e.g. 0.5 or 2 (v2 `cpu.max`, v1 CFS quota/period); going over it throttles. */
  cpu?: number;
  /** Most tasks (processes + threads) at once (`pids.max`); fork fails beyond it. */
  pids?: number;
}

/** Last sampled resource use of a running process (its whole sandbox). */
export interface ResourceUsage {
  /** CPU over the last sample interval, in percent of one core (200 = two cores busy). */
  cpuPercent: number;
  memoryBytes: number;
  at: Date;
}

export interface ProcessSpec {
  /** Procfile process type, e.g. `web`, `worker`. */
  type: string;
  /** Shell command line from the Procfile; run by /bin/sh -c inside the sandbox. */
  command: string;
  /** Desired number of processes of this type (0 = none). */
  count: number;
  /** Web processes get a PORT assigned by the platform and receive routed traffic. */
  web: boolean;
  /** Limits for each process of this type. */
  limits?: ResourceLimits;
}

export interface DeploymentSpec {
  /** Unique, stable id of this deployment, e.g. `sales@v3`. */
  id: string;
  app: string;
  release: number;
  /** Host path of the slug, exposed read-only at /app. */
  slugPath: string;
  /** Host path of the app's persistent writable data dir, exposed at /data. */
  dataPath: string;
  /** Unprivileged uid (and gid) the app runs as. */
  uid: number;
  /** Environment: platform variables + config vars. PORT is added per web process by the backend. */
  env: Record<string, string>;
  processes: ProcessSpec[];
}

export type ProcessState = 'starting' | 'running' | 'crashed' | 'stopping' | 'stopped';

export interface ProcessStatus {
  deployment: string;
  app: string;
  release: number;
  type: string;
  /** 1-based index within its type. */
  index: number;
  /** `APP.TYPE.N`, e.g. `sales.web.1`. */
  name: string;
  state: ProcessState;
  /** Host pid of the sandbox (local backend). */
  pid?: number;
  /** Address the process listens on (web processes). */
  host: string;
  port?: number;
  /** How many times it was restarted after a crash. */
  restarts: number;
  startedAt?: Date;
  /** Exit code / signal of the last exit, if any. */
  lastExit?: { code: number | null; signal: string | null; at: Date };
  /** When the next restart attempt is due (state `crashed`). */
  nextRestartAt?: Date;
  /** Limits the process runs with (as enforced; absent when the host cannot enforce them). */
  limits?: ResourceLimits;
  /** Latest CPU/memory sample while running (sampled every few seconds). */
  usage?: ResourceUsage;
  /** How many times this slot was killed for exceeding its memory limit. */
  oomKills?: number;
}

export interface LogLine {
  app: string;
  /** `APP.TYPE.N`, or e.g. `APP.release` for one-off runs. */
  process: string;
  stream: 'stdout' | 'stderr' | 'system';
  time: Date;
  text: string;
}

export type LogSink = (line: LogLine) => void;

export interface RuntimeEvent {
  app: string;
  deployment: string;
  process: string;
  /**
   * `start`: spawned. `exit`: a process ended, expected or not (`detail` says how).
   * `crash`: it ended while it should run; a restart is scheduled. `restart`: that restart begins.
   * `stop`: stopped for good by `apply` (scale down), `restart` or `remove`.
   * `oom`: killed for exceeding its memory limit (comes before its `exit`/`crash`);
   * `detail` is the sentence users see, e.g. "out of memory: web.1 exceeded its 512 MB limit".
   */
  kind: 'start' | 'exit' | 'crash' | 'restart' | 'stop' | 'oom';
  detail?: string;
  time: Date;
}

export interface OneOffSpec {
  app: string;
  /** Name shown in logs, e.g. `sales.release`. */
  name: string;
  slugPath: string;
  dataPath: string;
  uid: number;
  env: Record<string, string>;
  command: string;
  timeoutMs?: number;
  /** Output chunks as they arrive. */
  onOutput?: (text: string) => void;
  limits?: ResourceLimits;
  /** Aborting stops the process (SIGTERM, then SIGKILL after a short grace). */
  signal?: AbortSignal;
}

export interface OneOffResult {
  exitCode: number | null;
  signal: string | null;
  /** Killed for exceeding its memory limit. */
  oomKilled?: boolean;
  /** Last ~64 KiB of combined output. */
  output: string;
}

/** What this backend can enforce on this host. */
export interface RuntimeCapabilities {
  /** Resource limits are enforced (cgroups found and writable). */
  limits: boolean;
  /** Which cgroup hierarchy is used (local backend), null when none. */
  cgroup: 'v1' | 'v2' | null;
  /** Why limits are not enforced, for `gantry limits`. */
  reason?: string;
}

export interface Runtime {
  readonly name: string;
  capabilities(): RuntimeCapabilities;
  /**
   * Converges the deployment to `spec`: starts missing processes, stops
   * surplus ones (highest index first), leaves matching ones alone. Idempotent.
   * Resolves once every process has been started (not necessarily healthy).
   */
  apply(spec: DeploymentSpec): Promise<void>;
  /** Stops every process of the deployment (SIGTERM, grace, SIGKILL) and forgets it. */
  remove(deploymentId: string, opts?: { graceMs?: number }): Promise<void>;
  /** Restarts the deployment's processes one by one (optionally only one type). */
  restart(deploymentId: string, type?: string): Promise<void>;
  /** Observed state of every process, optionally of one app. */
  list(app?: string): ProcessStatus[];
  /** Runs a command once in the app's sandbox (release phase, predeploy, one-off). */
  runOnce(spec: OneOffSpec): Promise<OneOffResult>;
  /** Subscribes to process events; returns an unsubscribe function. */
  onEvent(listener: (e: RuntimeEvent) => void): () => void;
  /** Stops everything (server shutdown). */
  close(): Promise<void>;
}
