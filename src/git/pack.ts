/**
 * Starting receive-pack / upload-pack, shared by smart HTTP (stateless-rpc)
 * and SSH (git's stateful protocol over one stream), and the access rule both
 * apply before anything runs.
 *
 * A push registers a hook session: receive-pack gets a one-time token in its
 * env, the pre-receive hook presents it to the hook server, which runs
 * `onPush` for that app and user while git waits.
 */
import type { ChildProcess } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { run, spawnProcess } from '../exec/index.js';
import { GantryError } from '../errors/index.js';
import type { Identity } from '../identity/types.js';
import type { Logger } from '../log/index.js';
import type { HookServer, PushSession } from './hook-server.js';
import { gitBaseEnv } from './repo.js';
import type { GitOp, GitServiceOptions } from './types.js';
import type { GitService } from './validate.js';

/** What the HTTP and SSH front ends share. */
export interface GitDeps {
  opts: GitServiceOptions;
  hooks: HookServer;
  repoPathFor(app: string): string;
  ensureRepo(app: string): Promise<string>;
}

/** The one answer for an unknown app and for an app the caller may not use: names don't leak. */
export function appNotFound(app: string): GantryError {
  return new GantryError(
    'GANTRY_APP_NOT_FOUND',
    `app not found: ${app} (\`gantry apps\` lists the apps you may deploy; \`gantry apps:create ${app}\` creates it)`,
  );
}

export function opOf(service: GitService): GitOp {
  return service === 'git-receive-pack' ? 'push' : 'fetch';
}

/**
 * Checks that `identity` may do `op` to `app` (which must exist) and returns
 * its repo, created on first use for apps made before the git service existed.
 * `app` must already be a valid app name.
 */
export async function openRepo(deps: GitDeps, identity: Identity, app: string, op: GitOp): Promise<string> {
  const { opts } = deps;
  if (!(await opts.appExists(app)) || !(await opts.authorize(identity, app, op))) throw appNotFound(app);
  const repoPath = deps.repoPathFor(app);
  try {
    await access(join(repoPath, 'HEAD'));
    return repoPath;
  } catch {
    return deps.ensureRepo(app);
  }
}

export function serviceArgv(
  service: GitService,
  repoPath: string,
  mode: { stateless: boolean; advertise?: boolean },
): string[] {
  const args = [service.slice(4)];
  if (mode.stateless) args.push('--stateless-rpc');
  if (mode.advertise) args.push('--advertise-refs');
  if (service === 'git-upload-pack') args.push('--strict');
  // repoPath is built from a validated app name and is absolute; `--` keeps it an operand anyway.
  args.push('--', repoPath);
  return args;
}

/** A running receive-pack or upload-pack. */
export interface GitRun {
  child: ChildProcess;
  /** Set for receive-pack: the hook's view of this push. */
  session: PushSession | undefined;
  /** Cancels the push (aborts onPush's signal) and stops git. SIGTERM: git removes its quarantine dir. */
  stop(): void;
  /**
   * Call once when the child closed: ends the hook session and points HEAD at
   * the deployed branch, so a clone checks it out.
   */
  finish(code: number | null): Promise<void>;
}

export function startGit(o: {
  hooks: HookServer;
  logger: Logger;
  service: GitService;
  stateless: boolean;
  app: string;
  identity: Identity;
  ip: string | null;
  repoPath: string;
  env: Record<string, string>;
}): GitRun {
  const controller = new AbortController();
  let exited!: () => void;
  const finished = new Promise<void>((resolve) => (exited = resolve));
  const user = o.identity.username;
  const session: PushSession | undefined =
    o.service === 'git-receive-pack'
      ? {
          app: o.app,
          user,
          identity: o.identity,
          ip: o.ip,
          repoPath: o.repoPath,
          signal: controller.signal,
          finished,
        }
      : undefined;
  const token = session ? o.hooks.register(session) : undefined;
  const env = token
    ? { ...o.env, GANTRY_PUSH_TOKEN: token, GIT_COMMITTER_NAME: user, GIT_COMMITTER_EMAIL: `${user}@gantry` }
    : o.env;
  const child = spawnProcess('git', serviceArgv(o.service, o.repoPath, { stateless: o.stateless }), {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let done = false;
  return {
    child,
    session,
    stop() {
      controller.abort();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
    async finish(code) {
      if (done) return;
      done = true;
      exited();
      if (token) o.hooks.unregister(token);
      if (code !== 0) controller.abort();
      const ref = session?.accepted?.ref;
      if (code === 0 && ref) await setHead(o.repoPath, ref, o.logger);
    },
  };
}

async function setHead(repoPath: string, ref: string, log: Logger): Promise<void> {
  const r = await run('git', ['symbolic-ref', 'HEAD', ref], { env: { ...gitBaseEnv(), GIT_DIR: repoPath } });
  if (r.code !== 0) log.warn({ repoPath, ref, stderr: r.stderr }, 'cannot update HEAD');
}
