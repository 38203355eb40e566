/**
 * An in-memory Platform for the API and CLI tests: real behaviour (apps,
 * config, releases, logs, untarring deploys) without processes. It records
 * every call so tests can assert what reached it. Given `records`, it also
 * writes the apps rows (with their owner), so the identity directory's grants
 * on them work as in production.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import * as tar from 'tar';
import { GantryError } from '../errors/index.js';
import type { LogLine, ProcessStatus, ResourceLimits } from '../runtime/types.js';
import type { ScalingSettings } from '../scaler/types.js';
import { parseAppJson, parseProcfile } from '../apps/index.js';
import type { AppRecords } from '../apps/records.js';
import type {
  AppActivity,
  AppInfo,
  AppMeta,
  BuildInfo,
  MetricPoint,
  OutputSink,
  Platform,
  ReleaseInfo,
} from './platform.js';
import { newElasticState, type ElasticState } from './fake-elastic.js';
import { FakeJobs } from './fake-jobs.js';
import { FakePortal, WatchedElastic, type FakeBuild } from './fake-portal.js';

interface FakeApp {
  info: AppInfo;
  config: Record<string, string>;
  releases: ReleaseInfo[];
  builds: FakeBuild[];
  elastic: ElasticState;
}

/** The admin's password in test directories (see testIdentity in ./testing.ts). */
export const FAKE_PASSWORD = 'correct horse';

async function listFiles(dir: string, root = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, root)));
    else out.push(relative(root, p));
  }
  return out.sort();
}

export class FakePlatform implements Platform {
  readonly calls: { method: string; args: unknown[] }[] = [];
  /** Files of the last deployed tarball, relative paths, sorted. */
  lastDeployFiles: string[] = [];
  readonly #apps = new Map<string, FakeApp>();
  readonly #logs: LogLine[] = [];
  readonly #followers = new Set<(l: LogLine) => void>();
  readonly #records: AppRecords | undefined;
  /** Scaling, limits, events, cron, runs and metrics (tests tune its defaults and capabilities). */
  readonly elastic = new WatchedElastic(
    (name) => this.#app(name),
    (app, event) => this.portal.emit(app, { type: 'event', event }),
  );
  /** Cron jobs, one-off runs (`running`, `lastRunExit` tell tests what runs), metrics. */
  readonly jobs = new FakeJobs(
    this.elastic,
    (name) => this.#app(name),
    () => this.#apps.values(),
  );
  /** Portal fields, pictures (`browser`, `captures`), live watches (`watchers`), the overview. */
  readonly portal = new FakePortal({
    find: (name) => this.#app(name),
    all: () => this.#apps.values(),
    elastic: this.elastic,
    metrics: (name) => this.jobs.getMetrics(name, '1h'),
  });

  constructor(opts: { records?: AppRecords } = {}) {
    this.#records = opts.records;
  }

  #record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
  }

  #app(name: string): FakeApp {
    const a = this.#apps.get(name);
    if (!a) throw new GantryError('GANTRY_APP_NOT_FOUND', `app ${name} not found`);
    return a;
  }

  async listApps() {
    return [...this.#apps.values()].map(({ info }) => ({
      name: info.name,
      title: info.title,
      description: info.description,
      tags: [...info.tags],
      currentVersion: info.currentVersion,
      status: info.status,
      url: info.url,
      createdAt: info.createdAt,
      updatedAt: info.updatedAt,
      lastDeployAt: info.lastDeployAt,
      thumbnail: info.thumbnail,
    }));
  }
  async createApp(name: string, ownerId: string | null = null): Promise<AppInfo> {
    this.#record('createApp', name);
    if (name.length > 30)
      throw new GantryError('GANTRY_INVALID_APP_NAME', 'app names have at most 30 characters');
    if (this.#apps.has(name)) throw new GantryError('GANTRY_APP_EXISTS', `app ${name} already exists`);
    await this.#records?.create(name, ownerId);
    const now = new Date().toISOString();
    const info: AppInfo = {
      name,
      title: null,
      description: '',
      tags: [],
      currentVersion: null,
      status: 'new',
      url: `http://gantry.test/apps/${name}/`,
      createdAt: now,
      updatedAt: now,
      lastDeployAt: null,
      thumbnail: null,
      gitUrl: `http://gantry.test/git/${name}.git`,
      formation: { web: 1 },
      processTypes: {},
      buildpack: null,
      framework: null,
      commit: null,
      processes: [],
    };
    this.#apps.set(name, { info, config: {}, releases: [], builds: [], elastic: newElasticState() });
    return info;
  }
  async getApp(name: string): Promise<AppInfo> {
    return this.#app(name).info;
  }
  async destroyApp(name: string): Promise<void> {
    this.#record('destroyApp', name);
    this.#app(name);
    const row = await this.#records?.find(name);
    if (row) await this.#records!.destroy(row.id);
    this.#apps.delete(name);
    this.portal.forget(name);
  }

  async getConfig(app: string) {
    return { ...this.#app(app).config };
  }
  async updateConfig(app: string, change: { set?: Record<string, string>; unset?: string[] }) {
    this.#record('updateConfig', app, change);
    const a = this.#app(app);
    Object.assign(a.config, change.set ?? {});
    for (const k of change.unset ?? []) delete a.config[k];
    if (a.info.currentVersion === null) return null;
    const parts = [
      ...Object.keys(change.set ?? {}).map((k) => `Set ${k}`),
      ...(change.unset ?? []).map((k) => `Unset ${k}`),
    ];
    return this.#release(a, parts.join(', '));
  }

  #release(a: FakeApp, description: string): ReleaseInfo {
    for (const r of a.releases) r.current = false;
    const r: ReleaseInfo = {
      version: a.releases.length + 1,
      description,
      commit: null,
      createdAt: new Date().toISOString(),
      current: true,
      configKeys: Object.keys(a.config).sort(),
    };
    a.releases.unshift(r);
    a.info.currentVersion = r.version;
    a.info.status = 'running';
    a.info.lastDeployAt = r.createdAt;
    this.portal.emit(a.info.name, { type: 'release', release: { ...r } });
    this.elastic.event(a, 'release', null, `v${r.version}: ${description}`);
    return r;
  }

  async listProcesses(app: string): Promise<ProcessStatus[]> {
    return this.elastic.processes(app);
  }
  async scale(app: string, formation: Record<string, number>) {
    this.#record('scale', app, formation);
    const a = this.#app(app);
    this.elastic.checkScale(app, formation);
    Object.assign(a.info.formation, formation);
    for (const [type, n] of Object.entries(formation))
      this.elastic.event(a, 'scale', null, `${type} scaled to ${n} by hand`);
    return { ...a.info.formation };
  }
  async restart(app: string, type?: string) {
    this.#record('restart', app, type);
    this.#app(app);
  }

  /** Adds a log line and hands it to followers (tests drive the log stream with this). */
  log(app: string, process: string, text: string, time = new Date()): void {
    const line: LogLine = { app, process, stream: 'stdout', time, text };
    this.#logs.push(line);
    for (const f of this.#followers) f(line);
  }
  /** How many followLogs subscriptions are open. */
  get followers(): number {
    return this.#followers.size;
  }
  async tailLogs(app: string, lines: number) {
    this.#app(app);
    const mine = this.#logs.filter((l) => l.app === app);
    return lines === 0 ? [] : mine.slice(-lines);
  }
  async followLogs(app: string, listener: (line: LogLine) => void) {
    this.#app(app);
    const f = (l: LogLine): void => {
      if (l.app === app) listener(l);
    };
    this.#followers.add(f);
    return () => {
      this.#followers.delete(f);
    };
  }

  async listReleases(app: string) {
    return this.#app(app).releases;
  }
  async rollback(app: string, version?: number) {
    this.#record('rollback', app, version);
    const a = this.#app(app);
    const current = a.info.currentVersion;
    if (current === null) throw new GantryError('GANTRY_NO_RELEASE', `${app} has no release`);
    const target = version ?? current - 1;
    if (!a.releases.some((r) => r.version === target)) {
      throw new GantryError('GANTRY_RELEASE_NOT_FOUND', `release v${target} not found`);
    }
    return this.#release(a, `Rollback to v${target}`);
  }

  async getScaling(app: string) {
    return this.elastic.getScaling(app);
  }
  async setScaling(app: string, change: { [K in keyof ScalingSettings]?: ScalingSettings[K] | null }) {
    this.#record('setScaling', app, change);
    return this.elastic.setScaling(app, change);
  }
  async sleep(app: string) {
    this.#record('sleep', app);
    this.elastic.sleep(app);
  }
  async wake(app: string) {
    this.#record('wake', app);
    this.elastic.wake(app);
  }
  async getLimits(app: string) {
    return this.elastic.getLimits(app);
  }
  async setLimits(app: string, type: string, limits: ResourceLimits | null) {
    this.#record('setLimits', app, type, limits);
    return this.elastic.setLimits(app, type, limits);
  }
  async listEvents(app: string, opts: { limit: number }) {
    return this.elastic.listEvents(app, opts.limit);
  }
  async listCronJobs(app: string) {
    return this.jobs.listCronJobs(app);
  }
  async listCronRuns(app: string, opts: { jobId?: string; limit: number }) {
    return this.jobs.listCronRuns(app, opts);
  }
  async runCronJob(app: string, jobId: string, output: OutputSink, signal?: AbortSignal) {
    this.#record('runCronJob', app, jobId);
    return this.jobs.runCronJob(app, jobId, output, signal);
  }
  async runCommand(app: string, argv: string[], output: OutputSink, signal?: AbortSignal) {
    this.#record('runCommand', app, argv);
    return this.jobs.runCommand(app, argv, output, signal);
  }
  async getMetrics(app: string, range: '1h' | '24h') {
    return this.jobs.getMetrics(app, range);
  }
  async prometheus() {
    return this.jobs.prometheus();
  }

  /** A release without a tarball: what a successful deploy of this Procfile (and app.json cron) leaves. */
  deployFake(
    app: string,
    manifest: { processTypes?: Record<string, string>; cron?: { schedule: string; command: string }[] } = {},
  ): ReleaseInfo {
    const a = this.#app(app);
    a.info.processTypes = manifest.processTypes ?? { web: 'python app.py' };
    if (manifest.cron) this.setCron(app, manifest.cron);
    return this.#release(a, 'Deploy');
  }
  /** Sets an app's cron entries (as a deploy with app.json `cron` does). */
  setCron(app: string, entries: { schedule: string; command: string }[]): void {
    this.#app(app).elastic.cron = entries.map(({ schedule, command }) => ({ schedule, command }));
  }
  /** Records an app event (what the runtime and scaler report in production). */
  event(app: string, kind: string, process: string | null, message: string): void {
    this.elastic.event(this.#app(app), kind, process, message);
  }
  /** Adds a metrics sample. */
  addMetric(app: string, point: MetricPoint): void {
    this.#app(app).elastic.metrics.push(point);
  }
  /** Sets the CPU/memory a process reports. */
  setUsage(app: string, process: string, usage: { cpuPercent: number; memoryBytes: number }): void {
    this.#app(app).elastic.usage.set(process, usage);
  }

  async setAppMeta(app: string, change: Partial<AppMeta>) {
    this.#record('setAppMeta', app, change);
    return this.portal.setMeta(app, change);
  }
  async getThumbnail(app: string) {
    return this.portal.getThumbnail(app);
  }
  async putThumbnail(app: string, image: Buffer) {
    this.#record('putThumbnail', app, image.length);
    return this.portal.putThumbnail(app, image);
  }
  async deleteThumbnail(app: string) {
    this.#record('deleteThumbnail', app);
    this.portal.deleteThumbnail(app);
  }
  async captureThumbnail(app: string) {
    this.#record('captureThumbnail', app);
    return this.portal.captureThumbnail(app);
  }
  async watchBuild(
    app: string,
    buildId: string,
    listener: (chunk: string) => void,
    onEnd: (build: BuildInfo) => void,
  ) {
    return this.portal.watchBuild(app, buildId, listener, onEnd);
  }
  async watchApp(app: string, listener: (a: AppActivity) => void) {
    return this.portal.watchApp(app, listener);
  }
  async overview() {
    return this.portal.overview();
  }

  /** Starts a build by hand (tests drive it with buildOutput and finishBuild); returns its id. */
  startBuild(app: string): string {
    return this.portal.startBuild(this.#app(app)).id;
  }
  buildOutput(app: string, buildId: string, text: string): void {
    this.portal.buildOutput(this.#app(app), this.#build(app, buildId), text);
  }
  /** Ends a build: a success releases it (as a deploy does), a failure records `error`. */
  finishBuild(app: string, buildId: string, error?: string): ReleaseInfo | null {
    const a = this.#app(app);
    const build = this.#build(app, buildId);
    if (error !== undefined) {
      this.portal.finishBuild(a, build, { error });
      return null;
    }
    const release = this.#release(a, 'Deploy');
    this.portal.finishBuild(a, build, { releaseVersion: release.version });
    return release;
  }
  #build(app: string, buildId: string): FakeBuild {
    const b = this.#app(app).builds.find((x) => x.id === buildId);
    if (!b) throw new GantryError('GANTRY_NOT_FOUND', `build ${buildId} not found`);
    return b;
  }

  async listBuilds(app: string) {
    return this.#app(app).builds.map(({ log: _log, ...b }) => b);
  }
  async getBuildLog(app: string, buildId: string) {
    return this.#build(app, buildId).log;
  }

  /** Untars the upload for real; a file named FAIL makes the build fail, BOOM throws a non-Gantry error. */
  async deployTarball(app: string, tarball: Readable, output: OutputSink): Promise<ReleaseInfo> {
    this.#record('deployTarball', app);
    const a = this.#app(app);
    const dir = await mkdtemp(join(tmpdir(), 'gantry-fake-deploy-'));
    const build = this.portal.startBuild(a);
    const say = (text: string): void => {
      this.portal.buildOutput(a, build, text);
      output(text);
    };
    try {
      await pipeline(tarball, tar.x({ cwd: dir, strict: true }));
      this.lastDeployFiles = await listFiles(dir);
      say(`-----> Received ${this.lastDeployFiles.length} files\n`);
      if (this.lastDeployFiles.includes('BOOM')) throw new Error('secret internal detail /etc/shadow');
      if (this.lastDeployFiles.includes('FAIL')) {
        throw new GantryError('GANTRY_BUILD_FAILED', 'build failed: no buildpack detected');
      }
      await this.#readManifests(a, dir);
      say('-----> Build succeeded\n');
      const release = this.#release(a, 'Deploy');
      this.portal.finishBuild(a, build, { releaseVersion: release.version });
      return release;
    } catch (e) {
      this.portal.finishBuild(a, build, { error: (e as Error).message });
      throw e;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Process types from the Procfile and cron entries from app.json, as a real build finds them. */
  async #readManifests(a: FakeApp, dir: string): Promise<void> {
    if (this.lastDeployFiles.includes('Procfile')) {
      a.info.processTypes = parseProcfile(await readFile(join(dir, 'Procfile'), 'utf8'));
    }
    if (this.lastDeployFiles.includes('app.json')) {
      a.elastic.cron = parseAppJson(await readFile(join(dir, 'app.json'), 'utf8')).cron ?? [];
    }
  }
}
