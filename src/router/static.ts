/**
 * Static sites: files under `route.staticRoot`, streamed, with validators and caching
 * headers. Nothing outside the root's real path is ever opened (symlinks that leave it
 * are treated as missing) and no dotfile or dot-directory is served.
 */
import { constants, type Stats } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { pipeline } from 'node:stream';
import type { Logger } from '../log/index.js';
import { Pages, sendPage } from './pages.js';
import type { RouteState } from './state.js';

const TEXT = '; charset=utf-8';
const TYPES: Record<string, string> = {
  '.html': 'text/html' + TEXT,
  '.htm': 'text/html' + TEXT,
  '.css': 'text/css' + TEXT,
  '.js': 'text/javascript' + TEXT,
  '.mjs': 'text/javascript' + TEXT,
  '.json': 'application/json' + TEXT,
  '.map': 'application/json' + TEXT,
  '.webmanifest': 'application/manifest+json' + TEXT,
  '.txt': 'text/plain' + TEXT,
  '.md': 'text/markdown' + TEXT,
  '.csv': 'text/csv' + TEXT,
  '.xml': 'application/xml' + TEXT,
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.wasm': 'application/wasm',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.parquet': 'application/vnd.apache.parquet',
};

/** Content-Type for a file name; `application/octet-stream` when unknown. */
export function contentTypeFor(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Weak validator from size and mtime, like nginx and `send` do. */
export function etagFor(st: Stats): string {
  return `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
}

/** RFC 9110 §13.1.2 weak comparison against an If-None-Match list. */
export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch.trim() === '*') return true;
  const bare = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (const part of ifNoneMatch.split(',')) {
    const t = part.trim();
    if ((t.startsWith('W/') ? t.slice(2) : t) === bare) return true;
  }
  return false;
}

function isFresh(req: IncomingMessage, etag: string, st: Stats): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) return etagMatches(inm, etag);
  const ims = req.headers['if-modified-since'];
  if (ims === undefined) return false;
  const t = Date.parse(ims);
  return !Number.isNaN(t) && Math.floor(st.mtimeMs / 1000) * 1000 <= t;
}

/** Decoded path segments below the app prefix, or a reason to refuse. Pure. */
export function staticSegments(rest: string): { segments: string[] } | { error: 'bad' | 'hidden' } {
  const segments: string[] = [];
  for (const raw of rest.split('/')) {
    if (raw === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return { error: 'bad' };
    }
    // The validator already refused encoded slashes/backslashes/NUL; re-check after decoding anyway.
    if (seg.includes('/') || seg.includes('\\') || seg.includes('\0')) return { error: 'bad' };
    if (seg.startsWith('.')) return { error: 'hidden' };
    segments.push(seg);
  }
  return { segments };
}

/** True when `real` is `root` or inside it, and no component below the root is a dotfile. */
function insideRoot(root: string, real: string): boolean {
  if (real === root) return true;
  if (!real.startsWith(root === sep ? root : root + sep)) return false;
  return !real.slice(root.length).includes(`${sep}.`);
}

/** Opens a regular file or directory by real path, refusing a final symlink. */
async function openReal(
  root: string,
  candidate: string,
): Promise<{ fh: FileHandle; st: Stats; real: string } | undefined> {
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    return undefined; // ENOENT, ENOTDIR, ELOOP: all "not found" to the viewer
  }
  if (!insideRoot(root, real)) return undefined;
  const fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => undefined);
  if (fh === undefined) return undefined;
  try {
    return { fh, st: await fh.stat(), real };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

export interface StaticRequest {
  req: IncomingMessage;
  res: ServerResponse;
  route: RouteState;
  /** Index of `?` in `req.url`, or its length. */
  pathEnd: number;
  logger: Logger;
}

/** Serves one request from `route.staticRoot`. Rejects only on unexpected I/O errors. */
export async function serveStatic({ req, res, route, pathEnd, logger }: StaticRequest): Promise<void> {
  const method = req.method;
  if (method !== 'GET' && method !== 'HEAD') {
    sendPage(req, res, Pages.methodNotAllowed(), { allow: 'GET, HEAD' });
    return;
  }
  const url = req.url!;
  const parsed = staticSegments(url.slice(route.prefix.length + 1, pathEnd));
  if ('error' in parsed) {
    if (parsed.error === 'bad') sendPage(req, res, Pages.badRequest('malformed path'));
    else sendPage(req, res, Pages.fileNotFound());
    return;
  }
  let root: string;
  try {
    root = await (route.rootReal ??= realpath(route.route.staticRoot!));
  } catch (err) {
    route.rootReal = undefined; // retry next time: the release may still be unpacking
    logger.warn({ app: route.route.app, err: (err as Error).message }, 'static root unavailable');
    sendPage(req, res, Pages.notRunning(route.route.app), { 'retry-after': '5' });
    return;
  }
  let file = await openReal(root, join(root, ...parsed.segments));
  if (file?.st.isDirectory()) {
    await file.fh.close();
    if (url.charCodeAt(pathEnd - 1) !== 47 /* / */) {
      const location = `${url.slice(0, pathEnd)}/${url.slice(pathEnd)}`;
      res.writeHead(301, { location, 'content-length': 0, 'cache-control': 'no-cache' });
      res.end();
      return;
    }
    file = await openReal(root, join(file.real, 'index.html'));
  }
  if (file === undefined) {
    sendPage(req, res, Pages.fileNotFound());
    return;
  }
  const { fh, st, real } = file;
  if (!st.isFile()) {
    await fh.close();
    sendPage(req, res, Pages.fileNotFound());
    return;
  }
  const etag = etagFor(st);
  const type = contentTypeFor(real);
  const headers: Record<string, string | number> = {
    etag,
    'last-modified': st.mtime.toUTCString(),
    'cache-control': type.startsWith('text/html') ? 'no-cache' : 'public, max-age=3600',
    'x-content-type-options': 'nosniff',
  };
  if (isFresh(req, etag, st)) {
    await fh.close();
    res.writeHead(304, headers);
    res.end();
    return;
  }
  headers['content-type'] = type;
  headers['content-length'] = st.size;
  res.writeHead(200, headers);
  if (method === 'HEAD' || st.size === 0) {
    await fh.close();
    res.end();
    return;
  }
  // Bounded to the size announced in Content-Length even if the file grows meanwhile.
  pipeline(fh.createReadStream({ start: 0, end: st.size - 1 }), res, (err) => {
    if (err && !res.destroyed)
      logger.warn({ app: route.route.app, err: err.message }, 'static file stream failed');
  });
}
