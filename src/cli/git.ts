/**
 * The `gantry` git remote of the repository in the current directory: which
 * app it points at (so `-a` can be left out) and adding it. Git runs through
 * src/exec with argv arrays and `--` before values.
 */
import { fileURLToPath } from 'node:url';
import { run, runChecked } from '../exec/index.js';

export const REMOTE = 'gantry';

/** Where Gantry's SSH git server listens unless configured otherwise (GANTRY_SSH_PORT). */
export const DEFAULT_SSH_PORT = 2222;

/** `https://host/git/NAME.git` or `ssh://git@host:2222/NAME.git` → `NAME`. */
export function appFromRemoteUrl(url: string): string | undefined {
  const m = /(?:^ssh:\/\/[^/]+\/|\/git\/)([a-z][a-z0-9-]*)\.git\/?$/.exec(url.trim());
  return m?.[1];
}

/** `ssh://git@HOST:PORT/NAME.git`, HOST being the Gantry server's. */
export function sshRemoteUrl(serverUrl: string, app: string, port: number): string {
  return `ssh://git@${new URL(serverUrl).hostname}:${port}/${app}.git`;
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

/** The shell word git runs as the credential helper: this very CLI's `git:credential`. */
export function credentialHelperCommand(): string {
  const script = fileURLToPath(new URL('../../bin/gantry.js', import.meta.url));
  const quote = (s: string): string => {
    if (s.includes("'"))
      throw new Error(`cannot use a path containing a quote as a git credential helper: ${s}`);
    return `'${s}'`;
  };
  // `!` makes git run it with its shell; the words are fixed paths we quote, never user input.
  return `!${quote(process.execPath)} ${quote(script)} git:credential`;
}

/**
 * Makes `git push` to the Gantry server use the token from `gantry login`
 * (no password prompt): a credential helper scoped to that server's origin,
 * ahead of any global helpers.
 */
export async function setCredentialHelper(cwd: string, serverUrl: string): Promise<void> {
  const key = `credential.${new URL(serverUrl).origin}.helper`;
  await run('git', ['config', '--local', '--unset-all', '--', key], { cwd, timeoutMs: 10_000 });
  // An empty value first resets the helper list for this origin.
  await runChecked('git', ['config', '--local', '--add', '--', key, ''], { cwd, timeoutMs: 10_000 });
  await runChecked('git', ['config', '--local', '--add', '--', key, credentialHelperCommand()], {
    cwd,
    timeoutMs: 10_000,
  });
}

/** Parses git's credential protocol (`key=value` lines). */
export function parseCredentialRequest(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}
