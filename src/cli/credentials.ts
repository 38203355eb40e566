/**
 * Where `gantry login` keeps the server URL and token:
 * `$XDG_CONFIG_HOME/gantry/config.json` (default `~/.config/gantry/config.json`),
 * mode 0600 in a 0700 directory. `GANTRY_URL` / `GANTRY_TOKEN` override it.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Credentials {
  url: string;
  token: string;
}

type Env = Record<string, string | undefined>;

export function credentialsPath(env: Env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'gantry', 'config.json');
}

async function readFileCreds(env: Env): Promise<Partial<Credentials>> {
  const path = credentialsPath(env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
  try {
    const parsed = JSON.parse(text) as Partial<Credentials>;
    return {
      url: typeof parsed.url === 'string' ? parsed.url : undefined,
      token: typeof parsed.token === 'string' ? parsed.token : undefined,
    };
  } catch {
    throw new Error(`${path} is not valid JSON: run gantry login again`);
  }
}

/** URL and token from the environment, else the file; either may be missing. */
export async function loadCredentials(env: Env): Promise<Partial<Credentials>> {
  const file = env.GANTRY_URL && env.GANTRY_TOKEN ? {} : await readFileCreds(env);
  const url = env.GANTRY_URL || file.url;
  // Never send the stored token to a different server named by GANTRY_URL.
  const same = (a?: string, b?: string): boolean => a?.replace(/\/+$/, '') === b?.replace(/\/+$/, '');
  const token = env.GANTRY_TOKEN || (same(url, file.url) ? file.token : undefined);
  return { url, token };
}

/** Like loadCredentials, but both are required (every command but login). */
export async function requireCredentials(env: Env): Promise<Credentials> {
  const { url, token } = await loadCredentials(env);
  if (!url || !token)
    throw new Error('not logged in: run gantry login URL (or set GANTRY_URL and GANTRY_TOKEN)');
  return { url, token };
}

/** Writes atomically (temp file + rename) so a crash never leaves a half-written or world-readable file. */
export async function saveCredentials(env: Env, creds: Credentials): Promise<string> {
  const path = credentialsPath(env);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(creds, null, 2) + '\n', { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
  return path;
}

/** Forgets the token. Returns false if there was nothing to forget. */
export async function removeCredentials(env: Env): Promise<boolean> {
  const path = credentialsPath(env);
  const old = await readFileCreds(env);
  const existed = Boolean(old.url || old.token);
  await rm(path, { force: true });
  return existed;
}
