import type { Logger } from '../log/index.js';
import type { SandboxRunner } from './runner.js';

export interface BuildSettings {
  /** Let venvs see Debian's system site-packages (python3-flask, -pandas…). */
  pythonSystemPackages: boolean;
  pipIndexUrl?: string;
  /** Host directory of wheels; builds then install offline from it only. */
  pipWheelhouse?: string;
  npmRegistry?: string;
  unsafeNoSandbox: boolean;
}

export interface BuildOptions {
  app: string;
  uid: number;
  /** Clean directory with the pushed source (from git archive / tarball). It becomes the slug in place (build writes into it). */
  sourceDir: string;
  /** Per-app persistent cache dir (create subdirs as needed). */
  cacheDir: string;
  /** App config vars (available to build commands, like Heroku). */
  env: Record<string, string>;
  settings: BuildSettings;
  /** Progress lines, shown to the pusher as `remote:` lines. */
  output: (text: string) => void;
  logger: Logger;
  signal?: AbortSignal;
}

/** What a buildpack hands each step: the runner, the source, the cache. */
export interface BuildContext {
  opts: BuildOptions;
  runner: SandboxRunner;
  /** An indented progress line. */
  say(line: string): void;
  /** True if a top-level entry of that name exists (file, dir or link). */
  has(name: string): boolean;
  /** Reads a top-level file without following links; undefined if absent. */
  read(name: string): Promise<string | undefined>;
  /** Root of the dependency caches (`<cacheDir>/deps`); undefined when caching is off. */
  depCacheRoot?: string;
}

export interface BuildpackResult {
  framework?: string;
  /** Default process commands, overridden by the Procfile. */
  processes: Record<string, string>;
  env: Record<string, string>;
  static?: { root: string };
}
