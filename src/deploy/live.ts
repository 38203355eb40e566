/**
 * What live views (SSE streams) watch: the output of running builds and the
 * activity of each app (builds starting and ending, releases, pictures). The
 * deployer feeds it as things happen; the platform hands out watches. In
 * memory only: a build's full log is in its record once it ends.
 */
import type { AppActivity, BuildInfo, ReleaseInfo } from '../api/platform.js';
import type { ReleaseRow } from '../apps/records.js';
import type { Logger } from '../log/index.js';

/** Build output kept while a build runs and for its record: the head and the tail, at most ~1 MiB. */
export class BoundedLog {
  static readonly MAX = 1 << 20;
  readonly #head: string[] = [];
  readonly #tail: string[] = [];
  #headSize = 0;
  #tailSize = 0;
  #dropped = 0;

  push(t: string): void {
    if (this.#headSize < BoundedLog.MAX / 2) {
      this.#head.push(t);
      this.#headSize += t.length;
      return;
    }
    this.#tail.push(t);
    this.#tailSize += t.length;
    while (this.#tailSize > BoundedLog.MAX / 2 && this.#tail.length > 1) {
      const gone = this.#tail.shift()!;
      this.#tailSize -= gone.length;
      this.#dropped += gone.length;
    }
  }

  text(): string {
    const gap = this.#dropped ? `\n[… ${this.#dropped} bytes of output omitted …]\n` : '';
    return this.#head.join('') + gap + this.#tail.join('');
  }
}

export const toReleaseInfo = (r: ReleaseRow, current: number | null): ReleaseInfo => ({
  version: r.version,
  description: r.description,
  commit: r.commit,
  createdAt: r.createdAt,
  current: r.version === current,
  configKeys: Object.keys(r.config).sort(),
});

export type ActivityListener = (a: AppActivity) => void;

interface BuildWatcher {
  chunk: (text: string) => void;
  end: (build: BuildInfo) => void;
}

interface RunningBuild {
  app: string;
  build: BuildInfo;
  log: BoundedLog;
  watchers: Set<BuildWatcher>;
}

export class LiveHub {
  readonly #logger: Logger;
  readonly #builds = new Map<string, RunningBuild>();
  readonly #apps = new Map<string, Set<ActivityListener>>();
  readonly #all = new Set<(app: string, a: AppActivity) => void>();

  constructor(opts: { logger: Logger }) {
    this.#logger = opts.logger;
  }

  /** A build of `app` began (its record is written); its output follows through buildOutput. */
  buildStarted(app: string, build: BuildInfo): void {
    this.#builds.set(build.id, { app, build, log: new BoundedLog(), watchers: new Set() });
    this.emit(app, { type: 'build', build });
  }

  buildOutput(buildId: string, chunk: string): void {
    const b = this.#builds.get(buildId);
    if (!b) return;
    b.log.push(chunk);
    for (const w of b.watchers) this.#call(b.app, () => w.chunk(chunk));
  }

  /** The build ended and `build` is its final record; its watchers are told and dropped. */
  buildEnded(app: string, build: BuildInfo): void {
    const b = this.#builds.get(build.id);
    this.#builds.delete(build.id);
    for (const w of b?.watchers ?? []) this.#call(app, () => w.end(build));
    this.emit(app, { type: 'build', build });
  }

  /** Tells everyone watching `app` (and the all-apps listeners). A throwing listener harms nobody. */
  emit(app: string, activity: AppActivity): void {
    for (const l of this.#apps.get(app) ?? []) this.#call(app, () => l(activity));
    for (const l of this.#all) this.#call(app, () => l(app, activity));
  }

  /**
   * Output of a running build so far, then each chunk and its end. Undefined
   * when the build is not running in this process (ended, or never started):
   * its record then has the whole story.
   */
  watchBuild(
    buildId: string,
    chunk: (text: string) => void,
    end: (build: BuildInfo) => void,
  ): { app: string; backlog: string; build: BuildInfo; stop: () => void } | undefined {
    const b = this.#builds.get(buildId);
    if (!b) return undefined;
    const w: BuildWatcher = { chunk, end };
    b.watchers.add(w);
    return { app: b.app, backlog: b.log.text(), build: b.build, stop: () => b.watchers.delete(w) };
  }

  /** Activity of one app until the returned function is called. */
  watchApp(app: string, listener: ActivityListener): () => void {
    let set = this.#apps.get(app);
    if (!set) this.#apps.set(app, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#apps.get(app) === set) this.#apps.delete(app);
    };
  }

  /** Activity of every app (the platform starts picture captures after deploys with it). */
  onActivity(listener: (app: string, a: AppActivity) => void): () => void {
    this.#all.add(listener);
    return () => this.#all.delete(listener);
  }

  #call(app: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#logger.error({ err, app }, 'live listener failed');
    }
  }
}
