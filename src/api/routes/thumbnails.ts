/**
 * An app's portal picture: served to anyone who may open the app, replaced
 * by an upload or captured again by those who manage it. Uploads are raw
 * image bodies, recognised by their bytes (never by the Content-Type alone).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyError } from 'fastify';
import { GantryError } from '../../errors/index.js';
import { MAX_THUMBNAIL_BYTES, sniffImage } from '../../snapshots/image.js';
import { AppParams, ThumbnailBody, errorResponses } from '../schemas.js';
import { actorOf, type ApiPlugin } from '../types.js';

export const THUMBNAIL_TYPES = ['image/png', 'image/jpeg', 'image/webp'];
/** Browsers keep a versioned URL's picture for a year: a new picture gets a new `?v=`. */
export const IMMUTABLE_CACHE = 'private, max-age=31536000, immutable';
export const REVALIDATE_CACHE = 'private, no-cache';

/** Does an If-None-Match header name this entity tag (strong or weak, or `*`)? */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === `"${etag}"`;
  });
}

export const thumbnailsRoutes: ApiPlugin = async (app, { platform, directory }) => {
  // Every image type, not only the three we keep: an SVG or GIF upload then
  // gets the clear "not a PNG, JPEG or WebP image" rather than a bare 415.
  // Encapsulated to this plugin, so no other route accepts image bodies.
  app.addContentTypeParser(
    /^image\//,
    { parseAs: 'buffer', bodyLimit: MAX_THUMBNAIL_BYTES },
    (_request, body, done) => done(null, body),
  );
  // Fastify's own 413 says "Request body is too large"; tell the user the limit.
  // Anything else goes on to the API's error handler.
  app.setErrorHandler((err: FastifyError) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      throw new GantryError(
        'GANTRY_PUSH_TOO_LARGE',
        `the image is larger than ${MAX_THUMBNAIL_BYTES / 1024 / 1024} MB`,
      );
    }
    throw err;
  });

  app.get(
    '/apps/:app/thumbnail',
    {
      config: { access: { app: 'view' } },
      schema: {
        summary: "The app's portal picture",
        tags: ['portal'],
        params: AppParams,
        querystring: Type.Object({
          v: Type.Optional(
            Type.String({ maxLength: 200, description: 'version: makes the reply cacheable' }),
          ),
        }),
        produces: THUMBNAIL_TYPES,
        response: { 200: Type.String({ format: 'binary' }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { app: name } = request.params;
      const thumb = await platform.getThumbnail(name);
      if (!thumb) throw new GantryError('GANTRY_NOT_FOUND', `app ${name} has no thumbnail yet`);
      void reply
        .header('etag', `"${thumb.etag}"`)
        .header('cache-control', request.query.v === thumb.etag ? IMMUTABLE_CACHE : REVALIDATE_CACHE)
        .header('x-content-type-options', 'nosniff');
      if (etagMatches(request.headers['if-none-match'], thumb.etag)) return reply.status(304).send();
      return reply.type(thumb.contentType).send(thumb.body);
    },
  );

  app.put(
    '/apps/:app/thumbnail',
    {
      bodyLimit: MAX_THUMBNAIL_BYTES,
      config: { access: { app: 'manage' } },
      schema: {
        summary: 'Upload a picture (PNG, JPEG or WebP, at most 2 MB); automatic captures stop',
        tags: ['portal'],
        params: AppParams,
        consumes: THUMBNAIL_TYPES,
        response: { 200: ThumbnailBody, ...errorResponses },
      },
    },
    async (request) => {
      const { app: name } = request.params;
      const image = request.body;
      if (!Buffer.isBuffer(image)) {
        throw new GantryError(
          'GANTRY_BAD_REQUEST',
          `send the image as the request body with content-type ${THUMBNAIL_TYPES.join(', ')}`,
        );
      }
      if (!sniffImage(image)) throw new GantryError('GANTRY_BAD_REQUEST', 'not a PNG, JPEG or WebP image');
      const info = await platform.putThumbnail(name, image);
      await directory.audit(actorOf(request), 'app.thumbnail', `app:${name}`, {
        source: 'upload',
        bytes: image.length,
      });
      return info;
    },
  );

  app.delete(
    '/apps/:app/thumbnail',
    {
      config: { access: { app: 'manage' } },
      schema: {
        summary: 'Drop an uploaded picture and go back to automatic captures',
        tags: ['portal'],
        params: AppParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { app: name } = request.params;
      await platform.deleteThumbnail(name);
      await directory.audit(actorOf(request), 'app.thumbnail', `app:${name}`, { source: 'auto' });
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/apps/:app/thumbnail/capture',
    {
      config: { access: { app: 'manage' } },
      schema: {
        summary: 'Capture the picture now in a headless browser',
        description: '409 while an uploaded picture is in place or before the first deploy.',
        tags: ['portal'],
        params: AppParams,
        response: { 200: ThumbnailBody, ...errorResponses },
      },
    },
    async (request) => {
      const { app: name } = request.params;
      const info = await platform.captureThumbnail(name);
      await directory.audit(actorOf(request), 'app.thumbnail', `app:${name}`, {
        source: 'auto',
        capture: true,
      });
      return info;
    },
  );
};
