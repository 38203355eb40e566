/**
 * FakePlatform's Web UI side, in memory: portal fields (the real validation
 * of src/apps/meta.ts), pictures with sha256 entity tags, live watches of
 * builds and app activity that tests drive, and the admin resource overview
 * computed from the fake apps' processes and metrics.
 */
import { createHash } from 'node:crypto';
import { GantryError } from '../errors/index.js';
import { normalizeAppMeta } from '../apps/index.js';
import { sniffImage, type ImageType } from '../snapshots/image.js';
import { FakeElastic, type ElasticApp } from './fake-elastic.js';
import type {
  AppActivity,
  AppEvent,
  AppInfo,
  AppMeta,
  AppUsage,
  BuildInfo,
  BuildWatch,
  MetricSeries,
  ResourceOverview,
  ThumbnailInfo,
} from './platform.js';

export type FakeBuild = BuildInfo & { log: string };

/** What the portal fake needs of an app. */
export interface PortalApp extends ElasticApp {
  builds: FakeBuild[];
}

interface StoredThumbnail {
  body: Buffer;
  contentType: ImageType;
  etag: string;
  info: ThumbnailInfo;
}

interface BuildWatcher {
  app: string;
  id: string;
  listener: (chunk: string) => void;
  onEnd: (build: BuildInfo) => void;
}

/** FakeElastic that also reports every event it records (the activity stream's `event`). */
export class WatchedElastic extends FakeElastic {
  readonly #onEvent: (app: string, event: AppEvent) => void;
  constructor(find: (name: string) => ElasticApp, onEvent: (app: string, event: AppEvent) => void) {
    super(find);
    this.#onEvent = onEvent;
  }
  override event(a: ElasticApp, kind: string, process: string | null, message: string): void {
    super.event(a, kind, process, message);
    this.#onEvent(a.info.name, a.elastic.events.at(-1)!);
  }
}

const withoutLog = ({ log: _log, ...b }: FakeBuild): BuildInfo => b;
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** A picture as a capture leaves it: a PNG signature and a serial number (enough for sniffImage). */
export function fakePng(serial: number): Buffer {
  const n = Buffer.alloc(4);
  n.writeUInt32BE(serial);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), n]);
}

export class FakePortal {
  readonly #find: (name: string) => PortalApp;
  readonly #all: () => Iterable<PortalApp>;
  readonly #elastic: FakeElastic;
  readonly #metrics: (name: string) => MetricSeries;
  readonly #thumbnails = new Map<string, StoredThumbnail>();
  readonly #appWatchers = new Set<{ app: string; listener: (a: AppActivity) => void }>();
  readonly #buildWatchers = new Set<BuildWatcher>();
  /** Whether this "server" has a browser (false: captures fail with GANTRY_UNSUPPORTED). */
  browser = true;
  /** Captures taken so far. */
  captures = 0;

  constructor(opts: {
    find: (name: string) => PortalApp;
    all: () => Iterable<PortalApp>;
    elastic: FakeElastic;
    /** The app's 1 h metrics series. */
    metrics: (name: string) => MetricSeries;
  }) {
    this.#find = opts.find;
    this.#all = opts.all;
    this.#elastic = opts.elastic;
    this.#metrics = opts.metrics;
  }

  /** Open watches (activity and builds): tests check that a closed stream let go of its own. */
  get watchers(): number {
    return this.#appWatchers.size + this.#buildWatchers.size;
  }

  /** Hands `activity` to everyone watching `app`. */
  emit(app: string, activity: AppActivity): void {
    for (const w of this.#appWatchers) if (w.app === app) w.listener(activity);
  }

  setMeta(name: string, change: Partial<AppMeta>): AppInfo {
    const { info } = this.#find(name);
    const c = normalizeAppMeta(change);
    if (c.title !== undefined) info.title = c.title;
    if (c.description !== undefined) info.description = c.description;
    if (c.tags !== undefined) info.tags = c.tags;
    info.updatedAt = new Date().toISOString();
    return info;
  }

  getThumbnail(name: string): { body: Buffer; contentType: string; etag: string } | null {
    this.#find(name);
    const t = this.#thumbnails.get(name);
    return t ? { body: t.body, contentType: t.contentType, etag: t.etag } : null;
  }

  putThumbnail(name: string, image: Buffer): ThumbnailInfo {
    return this.#store(this.#find(name), image, 'upload');
  }

  deleteThumbnail(name: string): void {
    const a = this.#find(name);
    if (this.#thumbnails.get(name)?.info.source !== 'upload') return;
    this.#thumbnails.delete(name);
    a.info.thumbnail = null;
    this.emit(name, { type: 'thumbnail', thumbnail: null });
    // The real platform starts a capture in the background; here it is done at once.
    if (this.browser && a.info.currentVersion !== null) this.captureThumbnail(name);
  }

  captureThumbnail(name: string): ThumbnailInfo {
    const a = this.#find(name);
    if (this.#thumbnails.get(name)?.info.source === 'upload') {
      throw new GantryError(
        'GANTRY_CONFLICT',
        `app ${name} has an uploaded picture: delete it to go back to automatic captures`,
      );
    }
    if (!this.browser) {
      throw new GantryError('GANTRY_UNSUPPORTED', 'this server has no browser to capture pictures with');
    }
    if (a.info.currentVersion === null) {
      throw new GantryError('GANTRY_NO_RELEASE', `${name} has not been deployed yet`);
    }
    this.captures++;
    return this.#store(a, fakePng(this.captures), 'auto');
  }

  #store(a: PortalApp, body: Buffer, source: ThumbnailInfo['source']): ThumbnailInfo {
    const contentType = sniffImage(body);
    if (!contentType) throw new GantryError('GANTRY_BAD_REQUEST', 'not a PNG, JPEG or WebP image');
    const name = a.info.name;
    const etag = createHash('sha256').update(body).digest('hex').slice(0, 20);
    const info: ThumbnailInfo = {
      url: `/api/apps/${name}/thumbnail?v=${etag}`,
      source,
      updatedAt: new Date().toISOString(),
    };
    this.#thumbnails.set(name, { body: Buffer.from(body), contentType, etag, info });
    a.info.thumbnail = info;
    this.emit(name, { type: 'thumbnail', thumbnail: info });
    return info;
  }

  /** Drops what belongs to a destroyed app. */
  forget(name: string): void {
    this.#thumbnails.delete(name);
  }

  /** A new running build (watchers of the app see it start). */
  startBuild(a: PortalApp): FakeBuild {
    const build: FakeBuild = {
      id: `b${a.builds.length + 1}`,
      status: 'running',
      commit: null,
      error: null,
      releaseVersion: null,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      log: '',
    };
    a.builds.unshift(build);
    this.emit(a.info.name, { type: 'build', build: withoutLog(build) });
    return build;
  }

  buildOutput(a: PortalApp, build: FakeBuild, text: string): void {
    build.log += text;
    for (const w of this.#buildWatchers) if (w.app === a.info.name && w.id === build.id) w.listener(text);
  }

  finishBuild(a: PortalApp, build: FakeBuild, outcome: { releaseVersion: number } | { error: string }): void {
    if ('error' in outcome) {
      build.status = 'failed';
      build.error = outcome.error;
    } else {
      build.status = 'succeeded';
      build.releaseVersion = outcome.releaseVersion;
    }
    build.finishedAt = new Date().toISOString();
    const done = withoutLog(build);
    for (const w of this.#buildWatchers) {
      if (w.app !== a.info.name || w.id !== build.id) continue;
      this.#buildWatchers.delete(w);
      w.onEnd(done);
    }
    this.emit(a.info.name, { type: 'build', build: done });
  }

  watchBuild(
    name: string,
    id: string,
    listener: (chunk: string) => void,
    onEnd: (build: BuildInfo) => void,
  ): BuildWatch {
    const b = this.#find(name).builds.find((x) => x.id === id);
    if (!b) throw new GantryError('GANTRY_NOT_FOUND', `build ${id} not found`);
    const watch: BuildWatch = { backlog: b.log, build: withoutLog(b), stop: () => {} };
    if (b.status !== 'running') return watch;
    const w: BuildWatcher = { app: name, id, listener, onEnd };
    this.#buildWatchers.add(w);
    watch.stop = () => void this.#buildWatchers.delete(w);
    return watch;
  }

  watchApp(name: string, listener: (a: AppActivity) => void): () => void {
    this.#find(name);
    const w = { app: name, listener };
    this.#appWatchers.add(w);
    return () => void this.#appWatchers.delete(w);
  }

  overview(): ResourceOverview {
    const apps: AppUsage[] = [];
    for (const a of this.#all()) {
      const name = a.info.name;
      const processes = this.#elastic.processes(name);
      const points = this.#metrics(name).points;
      const recent = points.slice(-5);
      const p95 = recent.flatMap((p) => (p.p95Ms === null ? [] : [p.p95Ms]));
      apps.push({
        name,
        // The fake knows owners by id only; the API fills in the username from the directory.
        owner: null,
        status: a.elastic.asleep ? 'sleeping' : a.info.status,
        processes: processes.length,
        webReplicas: processes.filter((p) => p.type === 'web').length,
        cpuPercent: sum(processes.map((p) => p.usage?.cpuPercent ?? 0)),
        memoryBytes: sum(processes.map((p) => p.usage?.memoryBytes ?? 0)),
        rps: recent.length === 0 ? 0 : sum(recent.map((p) => p.rps)) / recent.length,
        p95Ms: p95.length === 0 ? null : sum(p95) / p95.length,
        errors: sum(points.map((p) => p.errors)),
      });
    }
    apps.sort((x, y) => y.rps - x.rps || y.cpuPercent - x.cpuPercent || y.memoryBytes - x.memoryBytes);
    const count = (pred: (u: AppUsage) => boolean): number => apps.filter(pred).length;
    return {
      totals: {
        apps: apps.length,
        running: count((u) => u.status === 'running'),
        sleeping: count((u) => u.status === 'sleeping'),
        stopped: count((u) => ['new', 'stopped', 'crashed'].includes(u.status)),
        processes: sum(apps.map((u) => u.processes)),
        cpuPercent: sum(apps.map((u) => u.cpuPercent)),
        memoryBytes: sum(apps.map((u) => u.memoryBytes)),
      },
      apps,
      at: new Date().toISOString(),
    };
  }
}
