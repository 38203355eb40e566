/**
 * Dependency cache: built dependency trees (a venv, node_modules) keyed by a
 * hash of everything that determines them (lockfile, interpreter version,
 * index settings). Entries are copied in and out with hardlinks (`cp -al`),
 * so a cache hit costs a directory walk, not a reinstall. Trees are always
 * built at their final sandbox path (/app/.venv, /app/node_modules), so the
 * absolute paths baked into them (shebangs, pyvenv.cfg) are right wherever
 * the slug is.
 *
 * Layout: `<root>/<key>/tree`. Writes go to a temp dir then rename, so a
 * crashed build never leaves a half-stored entry under a valid key.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { run, runChecked } from '../exec/index.js';
import type { Logger } from '../log/index.js';

/** sha256 over the JSON of `parts` (order-stable for plain objects built in code). */
export function cacheKey(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

const exists = async (p: string): Promise<boolean> => {
  try {
    await stat(p);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
};

/** Copies a tree with hardlinks, falling back to a real copy across filesystems. */
export async function linkCopy(src: string, dest: string): Promise<void> {
  const r = await run('cp', ['-al', '--', src, dest]);
  if (r.code === 0) return;
  await rm(dest, { recursive: true, force: true });
  await runChecked('cp', ['-a', '--', src, dest]);
}

export class DepCache {
  readonly #root: string;
  readonly #keep: number;
  readonly #logger: Logger;

  constructor(opts: { root: string; keep?: number; logger: Logger }) {
    this.#root = opts.root;
    this.#keep = opts.keep ?? 3;
    this.#logger = opts.logger;
  }

  /** Copies the cached tree for `key` to `dest` (which must not exist). False on a miss. */
  async restore(key: string, dest: string): Promise<boolean> {
    const entry = join(this.#root, key);
    if (!(await exists(join(entry, 'tree')))) return false;
    await linkCopy(join(entry, 'tree'), dest);
    const now = new Date();
    await utimes(entry, now, now); // most recently used survives pruning
    return true;
  }

  /** Stores a copy of `src` under `key`, then prunes old entries. */
  async store(key: string, src: string): Promise<void> {
    await mkdir(this.#root, { recursive: true, mode: 0o700 });
    const tmp = join(this.#root, `.tmp-${key}-${randomBytes(4).toString('hex')}`);
    await mkdir(tmp, { mode: 0o700 });
    try {
      await linkCopy(src, join(tmp, 'tree'));
      const entry = join(this.#root, key);
      if (await exists(entry)) return; // a concurrent build stored it first; ours is redundant
      await rename(tmp, entry);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    await this.prune();
  }

  /** Keeps the `keep` most recently used entries; drops stale temp dirs. */
  async prune(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.#root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    const entries = await Promise.all(
      names.map(async (name) => ({ name, mtime: (await stat(join(this.#root, name))).mtimeMs })),
    );
    const hour = Date.now() - 3_600_000;
    const doomed = entries.filter((e) => e.name.startsWith('.tmp-') && e.mtime < hour);
    const live = entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => b.mtime - a.mtime);
    doomed.push(...live.slice(this.#keep));
    for (const d of doomed) {
      this.#logger.debug({ entry: d.name }, 'pruning dependency cache entry');
      await rm(join(this.#root, d.name), { recursive: true, force: true });
    }
  }
}
