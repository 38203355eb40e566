/**
 * Bare repositories on disk: creation with Gantry's receive policy, removal,
 * and exporting a commit as plain files (`git archive`, no .git).
 */
import { mkdir, readdir, rm, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { x as extract } from 'tar';
import { run, runChecked, spawnProcess, MINIMAL_PATH } from '../exec/index.js';
import { GantryError } from '../errors/index.js';
import { validateAppName } from '../apps/index.js';
import { validateRef, validateSha, ZERO_SHA } from './validate.js';

/**
 * Base env for every git process we start: no system or user config, so only
 * the repo's own config (written by us) decides how git behaves.
 */
export function gitBaseEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? MINIMAL_PATH,
    LANG: 'C.UTF-8',
    HOME: process.env.HOME ?? '/',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
  };
}

export function repoPathFor(dataDir: string, app: string): string {
  validateAppName(app);
  return join(dataDir, 'repos', `${app}.git`);
}

/** The receive policy of every app repo (re-applied on each ensureRepo). */
function repoConfig(opts: { hooksDir: string; maxPushBytes: number }): [string, string][] {
  return [
    ['receive.fsckObjects', 'true'],
    ['receive.denyDeletes', 'true'],
    // Deploys may force-push (rewrite history, roll back by pushing an old commit).
    ['receive.denyNonFastForwards', 'false'],
    ['receive.maxInputSize', String(Math.max(1, Math.floor(opts.maxPushBytes)))],
    ['core.hooksPath', opts.hooksDir],
    ['http.receivepack', 'true'],
    ['uploadpack.allowAnySHA1InWant', 'false'],
  ];
}

export async function ensureRepo(opts: {
  dataDir: string;
  app: string;
  hooksDir: string;
  maxPushBytes: number;
}): Promise<string> {
  const repoPath = repoPathFor(opts.dataDir, opts.app);
  const reposDir = join(opts.dataDir, 'repos');
  await mkdir(reposDir, { recursive: true, mode: 0o700 });
  await chmod(reposDir, 0o700);
  const env = gitBaseEnv();
  // Re-running init on an existing repo is safe ("Reinitialized"), which keeps this idempotent.
  await runChecked('git', ['init', '--bare', '--quiet', '--initial-branch=main', '--', repoPath], { env });
  await chmod(repoPath, 0o700);
  for (const [key, value] of repoConfig(opts))
    await runChecked('git', ['config', '--file', join(repoPath, 'config'), key, value], { env });
  return repoPath;
}

export async function removeRepo(opts: { dataDir: string; app: string }): Promise<void> {
  await rm(repoPathFor(opts.dataDir, opts.app), { recursive: true, force: true });
}

/**
 * Writes the tree of `sha` into `dest`. The tar stream comes from git and is
 * extracted with node-tar, which refuses absolute paths and `..` entries and,
 * with preserveOwner off, never chowns (we usually run as root).
 */
export async function exportCommit(opts: {
  repoPath: string;
  sha: string;
  dest: string;
  gitEnv?: Record<string, string>;
  /** Upper bound on the exported tree (the tar stream git writes): a small push of very compressible data must not fill the disk. */
  maxBytes?: number;
}): Promise<void> {
  validateSha(opts.sha);
  await mkdir(opts.dest, { recursive: true });
  if ((await readdir(opts.dest)).length > 0)
    throw new GantryError('GANTRY_INTERNAL', `export destination is not empty: ${opts.dest}`);
  const env = { ...gitBaseEnv(), ...opts.gitEnv, GIT_DIR: opts.gitEnv?.GIT_DIR ?? opts.repoPath };
  const child = spawnProcess('git', ['archive', '--format=tar', '--end-of-options', opts.sha], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    if (stderr.length < 8192) stderr += d;
  });
  const exited = new Promise<number | null>((ok, fail) => {
    child.on('error', fail);
    child.on('close', (code) => ok(code));
  });
  // Awaited below; this only keeps a spawn error during the pipeline from counting as unhandled.
  exited.catch(() => undefined);
  try {
    const max = opts.maxBytes ?? Infinity;
    let seen = 0;
    const bound = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        seen += chunk.length;
        if (seen > max) {
          cb(
            new GantryError(
              'GANTRY_PUSH_TOO_LARGE',
              `the pushed tree unpacks to more than ${Math.round(max / 1048576)} MiB: keep large data out of the repository`,
            ),
          );
        } else cb(null, chunk);
      },
    });
    await pipeline(child.stdout!, bound, extract({ cwd: opts.dest, preserveOwner: false, strict: true }));
  } catch (e) {
    child.kill('SIGKILL');
    await exited.catch(() => null);
    if (e instanceof GantryError) throw e;
    // node-tar (strict) refuses entries such as absolute symlinks (`x -> /etc/passwd`): name the file.
    const entry = (e as { entry?: { path?: string; linkpath?: string } }).entry;
    if (entry?.path) {
      throw new GantryError(
        'GANTRY_UNSAFE_SOURCE',
        `${entry.path}${entry.linkpath ? ` is a link to ${entry.linkpath}, which` : ''} points outside the app: links must stay inside the repository`,
        { cause: e },
      );
    }
    throw new GantryError('GANTRY_INTERNAL', `cannot export commit ${opts.sha}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const code = await exited;
  if (code !== 0)
    throw new GantryError(
      'GANTRY_EXEC_FAILED',
      `git archive ${opts.sha} failed: ${stderr.trim().split('\n').pop()}`,
    );
}

/** The sha a ref points at in the repo, or ZERO_SHA when it does not exist yet. */
export async function readRef(repoPath: string, ref: string): Promise<string> {
  validateRef(ref);
  const r = await run('git', ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], {
    env: { ...gitBaseEnv(), GIT_DIR: repoPath },
    timeoutMs: 10_000,
  });
  return r.code === 0 ? r.stdout.trim() : ZERO_SHA;
}
