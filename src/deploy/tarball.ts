/**
 * Unpacks an uploaded .tar.gz with bounds on what it may cost: compressed
 * bytes read, total bytes it unpacks to, and number of entries. Counting only
 * the upload is not enough: a few MiB of gzip can unpack to terabytes (a
 * gzip bomb) or to millions of empty files, either of which fills the disk.
 * The entry headers are checked before each entry is written, so a bomb is
 * refused before its data reaches the disk.
 */
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar';
import { GantryError } from '../errors/index.js';

export interface TarballLimits {
  /** Upper bound on bytes read from the (compressed) upload. */
  maxCompressedBytes: number;
  /** Upper bound on the sum of the entries' sizes once unpacked. */
  maxExtractedBytes: number;
  /** Upper bound on entries (files, directories, links). */
  maxEntries: number;
}

/** Default entry cap: far above any app's source, far below what exhausts inodes. */
export const MAX_TARBALL_ENTRIES = 100_000;

const mib = (n: number): string => `${Math.round(n / 1048576)} MiB`;

function tooLarge(message: string): GantryError {
  return new GantryError('GANTRY_PUSH_TOO_LARGE', message);
}

/**
 * Extracts `source` (a .tar.gz or .tar stream) into `dir`. Throws
 * GANTRY_PUSH_TOO_LARGE past a limit and GANTRY_BAD_REQUEST for anything
 * that is not a valid tarball; `dir` may then hold a partial extraction
 * (the caller owns and removes it).
 */
export async function extractTarball(o: {
  source: Readable;
  dir: string;
  limits: TarballLimits;
}): Promise<{ entries: number; bytes: number }> {
  const { maxCompressedBytes, maxExtractedBytes, maxEntries } = o.limits;
  // The raw tar stream also holds headers, padding and metadata entries that
  // node-tar skips without writing; bound it too so those cannot be a bomb either.
  const maxTarBytes = maxExtractedBytes + 2048 * maxEntries + 16 * 1048576;
  let read = 0;
  const countCompressed = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      read += chunk.length;
      if (read > maxCompressedBytes)
        cb(tooLarge(`upload is larger than the ${mib(maxCompressedBytes)} limit`));
      else cb(null, chunk);
    },
  });

  let entries = 0;
  let bytes = 0;
  let refused: GantryError | undefined;
  const unpack = tar.x({
    cwd: o.dir,
    strict: true,
    preserveOwner: false,
    // Called with each entry's header, before anything of it is written.
    filter: (_path, entry) => {
      if (refused) return false;
      entries++;
      bytes += entry.size;
      if (entries > maxEntries)
        refused = tooLarge(`upload has more than ${maxEntries} files and directories`);
      else if (bytes > maxExtractedBytes)
        refused = tooLarge(`upload unpacks to more than ${mib(maxExtractedBytes)}`);
      return !refused;
    },
  });
  // node-tar's abort() would leave queued writes running after we return (and the
  // caller removing the dir); instead its input is ended and we wait until every
  // write has settled ('finish' comes once the input ended and nothing is pending).
  let unpackError: unknown;
  const settled = new Promise<void>((resolve) => {
    unpack.on('error', (e: unknown) => (unpackError ??= e));
    unpack.on('finish', () => resolve());
  });

  let inputError: unknown;
  try {
    // Gunzipped here rather than by node-tar so that stopping early is a clean end of input.
    await pipeline(o.source, countCompressed, createGunzip(), async (tarStream: AsyncIterable<Buffer>) => {
      let tarBytes = 0;
      for await (const chunk of tarStream) {
        tarBytes += chunk.length;
        if (tarBytes > maxTarBytes)
          refused ??= tooLarge(`upload unpacks to more than ${mib(maxExtractedBytes)}`);
        if (refused) return; // destroys the input: no more decompression
        if (!unpack.write(chunk)) await once(unpack, 'drain');
      }
    });
  } catch (e) {
    inputError = e;
  } finally {
    unpack.end();
    await settled;
  }
  if (refused) throw refused;
  if (inputError instanceof GantryError) throw inputError;
  const e = inputError ?? unpackError;
  if (e !== undefined) {
    const message = e instanceof Error ? e.message : String(e);
    throw new GantryError('GANTRY_BAD_REQUEST', `the upload is not a valid .tar.gz: ${message}`, {
      cause: e,
    });
  }
  return { entries, bytes };
}
