/**
 * The pushed source is hostile until proven otherwise. Before Gantry (as
 * root, on the host) reads a single file of it, the whole tree is walked
 * without following links: symlinks must stay inside the tree (the router
 * later serves static files from it, and host-side copies walk it), and
 * device files, FIFOs and sockets are refused outright.
 */
import { constants } from 'node:fs';
import { lstat, open, opendir, readlink, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { GantryError } from '../errors/index.js';

const unsafe = (message: string): GantryError => new GantryError('GANTRY_UNSAFE_SOURCE', message);

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

async function checkLink(realRoot: string, path: string, rel: string): Promise<void> {
  const target = await readlink(path);
  if (isAbsolute(target))
    throw unsafe(
      `${rel} is a symbolic link to an absolute path (${target}); only relative links inside the app are allowed`,
    );
  let resolved: string;
  try {
    resolved = await realpath(path);
  } catch (e) {
    const code = errno(e);
    if (code === 'ELOOP') throw unsafe(`${rel} is a symbolic link loop`);
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
    // Dangling: only a purely downward relative link can be shown to stay inside.
    const lexical = resolve(dirname(path), target);
    if (target.split('/').includes('..') || !inside(realRoot, lexical))
      throw unsafe(`${rel} is a broken symbolic link pointing outside the app (${target})`);
    return;
  }
  if (!inside(realRoot, resolved))
    throw unsafe(`${rel} is a symbolic link pointing outside the app (${target})`);
}

function kind(st: {
  isFIFO(): boolean;
  isSocket(): boolean;
  isBlockDevice(): boolean;
  isCharacterDevice(): boolean;
}): string | undefined {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isCharacterDevice()) return 'a character device';
  return undefined;
}

/**
 * Walks `root` and throws GANTRY_UNSAFE_SOURCE naming the first offending
 * path: an absolute symlink, a symlink resolving outside `root`, a symlink
 * loop, or a special file. Returns the number of entries checked.
 */
export async function checkSourceTree(root: string): Promise<number> {
  const st = await lstat(root);
  if (!st.isDirectory()) throw unsafe(`the source is not a directory`);
  const realRoot = await realpath(root);
  let count = 0;
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    for await (const entry of await opendir(dir)) {
      count++;
      const path = join(dir, entry.name);
      const rel = relative(root, path);
      if (entry.isSymbolicLink()) await checkLink(realRoot, path, rel);
      else if (entry.isDirectory()) stack.push(path);
      else if (!entry.isFile()) {
        // d_type can be unknown on some filesystems: ask lstat before judging.
        const s = await lstat(path);
        if (s.isSymbolicLink()) await checkLink(realRoot, path, rel);
        else if (s.isDirectory()) stack.push(path);
        else {
          const k = kind(s);
          if (k) throw unsafe(`${rel} is ${k}; special files are not allowed in an app`);
        }
      }
    }
  }
  return count;
}

/** Upper bound for manifest-like files read on the host (Procfile, app.json, requirements…). */
export const MAX_MANIFEST_BYTES = 1 << 20;

/**
 * Reads a file at the top of the source tree without following links.
 * Returns undefined if it does not exist. A symlink or non-regular file is an
 * error naming it: manifests must be committed as plain files.
 */
export async function readSourceFile(
  root: string,
  name: string,
  maxBytes = MAX_MANIFEST_BYTES,
): Promise<string | undefined> {
  if (name.includes('/') || name === '..' || name === '.')
    throw new Error(`readSourceFile: not a top-level name: ${name}`);
  let fh;
  try {
    fh = await open(join(root, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = errno(e);
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw unsafe(`${name} is a symbolic link; commit the file itself`);
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw unsafe(`${name} is not a regular file`);
    if (st.size > maxBytes)
      throw new GantryError(
        'GANTRY_BUILD_FAILED',
        `${name} is too large (${st.size} bytes; at most ${maxBytes})`,
      );
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/** What sits at the top of the tree, by name, without following links. */
export async function topLevelEntries(root: string): Promise<Map<string, 'file' | 'dir' | 'link' | 'other'>> {
  const out = new Map<string, 'file' | 'dir' | 'link' | 'other'>();
  for await (const e of await opendir(root)) {
    out.set(e.name, e.isFile() ? 'file' : e.isDirectory() ? 'dir' : e.isSymbolicLink() ? 'link' : 'other');
  }
  return out;
}

/**
 * Resolves a directory named by the user (e.g. in `.static`) relative to the
 * source, and returns it normalised if it is a real directory inside it.
 */
export async function resolveInsideDir(root: string, rel: string): Promise<string | undefined> {
  if (isAbsolute(rel) || rel.split(/[\\/]/).includes('..')) return undefined;
  const realRoot = await realpath(root);
  let real: string;
  try {
    real = await realpath(resolve(root, rel));
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return undefined;
    throw e;
  }
  if (!inside(realRoot, real)) return undefined;
  const st = await lstat(real);
  if (!st.isDirectory()) return undefined;
  return relative(realRoot, real) || '.';
}
