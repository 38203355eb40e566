/**
 * The `gantry` git remote of the repository in the current directory: which
 * app it points at (so `-a` can be left out) and adding it. Git runs through
 * src/exec with argv arrays and `--` before values.
 */
import { run, runChecked } from '../exec/index.js';

export const REMOTE = 'gantry';

/** `https://host/git/NAME.git` → `NAME`. */
export function appFromRemoteUrl(url: string): string | undefined {
  const m = /\/git\/([a-z][a-z0-9-]*)\.git\/?$/.exec(url.trim());
  return m?.[1];
}

/** URL of the `gantry` remote, or undefined (no repo, no remote, no git). */
export async function gantryRemoteUrl(cwd: string): Promise<string | undefined> {
  try {
    const r = await run('git', ['remote', 'get-url', '--', REMOTE], { cwd, timeoutMs: 10_000 });
    return r.code === 0 ? r.stdout.trim() || undefined : undefined;
  } catch {
    // git itself is missing: there is no remote to read.
    return undefined;
  }
}

/** Adds the remote, or points the existing one at `url`. Returns what happened. */
export async function setGantryRemote(cwd: string, url: string): Promise<'added' | 'updated'> {
  const existing = await gantryRemoteUrl(cwd);
  if (existing === undefined) {
    await runChecked('git', ['remote', 'add', '--', REMOTE, url], { cwd, timeoutMs: 10_000 });
    return 'added';
  }
  await runChecked('git', ['remote', 'set-url', '--', REMOTE, url], { cwd, timeoutMs: 10_000 });
  return 'updated';
}
