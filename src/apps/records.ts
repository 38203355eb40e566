/**
 * App records in the store: apps (with their portal fields and picture),
 * config vars, slugs, releases, builds. Plain data access; decisions live in
 * the deploy pipeline. Config var values and release config snapshots are
 * encrypted at rest through the SecretBox.
 */
import { createHash } from 'node:crypto';
import type { Database } from '../store/index.js';
import type { AppsTable, ReleasesTable } from '../store/schema.js';
import type { Selectable } from 'kysely';
import type { AppMeta } from '../api/platform.js';
import { newId, now } from '../store/index.js';
import { GantryError } from '../errors/index.js';
import type { SlugManifest } from './manifest.js';
import type { ResourceLimits } from '../runtime/types.js';
import type { ScalingOverrides } from '../scaler/types.js';
import { configVarAad, isEncrypted, releaseConfigAad, type SecretBox } from '../secrets/index.js';

export interface AppRow {
  id: string;
  name: string;
  uid: number;
  formation: Record<string, number>;
  /** Scaling overrides set by the user (defaults come from the server config). */
  scaling: ScalingOverrides;
  /** Resource limits set per process type with limits:set. */
  limits: Record<string, ResourceLimits>;
  currentVersion: number | null;
  createdAt: string;
  updatedAt: string;
  /** Portal fields (AppMeta). */
  title: string | null;
  description: string;
  tags: string[];
  /** When the serving release was created, null before the first deploy. */
  lastDeployAt: string | null;
  /** Owner's username, null without one. */
  owner: string | null;
  /** The app's picture without its bytes, null when it has none. */
  thumbnail: ThumbnailMeta | null;
}

export interface ThumbnailMeta {
  source: 'auto' | 'upload';
  contentType: string;
  /** First 16 hex digits of the image's SHA-256. */
  etag: string;
  updatedAt: string;
}

export interface ThumbnailRow extends ThumbnailMeta {
  image: Buffer;
}

export interface SlugRow {
  id: string;
  appId: string;
  commit: string | null;
  path: string;
  manifest: SlugManifest;
  createdAt: string;
}

export interface ReleaseRow {
  id: string;
  appId: string;
  version: number;
  slugId: string | null;
  commit: string | null;
  description: string;
  config: Record<string, string>;
  buildId: string | null;
  createdAt: string;
}

export interface BuildRow {
  id: string;
  appId: string;
  commit: string | null;
  status: 'running' | 'succeeded' | 'failed';
  error: string | null;
  releaseVersion: number | null;
  startedAt: string;
  finishedAt: string | null;
}

/** What the app list query adds to the apps columns (one row per app through left joins). */
interface AppJoined {
  last_deploy_at: string | null;
  owner_name: string | null;
  thumb_source: string | null;
  thumb_type: string | null;
  thumb_etag: string | null;
  thumb_updated_at: string | null;
}

const parseTags = (json: string): string[] => {
  const v = JSON.parse(json) as unknown;
  return Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string') : [];
};

const toApp = (r: Selectable<AppsTable> & Partial<AppJoined>): AppRow => ({
  id: r.id,
  name: r.name,
  uid: Number(r.uid),
  formation: JSON.parse(r.formation) as Record<string, number>,
  scaling: JSON.parse(r.scaling) as ScalingOverrides,
  limits: JSON.parse(r.limits) as Record<string, ResourceLimits>,
  currentVersion: r.current_version === null ? null : Number(r.current_version),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  title: r.title ?? null,
  description: r.description ?? '',
  tags: parseTags(r.tags ?? '[]'),
  lastDeployAt: r.last_deploy_at ?? null,
  owner: r.owner_name ?? null,
  thumbnail:
    r.thumb_etag && r.thumb_source && r.thumb_type && r.thumb_updated_at
      ? {
          source: r.thumb_source === 'upload' ? 'upload' : 'auto',
          contentType: r.thumb_type,
          etag: r.thumb_etag,
          updatedAt: r.thumb_updated_at,
        }
      : null,
});

const toBuild = (r: {
  id: string;
  app_id: string;
  commit_sha: string | null;
  status: string;
  error: string | null;
  release_version: number | null;
  started_at: string;
  finished_at: string | null;
}): BuildRow => ({
  id: r.id,
  appId: r.app_id,
  commit: r.commit_sha,
  status: r.status as BuildRow['status'],
  error: r.error,
  releaseVersion: r.release_version === null ? null : Number(r.release_version),
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});

/** The HTTP ETag of a picture (also its URL's cache buster). */
export const thumbnailEtag = (image: Uint8Array): string =>
  createHash('sha256').update(image).digest('hex').slice(0, 16);

export interface AppRecordsOptions {
  /** First uid handed to apps. */
  uidBase: number;
  /** Encrypts config var values and release snapshots (the server's Keyring). */
  secrets: SecretBox;
}

export class AppRecords {
  readonly #db: Database;
  readonly #uidBase: number;
  readonly #secrets: SecretBox;

  constructor(db: Database, opts: AppRecordsOptions) {
    this.#db = db;
    this.#uidBase = opts.uidBase;
    this.#secrets = opts.secrets;
  }

  /** Rows from before encryption are plaintext until reencryptAll() runs; read them as they are. */
  #open(value: string, aad: string): string {
    return isEncrypted(value) ? this.#secrets.decrypt(value, aad) : value;
  }

  #toRelease(r: ReleasesTable): ReleaseRow {
    return {
      id: r.id,
      appId: r.app_id,
      version: Number(r.version),
      slugId: r.slug_id,
      commit: r.commit_sha,
      description: r.description,
      config: JSON.parse(this.#open(r.config, releaseConfigAad(r.id))) as Record<string, string>,
      buildId: r.build_id,
      createdAt: r.created_at,
    };
  }

  /** Apps with their serving release's time, owner's name and picture (not its bytes), in one query. */
  #apps() {
    return this.#db
      .selectFrom('apps')
      .leftJoin('releases', (j) =>
        j.onRef('releases.app_id', '=', 'apps.id').onRef('releases.version', '=', 'apps.current_version'),
      )
      .leftJoin('users', 'users.id', 'apps.owner_id')
      .leftJoin('app_thumbnails', 'app_thumbnails.app_id', 'apps.id')
      .selectAll('apps')
      .select([
        'releases.created_at as last_deploy_at',
        'users.username as owner_name',
        'app_thumbnails.source as thumb_source',
        'app_thumbnails.content_type as thumb_type',
        'app_thumbnails.etag as thumb_etag',
        'app_thumbnails.updated_at as thumb_updated_at',
      ]);
  }

  async list(): Promise<AppRow[]> {
    return (await this.#apps().orderBy('apps.name').execute()).map(toApp);
  }

  async find(name: string): Promise<AppRow | undefined> {
    const r = await this.#apps().where('apps.name', '=', name).executeTakeFirst();
    return r && toApp(r);
  }

  async get(name: string): Promise<AppRow> {
    const app = await this.find(name);
    if (!app) throw new GantryError('GANTRY_APP_NOT_FOUND', `app "${name}" does not exist`);
    return app;
  }

  async create(name: string, ownerId: string | null = null): Promise<AppRow> {
    if (await this.find(name)) throw new GantryError('GANTRY_APP_EXISTS', `app "${name}" already exists`);
    const max = await this.#db
      .selectFrom('apps')
      .select((eb) => eb.fn.max('uid').as('m'))
      .executeTakeFirst();
    const uid = max?.m === null || max?.m === undefined ? this.#uidBase : Number(max.m) + 1;
    const t = now();
    const row = {
      id: newId(),
      name,
      uid,
      formation: JSON.stringify({}),
      scaling: '{}',
      limits: '{}',
      current_version: null,
      created_at: t,
      updated_at: t,
      owner_id: ownerId,
      // New apps are visible to their owner, collaborators and admins only until shared.
      visibility: 'restricted',
      title: null,
      description: '',
      tags: '[]',
    };
    await this.#db.insertInto('apps').values(row).execute();
    // Read back through the list query: the owner's name comes from a join.
    return this.get(name);
  }

  async destroy(id: string): Promise<void> {
    await this.#db.transaction().execute(async (tx) => {
      await tx.deleteFrom('app_thumbnails').where('app_id', '=', id).execute();
      await tx.deleteFrom('builds').where('app_id', '=', id).execute();
      await tx.deleteFrom('releases').where('app_id', '=', id).execute();
      await tx.deleteFrom('slugs').where('app_id', '=', id).execute();
      await tx.deleteFrom('config_vars').where('app_id', '=', id).execute();
      await tx.deleteFrom('apps').where('id', '=', id).execute();
    });
  }

  /** Changes the portal fields given (already normalized, see apps/meta.ts). */
  async setMeta(id: string, meta: Partial<AppMeta>): Promise<void> {
    const set: { title?: string | null; description?: string; tags?: string; updated_at: string } = {
      updated_at: now(),
    };
    if (meta.title !== undefined) set.title = meta.title;
    if (meta.description !== undefined) set.description = meta.description;
    if (meta.tags !== undefined) set.tags = JSON.stringify(meta.tags);
    await this.#db.updateTable('apps').set(set).where('id', '=', id).execute();
  }

  async getThumbnail(appId: string): Promise<ThumbnailRow | undefined> {
    const r = await this.#db
      .selectFrom('app_thumbnails')
      .selectAll()
      .where('app_id', '=', appId)
      .executeTakeFirst();
    return (
      r && {
        source: r.source === 'upload' ? 'upload' : 'auto',
        contentType: r.content_type,
        etag: r.etag,
        updatedAt: r.updated_at,
        image: Buffer.from(r.image, 'base64'),
      }
    );
  }

  /**
   * Stores the app's picture, replacing the one before. With `keepUpload`, an
   * uploaded picture in place is left alone (checked in the same statement, so a
   * capture finishing while the owner uploads cannot overwrite the upload) and
   * undefined is returned.
   */
  async putThumbnail(
    appId: string,
    t: { source: 'auto' | 'upload'; contentType: string; image: Uint8Array },
    opts: { keepUpload?: boolean } = {},
  ): Promise<ThumbnailMeta | undefined> {
    const row = {
      app_id: appId,
      source: t.source,
      content_type: t.contentType,
      image: Buffer.from(t.image).toString('base64'),
      etag: thumbnailEtag(t.image),
      updated_at: now(),
    };
    const { app_id: _id, ...update } = row;
    const written = await this.#db
      .insertInto('app_thumbnails')
      .values(row)
      .onConflict((oc) => {
        const upsert = oc.column('app_id').doUpdateSet(update);
        return opts.keepUpload ? upsert.where('app_thumbnails.source', '<>', 'upload') : upsert;
      })
      .returning('etag')
      .executeTakeFirst();
    if (!written) return undefined;
    return { source: t.source, contentType: row.content_type, etag: row.etag, updatedAt: row.updated_at };
  }

  /** Removes the app's picture (only an uploaded one with `onlyUpload`); true when one was removed. */
  async deleteThumbnail(appId: string, opts: { onlyUpload?: boolean } = {}): Promise<boolean> {
    let q = this.#db.deleteFrom('app_thumbnails').where('app_id', '=', appId);
    if (opts.onlyUpload) q = q.where('source', '=', 'upload');
    const r = await q.executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async setFormation(id: string, formation: Record<string, number>): Promise<void> {
    await this.#db
      .updateTable('apps')
      .set({ formation: JSON.stringify(formation), updated_at: now() })
      .where('id', '=', id)
      .execute();
  }

  async setScaling(id: string, scaling: ScalingOverrides): Promise<void> {
    await this.#db
      .updateTable('apps')
      .set({ scaling: JSON.stringify(scaling), updated_at: now() })
      .where('id', '=', id)
      .execute();
  }

  async setLimits(id: string, limits: Record<string, ResourceLimits>): Promise<void> {
    await this.#db
      .updateTable('apps')
      .set({ limits: JSON.stringify(limits), updated_at: now() })
      .where('id', '=', id)
      .execute();
  }

  async getConfig(id: string): Promise<Record<string, string>> {
    const rows = await this.#db
      .selectFrom('config_vars')
      .select(['key', 'value'])
      .where('app_id', '=', id)
      .orderBy('key')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.key, this.#open(r.value, configVarAad(id, r.key))]));
  }

  async replaceConfig(id: string, vars: Record<string, string>): Promise<void> {
    await this.#db.transaction().execute(async (tx) => {
      await tx.deleteFrom('config_vars').where('app_id', '=', id).execute();
      const rows = Object.entries(vars).map(([key, value]) => ({
        app_id: id,
        key,
        value: this.#secrets.encrypt(value, configVarAad(id, key)),
      }));
      if (rows.length) await tx.insertInto('config_vars').values(rows).execute();
    });
  }

  async insertSlug(s: Omit<SlugRow, 'id' | 'createdAt'>): Promise<SlugRow> {
    const row = {
      id: newId(),
      app_id: s.appId,
      commit_sha: s.commit,
      path: s.path,
      manifest: JSON.stringify(s.manifest),
      created_at: now(),
    };
    await this.#db.insertInto('slugs').values(row).execute();
    return { ...s, id: row.id, createdAt: row.created_at };
  }

  async getSlug(id: string): Promise<SlugRow | undefined> {
    const r = await this.#db.selectFrom('slugs').selectAll().where('id', '=', id).executeTakeFirst();
    return (
      r && {
        id: r.id,
        appId: r.app_id,
        commit: r.commit_sha,
        path: r.path,
        manifest: JSON.parse(r.manifest) as SlugManifest,
        createdAt: r.created_at,
      }
    );
  }

  async listSlugs(appId: string): Promise<{ id: string; path: string }[]> {
    return this.#db
      .selectFrom('slugs')
      .select(['id', 'path'])
      .where('app_id', '=', appId)
      .orderBy('created_at', 'desc')
      .execute();
  }

  async deleteSlug(id: string): Promise<void> {
    await this.#db.deleteFrom('slugs').where('id', '=', id).execute();
  }

  async nextVersion(appId: string): Promise<number> {
    const r = await this.#db
      .selectFrom('releases')
      .select((eb) => eb.fn.max('version').as('v'))
      .where('app_id', '=', appId)
      .executeTakeFirst();
    return (r?.v === null || r?.v === undefined ? 0 : Number(r.v)) + 1;
  }

  /** Inserts the release and makes it the app's current one, atomically. */
  async insertRelease(r: Omit<ReleaseRow, 'id' | 'createdAt'>): Promise<ReleaseRow> {
    const releaseId = newId();
    const row = {
      id: releaseId,
      app_id: r.appId,
      version: r.version,
      slug_id: r.slugId,
      commit_sha: r.commit,
      description: r.description,
      config: this.#secrets.encrypt(JSON.stringify(r.config), releaseConfigAad(releaseId)),
      build_id: r.buildId,
      created_at: now(),
    };
    await this.#db.transaction().execute(async (tx) => {
      await tx.insertInto('releases').values(row).execute();
      await tx
        .updateTable('apps')
        .set({ current_version: r.version, updated_at: row.created_at })
        .where('id', '=', r.appId)
        .execute();
    });
    return { ...r, id: row.id, createdAt: row.created_at };
  }

  async listReleases(appId: string): Promise<ReleaseRow[]> {
    const rows = await this.#db
      .selectFrom('releases')
      .selectAll()
      .where('app_id', '=', appId)
      .orderBy('version', 'desc')
      .execute();
    return rows.map((row) => this.#toRelease(row));
  }

  async getRelease(appId: string, version: number): Promise<ReleaseRow> {
    const r = await this.#db
      .selectFrom('releases')
      .selectAll()
      .where('app_id', '=', appId)
      .where('version', '=', version)
      .executeTakeFirst();
    if (!r) throw new GantryError('GANTRY_RELEASE_NOT_FOUND', `release v${version} does not exist`);
    return this.#toRelease(r);
  }

  async createBuild(appId: string, commit: string | null): Promise<string> {
    return (await this.startBuild(appId, commit)).id;
  }

  /** Records a running build; returns it as stored. */
  async startBuild(appId: string, commit: string | null): Promise<BuildRow> {
    const build: BuildRow = {
      id: newId(),
      appId,
      commit,
      status: 'running',
      error: null,
      releaseVersion: null,
      startedAt: now(),
      finishedAt: null,
    };
    await this.#db
      .insertInto('builds')
      .values({
        id: build.id,
        app_id: appId,
        commit_sha: commit,
        status: build.status,
        log: '',
        error: null,
        release_version: null,
        started_at: build.startedAt,
        finished_at: null,
      })
      .execute();
    return build;
  }

  /** Returns the time recorded as the build's end. */
  async finishBuild(
    id: string,
    r: { status: 'succeeded' | 'failed'; log: string; error?: string; releaseVersion?: number },
  ): Promise<string> {
    const finishedAt = now();
    await this.#db
      .updateTable('builds')
      .set({
        status: r.status,
        log: r.log,
        error: r.error ?? null,
        release_version: r.releaseVersion ?? null,
        finished_at: finishedAt,
      })
      .where('id', '=', id)
      .execute();
    return finishedAt;
  }

  #builds(appId: string) {
    return this.#db
      .selectFrom('builds')
      .select([
        'id',
        'app_id',
        'commit_sha',
        'status',
        'error',
        'release_version',
        'started_at',
        'finished_at',
      ])
      .where('app_id', '=', appId);
  }

  async listBuilds(appId: string, limit = 50): Promise<BuildRow[]> {
    const rows = await this.#builds(appId).orderBy('started_at', 'desc').limit(limit).execute();
    return rows.map(toBuild);
  }

  async getBuild(appId: string, buildId: string): Promise<BuildRow | undefined> {
    const r = await this.#builds(appId).where('id', '=', buildId).executeTakeFirst();
    return r && toBuild(r);
  }

  async getBuildLog(appId: string, buildId: string): Promise<string> {
    const r = await this.#db
      .selectFrom('builds')
      .select('log')
      .where('app_id', '=', appId)
      .where('id', '=', buildId)
      .executeTakeFirst();
    if (!r) throw new GantryError('GANTRY_NOT_FOUND', `build ${buildId} not found`);
    return r.log;
  }
}
