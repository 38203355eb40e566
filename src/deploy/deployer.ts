/**
 * The release pipeline: source → build → release → rollout, and the other
 * operations that create releases (config changes, rollbacks) or change what
 * runs (scale, restart). One operation per app at a time. A failure at any
 * step leaves the previous release serving and nothing half-done behind.
 */
import { mkdir, rm, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log/index.js';
import type { AppRecords, AppRow, ReleaseRow, SlugRow } from '../apps/records.js';
import type { SlugManifest } from '../apps/manifest.js';
import { GantryError } from '../errors/index.js';
import { KeyedLock } from './lock.js';
import { BoundedLog, toReleaseInfo, type LiveHub } from './live.js';
import type { Rollout } from './rollout.js';

export type BuildFn = (opts: {
  app: string;
  uid: number;
  sourceDir: string;
  cacheDir: string;
  env: Record<string, string>;
  output: (t: string) => void;
  signal?: AbortSignal;
}) => Promise<SlugManifest>;

export interface DeployerOptions {
  records: AppRecords;
  rollout: Rollout;
  build: BuildFn;
  logger: Logger;
  dataDir: string;
  publicUrl: string;
  keepReleases: number;
  /** Longest a build may take before it is stopped. */
  buildTimeoutMs: number;
  /** Writes a platform line into the app's log. */
  appLog: (app: string, text: string) => void;
  /** At server start, bring this app back asleep (scale to zero) rather than running? Default no. */
  recoverAsleep?: (app: AppRow) => boolean;
  /** Told of builds (start, output, end) and releases as they happen, for live views. */
  live: LiveHub;
}

export interface SourceDeploy {
  app: string;
  commit: string | null;
  /** Fills the empty dir with the app's source. */
  fill: (dir: string) => Promise<void>;
  output: (text: string) => void;
  signal?: AbortSignal;
  /** Checked first, inside the app's lock (e.g. the pushed ref is still what git will update). */
  verify?: () => Promise<void>;
  /** After success, keep the app's lock until this settles (git's ref update). */
  holdLockUntil?: Promise<void>;
}

export class Deployer {
  readonly #o: DeployerOptions;
  readonly lock = new KeyedLock();
  /** Running source deploys, aborted at shutdown. */
  readonly #running = new Set<AbortController>();

  constructor(o: DeployerOptions) {
    this.#o = o;
  }

  appDir(app: string): string {
    return join(this.#o.dataDir, 'apps', app);
  }

  async #activateNew(
    app: AppRow,
    slug: SlugRow,
    config: Record<string, string>,
    description: string,
    output: (t: string) => void,
    extra: { buildId?: string; signal?: AbortSignal } = {},
  ): Promise<ReleaseRow> {
    const version = await this.#o.records.nextVersion(app.id);
    output(`-----> Releasing v${version}\n`);
    await this.#o.rollout.activate({
      app,
      version,
      slug,
      config,
      output,
      releasePhase: true,
      signal: extra.signal,
    });
    const release = await this.#o.records.insertRelease({
      appId: app.id,
      version,
      slugId: slug.id,
      commit: slug.commit,
      description,
      config,
      buildId: extra.buildId ?? null,
    });
    this.#o.live.emit(app.name, { type: 'release', release: toReleaseInfo(release, version) });
    this.#o.appLog(app.name, `Release v${version} created: ${description}`);
    output(`=====> ${app.name} v${version} is live at ${this.#o.publicUrl}/apps/${app.name}/\n`);
    return release;
  }

  /** Builds and releases new source (git push, tarball upload). */
  deploySource(d: SourceDeploy): Promise<ReleaseRow> {
    return this.lock.run(
      d.app,
      async () => {
        await d.verify?.();
        const app = await this.#o.records.get(d.app);
        const { appId: _a, ...started } = await this.#o.records.startBuild(app.id, d.commit);
        const buildId = started.id;
        const live = this.#o.live;
        live.buildStarted(app.name, started);
        const log = new BoundedLog();
        const output = (t: string): void => {
          log.push(t);
          live.buildOutput(buildId, t);
          d.output(t);
        };
        const abort = new AbortController();
        this.#running.add(abort);
        const signals = [
          abort.signal,
          AbortSignal.timeout(this.#o.buildTimeoutMs),
          ...(d.signal ? [d.signal] : []),
        ];
        const signal = AbortSignal.any(signals);
        const slugDir = join(this.appDir(app.name), 'slugs', buildId);
        let slug: SlugRow | undefined;
        let release: ReleaseRow;
        try {
          output(`-----> Building ${app.name}${d.commit ? ` (${d.commit.slice(0, 7)})` : ''}\n`);
          await mkdir(slugDir, { recursive: true, mode: 0o755 });
          await chmod(slugDir, 0o755);
          await d.fill(slugDir);
          const config = await this.#o.records.getConfig(app.id);
          const manifest = await this.#o.build({
            app: app.name,
            uid: app.uid,
            sourceDir: slugDir,
            cacheDir: join(this.appDir(app.name), 'cache'),
            env: config,
            // Buildpacks emit whole lines without the newline.
            output: (t) => output(t.endsWith('\n') ? t : `${t}\n`),
            signal,
          });
          slug = await this.#o.records.insertSlug({
            appId: app.id,
            commit: d.commit,
            path: slugDir,
            manifest,
          });
          const description = d.commit ? `Deploy ${d.commit.slice(0, 7)}` : 'Deploy from upload';
          release = await this.#activateNew(app, slug, config, description, output, { buildId, signal });
        } catch (e) {
          const timedOut = !abort.signal.aborted && !d.signal?.aborted && signal.aborted;
          const message = timedOut
            ? `the build took longer than ${Math.round(this.#o.buildTimeoutMs / 60000)} min and was stopped`
            : e instanceof GantryError
              ? e.message
              : 'internal error during deploy (see the server log)';
          if (!(e instanceof GantryError)) this.#o.logger.error({ err: e, app: app.name }, 'deploy failed');
          const finishedAt = await this.#o.records
            .finishBuild(buildId, { status: 'failed', log: log.text(), error: message })
            .catch((err: unknown) => {
              this.#o.logger.error({ err, app: app.name }, 'cannot record failed build');
              return new Date().toISOString();
            });
          live.buildEnded(app.name, { ...started, status: 'failed', error: message, finishedAt });
          if (slug)
            await this.#o.records
              .deleteSlug(slug.id)
              .catch((err: unknown) => this.#o.logger.error({ err }, 'cannot delete slug record'));
          await rm(slugDir, { recursive: true, force: true });
          this.#o.appLog(app.name, `Deploy failed: ${message}`);
          throw e instanceof GantryError && !timedOut
            ? e
            : new GantryError(timedOut ? 'GANTRY_BUILD_FAILED' : 'GANTRY_INTERNAL', message, { cause: e });
        } finally {
          this.#running.delete(abort);
        }
        // The release is live: bookkeeping failures from here on must not undo it.
        let finishedAt = new Date().toISOString();
        try {
          finishedAt = await this.#o.records.finishBuild(buildId, {
            status: 'succeeded',
            log: log.text(),
            releaseVersion: release.version,
          });
          await this.#prune(app);
        } catch (e) {
          this.#o.logger.error({ err: e, app: app.name }, 'release is live but its bookkeeping failed');
        }
        live.buildEnded(app.name, {
          ...started,
          status: 'succeeded',
          releaseVersion: release.version,
          finishedAt,
        });
        return release;
      },
      d.holdLockUntil && { until: d.holdLockUntil, maxHoldMs: 60_000 },
    );
  }

  /** Stops running builds and waits for queued operations (server shutdown). */
  async close(): Promise<void> {
    for (const a of this.#running) a.abort();
    await this.lock.idle();
  }

  /** Removes slugs no release in the last `keepReleases` (or the serving one) uses. */
  async #prune(app: AppRow): Promise<void> {
    const releases = await this.#o.records.listReleases(app.id);
    const keep = new Set(releases.slice(0, this.#o.keepReleases).map((r) => r.slugId));
    for (const s of await this.#o.records.listSlugs(app.id)) {
      if (keep.has(s.id)) continue;
      await this.#o.records.deleteSlug(s.id);
      await rm(s.path, { recursive: true, force: true });
    }
  }

  async #currentSlug(app: AppRow): Promise<{ release: ReleaseRow; slug: SlugRow } | undefined> {
    if (app.currentVersion === null) return undefined;
    const release = await this.#o.records.getRelease(app.id, app.currentVersion);
    const slug = release.slugId ? await this.#o.records.getSlug(release.slugId) : undefined;
    return slug && { release, slug };
  }

  /** Config change: a new release of the same slug, rolled out without downtime. Config is restored if it fails. */
  updateConfig(
    name: string,
    change: { set?: Record<string, string>; unset?: string[] },
  ): Promise<ReleaseRow | null> {
    return this.lock.run(name, async () => {
      const app = await this.#o.records.get(name);
      const before = await this.#o.records.getConfig(app.id);
      const after = { ...before, ...change.set };
      for (const k of change.unset ?? []) delete after[k];
      await this.#o.records.replaceConfig(app.id, after);
      const cur = await this.#currentSlug(app);
      if (!cur) return null;
      const parts = [
        change.set && Object.keys(change.set).length ? `Set ${Object.keys(change.set).join(', ')}` : '',
        change.unset?.length ? `Unset ${change.unset.join(', ')}` : '',
      ];
      try {
        return await this.#activateNew(
          app,
          cur.slug,
          after,
          `${parts.filter(Boolean).join('; ')} config vars`,
          (t) => this.#o.logger.debug({ app: name }, t.trim()),
        );
      } catch (e) {
        await this.#o.records.replaceConfig(app.id, before);
        throw e;
      }
    });
  }

  rollback(name: string, version?: number): Promise<ReleaseRow> {
    return this.lock.run(name, async () => {
      const app = await this.#o.records.get(name);
      if (app.currentVersion === null)
        throw new GantryError('GANTRY_NO_RELEASE', `app "${name}" has no releases yet`);
      const target = await this.#o.records.getRelease(app.id, version ?? app.currentVersion - 1);
      const slug = target.slugId ? await this.#o.records.getSlug(target.slugId) : undefined;
      if (!slug)
        throw new GantryError(
          'GANTRY_RELEASE_NOT_FOUND',
          `the build of v${target.version} is no longer kept; push it again instead`,
        );
      const before = await this.#o.records.getConfig(app.id);
      await this.#o.records.replaceConfig(app.id, target.config);
      try {
        return await this.#activateNew(app, slug, target.config, `Rollback to v${target.version}`, (t) =>
          this.#o.logger.debug({ app: name }, t.trim()),
        );
      } catch (e) {
        await this.#o.records.replaceConfig(app.id, before);
        throw e;
      }
    });
  }

  scale(name: string, formation: Record<string, number>): Promise<Record<string, number>> {
    return this.lock.run(name, async () => {
      const app = await this.#o.records.get(name);
      const cur = await this.#currentSlug(app);
      if (cur) {
        const unknown = Object.keys(formation).filter((t) => !(t in cur.slug.manifest.processes));
        if (unknown.length) {
          const known = Object.keys(cur.slug.manifest.processes).join(', ') || 'none';
          throw new GantryError(
            'GANTRY_BAD_REQUEST',
            `no process type ${unknown.join(', ')} in this app (known: ${known})`,
          );
        }
      }
      const next = { ...app.formation, ...formation };
      await this.#o.records.setFormation(app.id, next);
      const updated = { ...app, formation: next };
      await this.#o.rollout.scale(updated);
      this.#o.appLog(
        name,
        `Scaled to ${Object.entries(formation)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
      );
      return next;
    });
  }

  /** Starts the serving release afresh and swaps it in like a deploy (no new release). */
  async #reactivate(app: AppRow, asleep = false): Promise<ReleaseRow | undefined> {
    const cur = await this.#currentSlug(app);
    if (!cur) return undefined;
    await this.#o.rollout.activate({
      app,
      version: cur.release.version,
      slug: cur.slug,
      config: cur.release.config,
      output: () => undefined,
      releasePhase: false,
      asleep,
    });
    return cur.release;
  }

  /**
   * Restarts the serving release with the app's current settings (resource limits),
   * without downtime; a sleeping app stays asleep.
   */
  reapply(name: string): Promise<void> {
    return this.lock.run(name, async () => {
      const app = await this.#o.records.get(name);
      await this.#reactivate(app, this.#o.rollout.active(name)?.sleeping === true);
    });
  }

  /**
   * Rolling restart. Web (or everything) is started afresh and swapped in like a
   * deploy, without downtime; another type restarts one process at a time.
   */
  restart(name: string, type?: string): Promise<void> {
    return this.lock.run(name, async () => {
      const app = await this.#o.records.get(name);
      const cur = await this.#currentSlug(app);
      if (!cur) throw new GantryError('GANTRY_NO_RELEASE', `app "${name}" has not been deployed yet`);
      if (type && !(type in cur.slug.manifest.processes)) {
        const known = Object.keys(cur.slug.manifest.processes).join(', ') || 'none';
        throw new GantryError('GANTRY_BAD_REQUEST', `no process type ${type} in this app (known: ${known})`);
      }
      if (type && type !== 'web') await this.#o.rollout.restartType(name, type);
      else await this.#reactivate(app);
      this.#o.appLog(name, type ? `Restarted ${type} processes` : 'Restarted');
    });
  }

  /** Server start: bring every deployed app's current release back into service. */
  async recover(): Promise<void> {
    for (const app of await this.#o.records.list()) {
      await this.lock
        .run(app.name, async () => {
          const asleep = this.#o.recoverAsleep?.(app) ?? false;
          const release = await this.#reactivate(app, asleep);
          if (release)
            this.#o.logger.info({ app: app.name, version: release.version, asleep }, 'app recovered');
        })
        .catch((e: unknown) =>
          this.#o.logger.error({ err: e, app: app.name }, 'could not start app after server start'),
        );
    }
  }
}
