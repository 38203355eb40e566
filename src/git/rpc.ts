/**
 * POST /git/NAME.git/git-receive-pack | git-upload-pack: the request body goes
 * to `git <service> --stateless-rpc`, its stdout back as the response.
 *
 * Size limits, in the order they normally bite:
 *  1. receive.maxInputSize (= maxPushBytes) in the repo config: index-pack
 *     stops reading and git itself tells the pusher, over the sideband,
 *     "pack exceeds maximum allowed size" — the clearest message we can give.
 *  2. Our own byte count (raw and decompressed, maxPushBytes + slack for the
 *     command list): a backstop for gzip bombs or a git that is not reading;
 *     it stops receive-pack and answers 413.
 * Once git has answered, the rest of an oversized upload is read and dropped
 * for a short while (a "lingering close"), so the client reads the answer
 * instead of a connection reset.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Identity } from '../identity/types.js';
import type { GitServiceOptions } from './types.js';
import type { HookServer } from './hook-server.js';
import { startGit } from './pack.js';
import { sendText, streamChild } from './respond.js';
import type { GitService } from './validate.js';

/** Room for the ref-update commands and pipe buffers on top of the pack, which receive.maxInputSize bounds. */
export const SLACK_BYTES = 1024 * 1024;
/** How long an oversized upload is still drained after git has answered (nginx's lingering_time). */
const LINGER_MS = 30_000;

export interface RpcRequest {
  opts: GitServiceOptions;
  hooks: HookServer;
  req: IncomingMessage;
  res: ServerResponse;
  service: GitService;
  repoPath: string;
  env: Record<string, string>;
  identity: Identity;
  ip: string | null;
  app: string;
}

export function rpc(o: RpcRequest): void {
  const { req, res, service, opts, hooks } = o;
  const log = opts.logger;
  if (req.headers['content-type'] !== `application/x-${service}-request`)
    return sendText(res, 415, `expected content-type application/x-${service}-request`);
  const encoding = req.headers['content-encoding'];
  const gzip = encoding === 'gzip' || encoding === 'x-gzip';
  if (encoding !== undefined && encoding !== 'identity' && !gzip)
    return sendText(res, 415, `unsupported content-encoding ${encoding}`);
  const limit = opts.maxPushBytes + SLACK_BYTES;
  const tooLarge = `push rejected: it is larger than the limit of ${formatBytes(opts.maxPushBytes)}`;

  const git = startGit({
    hooks,
    logger: log,
    service,
    stateless: true,
    app: o.app,
    identity: o.identity,
    ip: o.ip,
    repoPath: o.repoPath,
    env: o.env,
  });
  const { child, stop } = git;

  let takenOver = false;
  const body: Readable = gzip ? req.pipe(createGunzip()) : req;
  const fail = (status: number, message: string): void => {
    if (takenOver) return;
    takenOver = true;
    stop();
    sendText(res, status, message, { connection: 'close' });
    body.resume();
  };
  const overLimit = (): void => {
    if (res.writableEnded) return; // git already answered: keep draining (lingering close)
    if (!res.headersSent) return fail(413, tooLarge);
    // git is mid-answer and the body still grows: nothing sensible is left to say.
    stop();
    res.destroy();
  };

  streamChild({
    child,
    res,
    contentType: `application/x-${service}-result`,
    log,
    takenOver: () => takenOver,
    onExit: (code) => git.finish(code),
  });
  res.on('close', () => {
    if (!res.writableFinished) stop();
  });
  res.on('finish', () => {
    if (req.complete) return;
    const timer = setTimeout(() => req.destroy(), LINGER_MS);
    timer.unref();
    req.once('close', () => clearTimeout(timer));
  });

  let rawBytes = 0;
  let bodyBytes = 0;
  if (gzip) {
    req.on('data', (c: Buffer) => {
      rawBytes += c.length;
      if (rawBytes > limit) overLimit();
    });
    body.on('error', () => fail(400, 'request body is not valid gzip'));
  }
  req.on('error', (e) => {
    log.debug({ err: e }, 'git request aborted');
    stop();
  });

  const stdin = child.stdin!;
  // git may stop reading early (index-pack refusing an oversized pack): drop the rest of the body.
  const discard = (): void => {
    body.resume();
  };
  stdin.on('error', (e) => {
    log.debug({ err: e }, 'git stopped reading its input');
    discard();
  });
  stdin.on('close', discard);
  body.on('data', (c: Buffer) => {
    bodyBytes += c.length;
    if (bodyBytes > limit) overLimit();
    if (takenOver || stdin.destroyed || stdin.writableEnded || bodyBytes > limit) return;
    if (!stdin.write(c)) {
      body.pause();
      stdin.once('drain', () => body.resume());
    }
  });
  body.on('end', () => {
    if (!stdin.destroyed) stdin.end();
  });
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${+(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${+(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}
