/**
 * The built web UI held in memory: every file read once at startup, text files
 * compressed once (gzip and brotli at their best levels), so a request costs
 * a map lookup and no disk access or compression.
 */
import { contentTypeFor, etagMatches as staticEtagMatches } from '../router/index.js';
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants as z, gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

export type Encoding = 'br' | 'gzip' | 'identity';

/** One file, ready to send. */
export interface Asset {
  type: string;
  /** Weak validator from the content: the same for every encoding of it. */
  etag: string;
  identity: Buffer;
  gzip?: Buffer;
  br?: Buffer;
}

/** Content-Type for a file name (the static-site router's table); `application/octet-stream` when unknown. */
export const assetType = contentTypeFor;

/** Worth compressing: text formats (images and fonts are compressed already). */
function compressible(type: string): boolean {
  return /^text\/|javascript|json|xml|svg|wasm|\/x-icon|font\/(ttf|otf)/.test(type);
}

/** Bodies under this size gain nothing that outweighs the extra header. */
const MIN_COMPRESS_BYTES = 256;

/** Reads and compresses one file's content. */
export async function makeAsset(body: Buffer, type: string): Promise<Asset> {
  const etag = `W/"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  const asset: Asset = { type, etag, identity: body };
  if (!compressible(type) || body.length < MIN_COMPRESS_BYTES) return asset;
  const [gz, br] = await Promise.all([
    gzipAsync(body, { level: z.Z_BEST_COMPRESSION }),
    brotliAsync(body, {
      params: {
        [z.BROTLI_PARAM_QUALITY]: z.BROTLI_MAX_QUALITY,
        [z.BROTLI_PARAM_MODE]: z.BROTLI_MODE_TEXT,
        [z.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    }),
  ]);
  // Kept only when clearly smaller than the file itself.
  if (gz.length < body.length * 0.95) asset.gzip = gz;
  if (br.length < body.length * 0.95) asset.br = br;
  return asset;
}

/**
 * Every regular file under `dir` by its `/`-separated path relative to `dir`.
 * Dotfiles and symbolic links are left out, so nothing outside `dir` can be served.
 * A missing `dir` is an empty map.
 */
export async function loadAssetDir(dir: string): Promise<Map<string, Asset>> {
  const files = new Map<string, Asset>();
  const walk = async (abs: string, rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(abs, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await Promise.all(
      entries.map(async (e) => {
        if (e.name.startsWith('.')) return;
        const path = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(join(abs, e.name), path);
        else if (e.isFile())
          files.set(path, await makeAsset(await readFile(join(abs, e.name)), assetType(path)));
      }),
    );
  };
  await walk(dir, '');
  return files;
}

/** The file `file`, or undefined when it is missing or not a regular file (a link, a directory). */
export async function loadAssetFile(file: string): Promise<Asset | undefined> {
  try {
    if (!(await lstat(file)).isFile()) return undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return makeAsset(await readFile(file), assetType(file));
}

/**
 * The encoding to send, from an Accept-Encoding header and what the asset has:
 * the highest q-value wins, brotli before gzip on a tie; `identity` otherwise.
 */
export function pickEncoding(header: string | undefined, asset: Asset): Encoding {
  if (!header || (!asset.br && !asset.gzip)) return 'identity';
  const q = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    let value = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) value = Number(m[1]);
    }
    if (Number.isFinite(value)) q.set(name, value);
  }
  const star = q.get('*') ?? 0;
  const br = asset.br ? (q.get('br') ?? star) : 0;
  const gz = asset.gzip ? (q.get('gzip') ?? q.get('x-gzip') ?? star) : 0;
  if (br <= 0 && gz <= 0) return 'identity';
  return br >= gz ? 'br' : 'gzip';
}

/** Does an If-None-Match header match `etag` (weak comparison, as RFC 9110 asks)? */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  return ifNoneMatch !== undefined && staticEtagMatches(ifNoneMatch, etag);
}
