/**
 * An app's portal picture: the owner's upload, or else a capture taken in a
 * headless browser after each deploy. An upload always wins: captures never
 * replace it (checked in the same write), and only deleting it brings them back.
 */
import type { ThumbnailInfo } from '../api/platform.js';
import type { AppRecords, ThumbnailMeta } from '../apps/records.js';
import { GantryError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { MAX_THUMBNAIL_BYTES, sniffImage } from '../snapshots/image.js';
import type { LiveHub } from './live.js';

/**
 * Takes app pictures in a headless browser (src/snapshots). The platform calls
 * schedule() after a deploy or rollback; the taker captures in the background
 * and hands the picture back through GantryPlatform.storeCapturedThumbnail.
 */
export interface ThumbnailJobs {
  /** Queues a background capture of `app`. Never throws. */
  schedule(app: string): void;
  /** Captures `app` now and returns the picture without storing it. */
  captureNow(app: string): Promise<{ image: Buffer; contentType: 'image/jpeg' | 'image/png' }>;
  /** False when the host has no browser. */
  readonly available: boolean;
}

export const toThumbnailInfo = (app: string, t: ThumbnailMeta): ThumbnailInfo => ({
  url: `/api/apps/${encodeURIComponent(app)}/thumbnail?v=${t.etag}`,
  source: t.source,
  updatedAt: t.updatedAt,
});

export class AppPictures {
  readonly #records: AppRecords;
  readonly #live: LiveHub;
  readonly #logger: Logger;
  readonly #jobs: ThumbnailJobs | undefined;

  constructor(d: { records: AppRecords; live: LiveHub; logger: Logger; thumbnails?: ThumbnailJobs }) {
    this.#records = d.records;
    this.#live = d.live;
    this.#logger = d.logger;
    this.#jobs = d.thumbnails;
  }

  /** Queues a background capture unless the owner uploaded a picture or the app is not deployed. */
  autoCapture(app: string): void {
    const jobs = this.#jobs;
    if (!jobs?.available) return;
    this.#records
      .find(app)
      .then((a) => {
        if (a && a.currentVersion !== null && a.thumbnail?.source !== 'upload') jobs.schedule(app);
      })
      .catch((err: unknown) => this.#logger.error({ err, app }, 'cannot schedule an app picture'));
  }

  async get(app: string): Promise<{ body: Buffer; contentType: string; etag: string } | null> {
    const t = await this.#records.getThumbnail((await this.#records.get(app)).id);
    return t ? { body: t.image, contentType: t.contentType, etag: t.etag } : null;
  }

  async put(app: string, image: Buffer): Promise<ThumbnailInfo> {
    const a = await this.#records.get(app);
    if (image.length > MAX_THUMBNAIL_BYTES)
      throw new GantryError('GANTRY_BAD_REQUEST', 'the image is larger than 2 MiB; upload a smaller one');
    const contentType = sniffImage(image);
    if (!contentType) throw new GantryError('GANTRY_BAD_REQUEST', 'not a PNG, JPEG or WebP image');
    const t = await this.#records.putThumbnail(a.id, { source: 'upload', contentType, image });
    if (!t) throw new GantryError('GANTRY_INTERNAL', 'the picture was not stored; try again');
    return this.#changed(app, t);
  }

  async delete(app: string): Promise<void> {
    const a = await this.#records.get(app);
    // Only an upload goes: an automatic picture is already what "back to automatic" means.
    if (!(await this.#records.deleteThumbnail(a.id, { onlyUpload: true }))) return;
    this.#live.emit(app, { type: 'thumbnail', thumbnail: null });
    this.autoCapture(app);
  }

  async capture(app: string): Promise<ThumbnailInfo> {
    const a = await this.#records.get(app);
    const jobs = this.#jobs;
    if (a.thumbnail?.source === 'upload')
      throw new GantryError(
        'GANTRY_CONFLICT',
        `app "${app}" shows an uploaded picture; delete it to go back to automatic pictures`,
      );
    if (!jobs?.available)
      throw new GantryError(
        'GANTRY_UNSUPPORTED',
        'this server cannot take pictures of apps (no headless Chromium); upload one instead',
      );
    if (a.currentVersion === null)
      throw new GantryError('GANTRY_NO_RELEASE', `app "${app}" has not been deployed yet`);
    const shot = await jobs.captureNow(app);
    const info = await this.storeCaptured(app, shot.image, shot.contentType);
    if (!info)
      throw new GantryError('GANTRY_CONFLICT', `a picture of "${app}" was uploaded during the capture`);
    return info;
  }

  /** Null (nothing stored) when the app is gone or its owner uploaded a picture meanwhile. */
  async storeCaptured(
    app: string,
    image: Buffer,
    contentType: 'image/jpeg' | 'image/png',
  ): Promise<ThumbnailInfo | null> {
    const a = await this.#records.find(app);
    if (!a) return null;
    const t = await this.#records.putThumbnail(
      a.id,
      { source: 'auto', contentType, image },
      { keepUpload: true },
    );
    return t ? this.#changed(app, t) : null;
  }

  #changed(app: string, t: ThumbnailMeta): ThumbnailInfo {
    const info = toThumbnailInfo(app, t);
    this.#live.emit(app, { type: 'thumbnail', thumbnail: info });
    return info;
  }
}
