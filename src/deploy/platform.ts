/**
 * The Platform the API serves: app records, config, processes, logs,
 * releases, portal fields and pictures, and live views, composed from the
 * records, the deployer, the runtime and the live hub.
 */
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type {
  AppActivity,
  AppEvent,
  AppInfo,
  AppMeta,
  AppSummary,
  BuildInfo,
  BuildWatch,
  CronJobInfo,
  CronRunInfo,
  LimitsInfo,
  MetricSeries,
  OutputSink,
  Platform,
  ReleaseInfo,
  ResourceOverview,
  ScalingInfo,
  ThumbnailInfo,
} from '../api/platform.js';
import type { ResourceLimits } from '../runtime/types.js';
import type { ElasticOps, ScalingChange } from './elastic.js';
import type { AppRecords, AppRow } from '../apps/records.js';
import { normalizeAppMeta } from '../apps/index.js';
import { GantryError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { LogStore } from '../logs/index.js';
import type { LogLine, ProcessStatus, Runtime } from '../runtime/types.js';
import type { Deployer } from './deployer.js';
import type { Rollout } from './rollout.js';
import { extractTarball, MAX_TARBALL_ENTRIES } from './tarball.js';
import { toReleaseInfo, type LiveHub } from './live.js';
import { appUsage, summarize } from './overview.js';
import { AppPictures, toThumbnailInfo, type ThumbnailJobs } from './pictures.js';

export type { ThumbnailJobs } from './pictures.js';

export interface PlatformDeps {
  records: AppRecords;
  deployer: Deployer;
  rollout: Rollout;
  runtime: Runtime;
  logs: LogStore;
  publicUrl: string;
  maxPushBytes: number;
  validateAppName: (name: string) => void;
  /** Scaling, limits, events, cron, one-off runs, metrics. */
  elastic: ElasticOps;
  /** Git repo lifecycle (created with the app, removed with it). */
  repos: { ensureRepo(app: string): Promise<string>; removeRepo(app: string): Promise<void> };
  /** Running builds and app activity; the same hub the deployer feeds. */
  live: LiveHub;
  /** New app events as they are recorded (the EventLog). */
  events: { subscribe(app: string, listener: (e: AppEvent) => void): () => void };
  logger: Logger;
  /** Automatic app pictures; without it apps only have uploaded ones. */
  thumbnails?: ThumbnailJobs;
}

/** How long watchBuild waits for a build whose record exists to reach the hub. */
const BUILD_START_GRACE_MS = 200;

export class GantryPlatform implements Platform {
  readonly #d: PlatformDeps;
  readonly #pictures: AppPictures;

  constructor(d: PlatformDeps) {
    this.#d = d;
    this.#pictures = new AppPictures(d);
    // Every successful build (git push or upload) gets a fresh picture.
    d.live.onActivity((app, a) => {
      if (a.type === 'build' && a.build.status === 'succeeded') this.#pictures.autoCapture(app);
    });
  }

  #status(app: AppRow): string {
    if (this.#d.deployer.lock.isLocked(app.name) && app.currentVersion === null) return 'deploying';
    if (app.currentVersion === null) return 'new';
    const active = this.#d.rollout.active(app.name);
    if (!active) return 'stopped';
    if (active.slug.manifest.static) return 'running';
    if (active.sleeping) return 'sleeping';
    const procs = this.#d.runtime.list(app.name).filter((p) => p.deployment === active.deploymentId);
    if (procs.some((p) => p.state === 'crashed')) return 'crashed';
    return procs.length ? 'running' : 'stopped';
  }

  #summary(app: AppRow): AppSummary {
    return {
      name: app.name,
      currentVersion: app.currentVersion,
      status: this.#status(app),
      url: `${this.#d.publicUrl}/apps/${app.name}/`,
      createdAt: app.createdAt,
      updatedAt: app.updatedAt,
      title: app.title,
      description: app.description,
      tags: app.tags,
      lastDeployAt: app.lastDeployAt,
      thumbnail: app.thumbnail && toThumbnailInfo(app.name, app.thumbnail),
    };
  }

  async listApps(): Promise<AppSummary[]> {
    return (await this.#d.records.list()).map((a) => this.#summary(a));
  }

  async createApp(name: string, ownerId: string | null = null): Promise<AppInfo> {
    this.#d.validateAppName(name);
    await this.#d.records.create(name, ownerId);
    await this.#d.repos.ensureRepo(name);
    return this.getApp(name);
  }

  async getApp(name: string): Promise<AppInfo> {
    const app = await this.#d.records.get(name);
    const active = this.#d.rollout.active(name);
    const m = active?.slug.manifest;
    return {
      ...this.#summary(app),
      gitUrl: `${this.#d.publicUrl}/git/${name}.git`,
      formation: app.formation,
      processTypes: m?.processes ?? {},
      buildpack: m?.buildpack ?? null,
      framework: m?.framework ?? null,
      commit: active?.slug.commit ?? null,
      processes: this.#d.runtime.list(name),
    };
  }

  async destroyApp(name: string): Promise<void> {
    await this.#d.deployer.lock.run(name, async () => {
      const app = await this.#d.records.get(name);
      await this.#d.rollout.stop(name);
      this.#d.elastic.forget(name);
      await this.#d.records.destroy(app.id);
      await this.#d.repos.removeRepo(name);
      await this.#d.logs.forget(name);
      await rm(this.#d.deployer.appDir(name), { recursive: true, force: true });
    });
  }

  async getConfig(app: string): Promise<Record<string, string>> {
    return this.#d.records.getConfig((await this.#d.records.get(app)).id);
  }

  async updateConfig(
    app: string,
    change: { set?: Record<string, string>; unset?: string[] },
  ): Promise<ReleaseInfo | null> {
    const r = await this.#d.deployer.updateConfig(app, change);
    return r && toReleaseInfo(r, r.version);
  }

  async listProcesses(app: string): Promise<ProcessStatus[]> {
    await this.#d.records.get(app);
    return this.#d.runtime.list(app);
  }

  async scale(app: string, formation: Record<string, number>): Promise<Record<string, number>> {
    this.#d.elastic.checkScale(await this.#d.records.get(app), formation);
    const next = await this.#d.deployer.scale(app, formation);
    this.#d.elastic.sync(await this.#d.records.get(app));
    return next;
  }

  getScaling(app: string): Promise<ScalingInfo> {
    return this.#d.elastic.getScaling(app);
  }

  setScaling(app: string, change: ScalingChange): Promise<ScalingInfo> {
    return this.#d.elastic.setScaling(app, change);
  }

  sleep(app: string): Promise<void> {
    return this.#d.elastic.sleep(app);
  }

  wake(app: string): Promise<void> {
    return this.#d.elastic.wake(app);
  }

  getLimits(app: string): Promise<LimitsInfo> {
    return this.#d.elastic.getLimits(app);
  }

  setLimits(app: string, type: string, limits: ResourceLimits | null): Promise<LimitsInfo> {
    return this.#d.elastic.setLimits(app, type, limits);
  }

  listEvents(app: string, opts: { limit: number }): Promise<AppEvent[]> {
    return this.#d.elastic.listEvents(app, opts.limit);
  }

  listCronJobs(app: string): Promise<CronJobInfo[]> {
    return this.#d.elastic.listCronJobs(app);
  }

  listCronRuns(app: string, opts: { jobId?: string; limit: number }): Promise<CronRunInfo[]> {
    return this.#d.elastic.listCronRuns(app, opts);
  }

  runCronJob(app: string, jobId: string, output: OutputSink, signal?: AbortSignal): Promise<CronRunInfo> {
    return this.#d.elastic.runCronJob(app, jobId, output, signal);
  }

  runCommand(
    app: string,
    argv: string[],
    output: OutputSink,
    signal?: AbortSignal,
  ): Promise<{ exitCode: number | null; signal: string | null }> {
    return this.#d.elastic.runCommand(app, argv, output, signal);
  }

  getMetrics(app: string, range: '1h' | '24h'): Promise<MetricSeries> {
    return this.#d.elastic.getMetrics(app, range);
  }

  prometheus(): Promise<string> {
    return Promise.resolve(this.#d.elastic.prometheus());
  }

  async restart(app: string, type?: string): Promise<void> {
    await this.#d.deployer.restart(app, type);
  }

  async tailLogs(app: string, lines: number): Promise<LogLine[]> {
    await this.#d.records.get(app);
    return this.#d.logs.tail(app, lines);
  }

  async followLogs(app: string, listener: (line: LogLine) => void): Promise<() => void> {
    await this.#d.records.get(app);
    return this.#d.logs.subscribe(app, listener);
  }

  async listReleases(app: string): Promise<ReleaseInfo[]> {
    const a = await this.#d.records.get(app);
    return (await this.#d.records.listReleases(a.id)).map((r) => toReleaseInfo(r, a.currentVersion));
  }

  async rollback(app: string, version?: number): Promise<ReleaseInfo> {
    const r = await this.#d.deployer.rollback(app, version);
    this.#pictures.autoCapture(app);
    return toReleaseInfo(r, r.version);
  }

  async setAppMeta(app: string, change: Partial<AppMeta>): Promise<AppInfo> {
    const meta = normalizeAppMeta(change);
    await this.#d.records.setMeta((await this.#d.records.get(app)).id, meta);
    return this.getApp(app);
  }

  getThumbnail(app: string): Promise<{ body: Buffer; contentType: string; etag: string } | null> {
    return this.#pictures.get(app);
  }

  putThumbnail(app: string, image: Buffer): Promise<ThumbnailInfo> {
    return this.#pictures.put(app, image);
  }

  deleteThumbnail(app: string): Promise<void> {
    return this.#pictures.delete(app);
  }

  captureThumbnail(app: string): Promise<ThumbnailInfo> {
    return this.#pictures.capture(app);
  }

  /**
   * Stores a picture the thumbnail taker captured in the background. Null
   * (nothing stored) when the app is gone or its owner uploaded a picture meanwhile.
   */
  storeCapturedThumbnail(
    app: string,
    image: Buffer,
    contentType: 'image/jpeg' | 'image/png',
  ): Promise<ThumbnailInfo | null> {
    return this.#pictures.storeCaptured(app, image, contentType);
  }

  async watchBuild(
    app: string,
    buildId: string,
    listener: (chunk: string) => void,
    onEnd: (build: BuildInfo) => void,
  ): Promise<BuildWatch> {
    const a = await this.#d.records.get(app);
    const notFound = () => new GantryError('GANTRY_NOT_FOUND', `build ${buildId} of app "${app}" not found`);
    const deadline = Date.now() + BUILD_START_GRACE_MS;
    for (;;) {
      const w = this.#d.live.watchBuild(buildId, listener, onEnd);
      if (w) {
        if (w.app === app) return { backlog: w.backlog, build: w.build, stop: w.stop };
        w.stop();
        throw notFound();
      }
      const rec = await this.#d.records.getBuild(a.id, buildId);
      if (!rec) throw notFound();
      const { appId: _a, ...build } = rec;
      const backlog = await this.#d.records.getBuildLog(a.id, buildId);
      if (build.status !== 'running') return { backlog, build, stop: () => undefined };
      // Recorded as running but not in the hub: either the deployer is about to
      // announce it, or the server stopped during the build and it never ended.
      if (Date.now() > deadline)
        return {
          backlog,
          build: { ...build, status: 'failed', error: 'the server stopped during this build' },
          stop: () => undefined,
        };
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async watchApp(app: string, listener: (a: AppActivity) => void): Promise<() => void> {
    await this.#d.records.get(app);
    const stopLive = this.#d.live.watchApp(app, listener);
    const stopEvents = this.#d.events.subscribe(app, (event) => listener({ type: 'event', event }));
    return () => {
      stopLive();
      stopEvents();
    };
  }

  async overview(): Promise<ResourceOverview> {
    const at = new Date();
    const apps = (await this.#d.records.list()).map((a) =>
      appUsage({
        name: a.name,
        owner: a.owner,
        status: this.#status(a),
        processes: this.#d.runtime.list(a.name),
        series: this.#d.elastic.seriesOf(a.name, '1h'),
        now: at.getTime(),
      }),
    );
    return summarize(apps, at);
  }

  async listBuilds(app: string): Promise<BuildInfo[]> {
    const a = await this.#d.records.get(app);
    return (await this.#d.records.listBuilds(a.id)).map(({ appId: _a, ...b }) => b);
  }

  async getBuildLog(app: string, buildId: string): Promise<string> {
    const a = await this.#d.records.get(app);
    return this.#d.records.getBuildLog(a.id, buildId);
  }

  async deployTarball(
    app: string,
    tarball: Readable,
    output: OutputSink,
    signal?: AbortSignal,
  ): Promise<ReleaseInfo> {
    await this.#d.records.get(app);
    const max = this.#d.maxPushBytes;
    const r = await this.#d.deployer.deploySource({
      app,
      commit: null,
      output,
      signal,
      // Bounded both ways: compressed bytes read, and what they unpack to (gzip bombs).
      fill: async (dir) => {
        await extractTarball({
          source: tarball,
          dir,
          limits: {
            maxCompressedBytes: max,
            maxExtractedBytes: max * 4,
            maxEntries: MAX_TARBALL_ENTRIES,
          },
        });
      },
    });
    return toReleaseInfo(r, r.version);
  }
}
