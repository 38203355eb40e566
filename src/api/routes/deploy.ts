/**
 * Deploy from a source tarball (what `gantry deploy DIR` uploads). The reply
 * status is sent before the outcome is known, so the outcome is the body's
 * last line: `=====> DEPLOY OK v3` or `=====> DEPLOY FAILED: <message>`.
 */
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { GantryError, isGantryError } from '../../errors/index.js';
import { AppParams, TextBody, errorResponses } from '../schemas.js';
import { actorOf, type ApiPlugin } from '../types.js';

export const DEPLOY_OK = '=====> DEPLOY OK v';
export const DEPLOY_FAILED = '=====> DEPLOY FAILED: ';
export const TARBALL_TYPES = ['application/gzip', 'application/x-gzip', 'application/x-tar+gzip'];

export interface DeployRoutesOptions {
  /** Largest accepted upload in bytes (default 512 MiB). */
  maxUploadBytes?: number;
}

/** Passes bytes through until more than `max` went by, then fails the stream. */
class SizeLimit extends Transform {
  #seen = 0;
  readonly #max: number;
  constructor(max: number) {
    super();
    this.#max = max;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#max) {
      done(new GantryError('GANTRY_PUSH_TOO_LARGE', `upload larger than ${this.#max} bytes`));
      return;
    }
    done(null, chunk);
  }
}

export const deployRoutes: ApiPlugin<DeployRoutesOptions> = async (app, opts) => {
  const { platform, directory } = opts;
  const max = opts.maxUploadBytes ?? 512 * 1024 * 1024;

  // Encapsulated to this plugin: the raw request stream is the body, handed
  // on unbuffered. Fastify's bodyLimit does not apply to a passthrough
  // parser, so SizeLimit enforces the limit while the platform reads.
  app.addContentTypeParser(TARBALL_TYPES, { bodyLimit: max }, (_request, payload, done) => {
    done(null, payload);
  });

  app.post(
    '/apps/:app/deploy',
    {
      bodyLimit: max,
      config: { access: { app: 'manage' } },
      schema: {
        summary: 'Build and deploy a .tar.gz of the source; streams the build output',
        description: `Last line: "${DEPLOY_OK}N" or "${DEPLOY_FAILED}MESSAGE".`,
        tags: ['deploy'],
        params: AppParams,
        consumes: TARBALL_TYPES,
        produces: ['text/plain'],
        response: { 200: TextBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { app: name } = request.params;
      const body = request.body as Readable | undefined;
      if (!body || typeof body.pipe !== 'function') {
        throw new GantryError('GANTRY_BAD_REQUEST', `send the source as ${TARBALL_TYPES[0]}`);
      }
      const length = Number(request.headers['content-length']);
      if (Number.isFinite(length) && length > max) {
        throw new GantryError('GANTRY_PUSH_TOO_LARGE', `upload larger than ${max} bytes`);
      }
      // Fail with a real status while we still can (unknown app, no access).
      await platform.getApp(name);

      const out = new PassThrough();
      out.on('error', (err) => request.log.warn({ err }, 'deploy output stream failed'));
      let atLineStart = true;
      const emit = (text: string): void => {
        if (text.length === 0 || out.destroyed || out.writableEnded) return;
        out.write(text);
        atLineStart = text.endsWith('\n');
      };
      void reply.type('text/plain; charset=utf-8').send(out);
      emit(`=====> Deploying ${name}\n`);

      const tarball = body.pipe(new SizeLimit(max));
      body.on('error', (err) => tarball.destroy(err));
      let last: string;
      const actor = actorOf(request);
      try {
        // A client that goes away stops the build instead of leaving it holding the app's lock.
        const gone = new AbortController();
        reply.raw.on('close', () => {
          if (!reply.raw.writableFinished) gone.abort();
        });
        const release = await platform.deployTarball(name, tarball, emit, gone.signal);
        last = `${DEPLOY_OK}${release.version}\n`;
        await directory.audit(actor, 'app.deploy', `app:${name}`, { version: release.version, via: 'api' });
      } catch (err) {
        if (!isGantryError(err) || err.status >= 500) request.log.error({ err, app: name }, 'deploy failed');
        const message = isGantryError(err) ? err.message : 'internal error (see server log)';
        last = `${DEPLOY_FAILED}${message.replace(/\s*\n\s*/g, ' ')}\n`;
        await directory.audit(actor, 'app.deploy.failed', `app:${name}`, { error: message, via: 'api' });
      }
      // The outcome must be a line of its own: the CLI reads the last line.
      if (!out.destroyed && !out.writableEnded) out.end(atLineStart ? last : `\n${last}`);
      return reply;
    },
  );
};
