/**
 * git push and clone/fetch: over HTTP (`git push http://HOST/git/NAME.git
 * main` with basic auth, served by `handle`) and over any bidirectional stream
 * (`receivePack` / `uploadPack`, used by the SSH server). The push is held in
 * git's pre-receive hook while `onPush` deploys; build output streams back as
 * `remote:` lines, and a failed deploy rejects the push so the ref is never
 * updated.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitService, GitServiceOptions } from './types.js';
import { HookServer } from './hook-server.js';
import { hookScript } from './hook-script.js';
import { createGitHttpHandler } from './http.js';
import type { GitDeps } from './pack.js';
import { runGitStream } from './stream.js';
import { ensureRepo, exportCommit, removeRepo, repoPathFor } from './repo.js';

export type {
  GitOp,
  GitService,
  GitServiceOptions,
  GitStreamRequest,
  PushContext,
  PushUpdate,
} from './types.js';
export {
  DEPLOY_REFS,
  ZERO_SHA,
  isDeployRef,
  parseBasicAuth,
  parseGitPath,
  validateRef,
  validateSha,
} from './validate.js';
export { checkUpdates } from './hook-server.js';
export { exportCommit, readRef } from './repo.js';

/** Where the pieces live under the data dir. */
export function gitPaths(dataDir: string): { reposDir: string; hooksDir: string; socketPath: string } {
  return {
    reposDir: join(dataDir, 'repos'),
    hooksDir: join(dataDir, 'git-hooks'),
    socketPath: join(dataDir, 'run', 'git-hook.sock'),
  };
}

export function createGitService(opts: GitServiceOptions): GitService {
  const paths = gitPaths(opts.dataDir);
  const hooks = new HookServer({ socketPath: paths.socketPath, logger: opts.logger, onPush: opts.onPush });
  const ensure = (app: string): Promise<string> =>
    ensureRepo({ dataDir: opts.dataDir, app, hooksDir: paths.hooksDir, maxPushBytes: opts.maxPushBytes });
  const deps: GitDeps = {
    opts,
    hooks,
    repoPathFor: (app) => repoPathFor(opts.dataDir, app),
    ensureRepo: ensure,
  };
  return {
    handle: createGitHttpHandler(deps),
    receivePack: (req) => runGitStream(deps, 'git-receive-pack', req),
    uploadPack: (req) => runGitStream(deps, 'git-upload-pack', req),
    ensureRepo: ensure,
    removeRepo: (app) => removeRepo({ dataDir: opts.dataDir, app }),
    exportCommit,
    async start() {
      await mkdir(paths.hooksDir, { recursive: true, mode: 0o700 });
      const hook = join(paths.hooksDir, 'pre-receive');
      // Rewritten at every start: the socket path or the Node binary may have moved.
      await writeFile(hook, hookScript({ socketPath: paths.socketPath, nodePath: process.execPath }), {
        mode: 0o700,
      });
      await chmod(hook, 0o700);
      await hooks.start();
    },
    close: () => hooks.close(),
  };
}
