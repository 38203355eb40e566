/**
 * The control-plane operations the API exposes. The API layer validates
 * input, authenticates and authorizes (src/api/access.ts with the identity
 * directory), maps GantryError codes to HTTP statuses; everything else
 * happens behind this interface (implemented in src/deploy/platform.ts).
 */
import type { Readable } from 'node:stream';
import type { LogLine, ProcessStatus } from '../runtime/types.js';

/** A user as the old single-admin model saw them (src/auth still returns it). */
export interface User {
  id: string;
  username: string;
  role: 'admin' | 'developer' | 'viewer';
  email: string | null;
}

export interface AppSummary {
  name: string;
  /** Serving release version, null before the first deploy. */
  currentVersion: number | null;
  /** `running`, `stopped` (no processes), `crashed`, `deploying`, `new` (never deployed). */
  status: string;
  url: string;
  createdAt: string;
  updatedAt: string;
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
