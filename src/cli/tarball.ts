/**
 * Packs a source directory into a .tar.gz for `gantry deploy`. In a git
 * work tree the file list comes from git (tracked + untracked, minus
 * .gitignore'd); elsewhere the tree is walked. Either way dependency and
 * VCS directories are left out: the server builds those.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import { run } from '../exec/index.js';

/** Never uploaded, at any depth. */
export const SKIPPED = new Set(['.git', 'node_modules', '.venv', '__pycache__', '.gantry']);

const skipped = (relPath: string): boolean => relPath.split('/').some((part) => SKIPPED.has(part));

async function gitFiles(dir: string): Promise<string[] | undefined> {
  try {
    const r = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: dir,
      timeoutMs: 60_000,
      maxBuffer: 64 << 20,
    });
    return r.code === 0 ? r.stdout.split('\0').filter(Boolean) : undefined;
  } catch {
    // No git on this machine: walk the tree instead.
    return undefined;
  }
}

async function walk(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (SKIPPED.has(e.name)) continue;
    if (e.isDirectory()) out.push(...(await walk(dir, rel)));
    else if (e.isFile() || e.isSymbolicLink()) out.push(rel);
  }
  return out;
}

/** Relative paths of the files to upload, sorted. */
export async function sourceFiles(dir: string): Promise<string[]> {
  const listed = (await gitFiles(dir)) ?? (await walk(dir));
  const files: string[] = [];
  for (const f of listed) {
    if (skipped(f)) continue;
    // git lists deleted-but-tracked files; only pack what exists.
    const st = await lstat(join(dir, f)).catch(() => undefined);
    if (st && (st.isFile() || st.isSymbolicLink())) files.push(f);
  }
  return files.sort();
}

/** Writes `dir`'s source to `file` (.tar.gz). Returns the number of files packed. */
export async function packSource(opts: { dir: string; file: string }): Promise<number> {
  const files = await sourceFiles(opts.dir);
  if (files.length === 0) return 0;
  // `./` prefix: node-tar reads a name starting with `@` as an archive to splice in.
  await tar.c(
    { gzip: true, cwd: opts.dir, file: opts.file, portable: true, noDirRecurse: true },
    files.map((f) => `./${f}`),
  );
  return files.length;
}
