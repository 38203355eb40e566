/**
 * The control-plane operations the API exposes. The API layer validates
 * input, authenticates and authorizes (src/api/access.ts with the identity
 * directory), maps GantryError codes to HTTP statuses; everything else
 * happens behind this interface (implemented in src/deploy/platform.ts).
 */
import type { Readable } from 'node:stream';
import type { LogLine, ProcessStatus, ResourceLimits } from '../runtime/types.js';
import type { ScalingSettings } from '../scaler/types.js';

/** A user as the old single-admin model saw them (src/auth still returns it). */
export interface User {
  id: string;
  username: string;
  role: 'admin' | 'developer' | 'viewer';
  email: string | null;
}

/** An app's portal picture. */
export interface ThumbnailInfo {
  /** Where browsers fetch it (`/api/apps/NAME/thumbnail?v=…`, the version busts caches). */
  url: string;
  /** `auto`: captured in headless Chromium after a deploy; `upload`: the owner's own image. */
  source: 'auto' | 'upload';
  updatedAt: string;
}

/** What the App Portal shows of an app besides its name (set in the App Manager). */
export interface AppMeta {
  /** Display name; null shows the app's name. */
  title: string | null;
  /** One or two sentences; empty when unset. */
  description: string;
  /** Lower-case words for the portal's filters, e.g. ["sales", "forecast"]. */
  tags: string[];
}

export interface AppSummary extends AppMeta {
  name: string;
  /** Serving release version, null before the first deploy. */
  currentVersion: number | null;
  /** `running`, `sleeping` (scaled to zero, wakes on the next request), `stopped` (no processes), `crashed`, `deploying`, `new` (never deployed). */
  status: string;
  url: string;
  createdAt: string;
  updatedAt: string;
  /** When the serving release went live, null before the first deploy. */
  lastDeployAt: string | null;
  thumbnail: ThumbnailInfo | null;
}

export interface AppInfo extends AppSummary {
  gitUrl: string;
  formation: Record<string, number>;
  /** Process types of the serving release with their commands. */
  processTypes: Record<string, string>;
  buildpack: string | null;
  framework: string | null;
  commit: string | null;
  processes: ProcessStatus[];
}

export interface ReleaseInfo {
  version: number;
  description: string;
  commit: string | null;
  createdAt: string;
  current: boolean;
  /** Config var names of the snapshot (values are not listed). */
  configKeys: string[];
}

export interface BuildInfo {
  id: string;
  status: 'running' | 'succeeded' | 'failed';
  commit: string | null;
  error: string | null;
  releaseVersion: number | null;
  startedAt: string;
  finishedAt: string | null;
}

/** Scale-to-zero and autoscaling of an app's web processes. */
export interface ScalingInfo {
  /** Effective settings (the user's overrides on top of the server defaults). */
  settings: ScalingSettings;
  /** Which settings the user set; the others follow the server defaults. */
  custom: (keyof ScalingSettings)[];
  /** `awake`, `asleep` (scaled to zero), `waking`, or `stopped` (not deployed / static). */
  state: 'awake' | 'asleep' | 'waking' | 'stopped';
  /** Web processes now. */
  replicas: number;
  /** Web processes the scaler wants now. */
  desired: number;
  /** Largest min/max an app may set on this server. */
  maxReplicas: number;
}

/** Resource limits per process type. */
export interface LimitsInfo {
  /** Effective limits of each process type of the serving release (plus any type with limits set). */
  types: Record<string, ResourceLimits>;
  /** What the app set, per type. */
  custom: Record<string, ResourceLimits>;
  /** Server defaults and maxima (admin settings). */
  defaults: ResourceLimits;
  maxima: ResourceLimits;
  /** Whether this host enforces limits (cgroups), and which hierarchy. */
  enforced: boolean;
  cgroup: 'v1' | 'v2' | null;
  /** Why limits are not enforced. */
  reason?: string;
}

export interface AppEvent {
  at: string;
  /** start, stop, crash, oom, restart, wake, sleep, scale, deploy, release, cron… */
  kind: string;
  /** `APP.TYPE.N` for process events, null for app-wide ones. */
  process: string | null;
  message: string;
}

export interface CronRunInfo {
  id: string;
  jobId: string;
  schedule: string;
  command: string;
  trigger: 'schedule' | 'manual';
  status: 'running' | 'succeeded' | 'failed' | 'skipped';
  startedAt: string;
  finishedAt: string | null;
  exitCode: number | null;
  /** Tail of the output (history lists leave it out). */
  output?: string;
}

export interface CronJobInfo {
  /** Stable id (from schedule + command), what `cron:run` takes. */
  id: string;
  schedule: string;
  command: string;
  /** Next scheduled run (UTC), null when the app is not deployed. */
  nextRunAt: string | null;
  lastRun: CronRunInfo | null;
}

/** One sample of an app's time series. */
export interface MetricPoint {
  /** Start of the interval, ms since the epoch. */
  t: number;
  /** Proxied requests per second over the interval. */
  rps: number;
  /** Latency percentiles over the interval, ms (null without requests). */
  p50Ms: number | null;
  p95Ms: number | null;
  /** 5xx responses over the interval. */
  errors: number;
  /** Sum over the app's processes. */
  cpuPercent: number;
  memoryBytes: number;
  /** Web processes. */
  replicas: number;
}

export interface MetricSeries {
  app: string;
  range: '1h' | '24h';
  stepSeconds: number;
  points: MetricPoint[];
}

/** Something that changed on an app, for live views (`GET /api/apps/NAME/activity`). */
export type AppActivity =
  | { type: 'build'; build: BuildInfo }
  | { type: 'event'; event: AppEvent }
  | { type: 'release'; release: ReleaseInfo }
  | { type: 'thumbnail'; thumbnail: ThumbnailInfo | null };

/** A build's output so far and, for a finished build, how it ended. */
export interface BuildWatch {
  /** Output written before the watch began. */
  backlog: string;
  /** The build as it is now; `status !== 'running'` means no more output will come. */
  build: BuildInfo;
  /** Stops the listeners (call it when the client goes away). */
  stop: () => void;
}

/** One app's line in the admin resource overview. */
export interface AppUsage {
  name: string;
  owner: string | null;
  status: string;
  /** Running processes (all types) and web processes. */
  processes: number;
  webReplicas: number;
  /** Sums over the app's processes, from the last sample. */
  cpuPercent: number;
  memoryBytes: number;
  /** Averages over the last 5 minutes of the 1 h series. */
  rps: number;
  p95Ms: number | null;
  /** 5xx responses over the last hour. */
  errors: number;
}

export interface ResourceOverview {
  totals: {
    apps: number;
    running: number;
    sleeping: number;
    /** Apps with no processes that do not wake by themselves (new, stopped, crashed). */
    stopped: number;
    processes: number;
    cpuPercent: number;
    memoryBytes: number;
  };
  /** Busiest first: by requests/s, then CPU, then memory. */
  apps: AppUsage[];
  /** When the numbers were read. */
  at: string;
}

/** Where a deploy writes its progress, line by line (git `remote:` lines, API stream). */
export type OutputSink = (text: string) => void;

/**
 * App operations. Who may call them is decided before (the API's access hook
 * and the identity directory); the platform trusts its caller.
 */
export interface Platform {
  listApps(): Promise<AppSummary[]>;
  /**
   * Creates an app owned by the user with id `ownerId` (null: no owner, admins manage it).
   * The API then tells the directory (directory.appCreated) so access checks see it at once.
   */
  createApp(name: string, ownerId?: string | null): Promise<AppInfo>;
  getApp(name: string): Promise<AppInfo>;
  destroyApp(name: string): Promise<void>;

  getConfig(app: string): Promise<Record<string, string>>;
  /** Sets and/or unsets vars, creates a release and rolls it out without downtime (if the app runs). */
  updateConfig(
    app: string,
    change: { set?: Record<string, string>; unset?: string[] },
  ): Promise<ReleaseInfo | null>;

  listProcesses(app: string): Promise<ProcessStatus[]>;
  scale(app: string, formation: Record<string, number>): Promise<Record<string, number>>;
  /** Rolling restart; web (or no type) is restarted without downtime, other types one process at a time. */
  restart(app: string, type?: string): Promise<void>;

  /** Last `lines` log lines of the app (all processes, oldest first). */
  tailLogs(app: string, lines: number): Promise<LogLine[]>;
  /** Calls `listener` for each new line until the returned function is called. */
  followLogs(app: string, listener: (line: LogLine) => void): Promise<() => void>;

  listReleases(app: string): Promise<ReleaseInfo[]>;
  /** Re-activates the slug and config of `version` (default: the one before the current) as a new release. */
  rollback(app: string, version?: number): Promise<ReleaseInfo>;

  /** Scale-to-zero / autoscaling settings and state of the web processes. */
  getScaling(app: string): Promise<ScalingInfo>;
  /** Changes some settings (null resets one to the server default). Throws GANTRY_BAD_REQUEST past the server's bounds. */
  setScaling(
    app: string,
    change: { [K in keyof ScalingSettings]?: ScalingSettings[K] | null },
  ): Promise<ScalingInfo>;
  /** Puts the web processes to sleep now (they wake on the next request). */
  sleep(app: string): Promise<void>;
  /** Wakes a sleeping app now; resolves once it serves. */
  wake(app: string): Promise<void>;

  getLimits(app: string): Promise<LimitsInfo>;
  /** Sets a process type's limits (null: back to the server defaults) and restarts that type with them. */
  setLimits(app: string, type: string, limits: ResourceLimits | null): Promise<LimitsInfo>;

  /** Newest first. */
  listEvents(app: string, opts: { limit: number }): Promise<AppEvent[]>;

  listCronJobs(app: string): Promise<CronJobInfo[]>;
  /** Newest first; without output. */
  listCronRuns(app: string, opts: { jobId?: string; limit: number }): Promise<CronRunInfo[]>;
  /** Runs a cron entry now (output streamed); refuses with GANTRY_CONFLICT while it already runs. */
  runCronJob(app: string, jobId: string, output: OutputSink, signal?: AbortSignal): Promise<CronRunInfo>;
  /**
   * Runs a one-off process (argv, quoted for the sandbox's shell) with the serving
   * release's slug and config; output streamed; aborting stops it.
   */
  runCommand(
    app: string,
    argv: string[],
    output: OutputSink,
    signal?: AbortSignal,
  ): Promise<{ exitCode: number | null; signal: string | null }>;

  getMetrics(app: string, range: '1h' | '24h'): Promise<MetricSeries>;
  /** Every app's metrics in Prometheus text exposition format (admins). */
  prometheus(): Promise<string>;

  /** Changes the portal fields given; leaves the others. Throws GANTRY_BAD_REQUEST on bad tags or lengths. */
  setAppMeta(app: string, change: Partial<AppMeta>): Promise<AppInfo>;
  /** The app's picture, or null when it has none (yet). */
  getThumbnail(app: string): Promise<{ body: Buffer; contentType: string; etag: string } | null>;
  /** Stores the owner's own image (PNG, JPEG or WebP, checked by its bytes); automatic captures stop replacing it. */
  putThumbnail(app: string, image: Buffer): Promise<ThumbnailInfo>;
  /** Drops an uploaded image and goes back to automatic captures (one is started). */
  deleteThumbnail(app: string): Promise<void>;
  /** Captures the app now in headless Chromium, as its owner sees it. Throws GANTRY_CONFLICT while an upload is in place, GANTRY_UNSUPPORTED when no browser is installed. */
  captureThumbnail(app: string): Promise<ThumbnailInfo>;

  /**
   * Output of a build so far, then every new chunk through `listener` until
   * the build ends (`onEnd` with the final record) or `stop` is called.
   */
  watchBuild(
    app: string,
    buildId: string,
    listener: (chunk: string) => void,
    onEnd: (build: BuildInfo) => void,
  ): Promise<BuildWatch>;
  /** Calls `listener` for every build start/end, release, thumbnail and app event of `app` until the returned function is called. */
  watchApp(app: string, listener: (a: AppActivity) => void): Promise<() => void>;
  /** Every app's processes, CPU, memory and traffic (admins). */
  overview(): Promise<ResourceOverview>;

  listBuilds(app: string): Promise<BuildInfo[]>;
  getBuildLog(app: string, buildId: string): Promise<string>;
  /** Builds and deploys a gzipped tarball of an app's source. Throws GantryError on failure; `signal` aborts the build. */
  deployTarball(
    app: string,
    tarball: Readable,
    output: OutputSink,
    signal?: AbortSignal,
  ): Promise<ReleaseInfo>;
}
