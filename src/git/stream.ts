/**
 * git's stateful protocol over one bidirectional stream, as sshd runs
 * `git-receive-pack REPO`: the client's bytes go to git's stdin, git's stdout
 * and stderr straight back. Used by the SSH server; the deploy hook, the
 * rejection rules and `remote:` output are the same as over HTTP because
 * receive-pack and its hook are the same.
 *
 * receive.maxInputSize (= maxPushBytes) bounds the pack; our own byte count
 * (plus room for the command list) is the backstop for a client that sends an
 * endless command list.
 */
import { validateAppName } from '../apps/index.js';
import { GantryError } from '../errors/index.js';
import { openRepo, opOf, startGit, type GitDeps } from './pack.js';
import { gitBaseEnv } from './repo.js';
import { formatBytes, SLACK_BYTES } from './rpc.js';
import type { GitStreamRequest } from './types.js';
import { parseGitProtocol, type GitService } from './validate.js';

export async function runGitStream(deps: GitDeps, service: GitService, r: GitStreamRequest): Promise<number> {
  const { opts } = deps;
  const log = opts.logger;
  validateAppName(r.app);
  const repoPath = await openRepo(deps, r.identity, r.app, opOf(service));
  if (r.signal.aborted) throw new GantryError('GANTRY_BAD_REQUEST', 'cancelled: the client went away');
  const protocol = service === 'git-upload-pack' ? parseGitProtocol(r.protocol) : undefined;
  const git = startGit({
    hooks: deps.hooks,
    logger: log,
    service,
    stateless: false,
    app: r.app,
    identity: r.identity,
    ip: r.ip,
    repoPath,
    env: { ...gitBaseEnv(), ...(protocol ? { GIT_PROTOCOL: protocol } : {}) },
  });
  const { child } = git;
  const stdin = child.stdin!;
  const limit = opts.maxPushBytes + SLACK_BYTES;

  return new Promise<number>((resolve, reject) => {
    let bytes = 0;
    let over = false;
    const onAbort = (): void => git.stop();
    r.signal.addEventListener('abort', onAbort, { once: true });

    const onData = (c: Buffer): void => {
      bytes += c.length;
      if (bytes > limit) {
        if (!over) {
          over = true;
          r.stderr.write(
            `gantry: push rejected: it is larger than the limit of ${formatBytes(opts.maxPushBytes)}\n`,
          );
          git.stop();
        }
        return;
      }
      if (stdin.destroyed || stdin.writableEnded) return;
      if (!stdin.write(c)) {
        r.stdin.pause();
        stdin.once('drain', () => r.stdin.resume());
      }
    };
    const onEnd = (): void => {
      if (!stdin.destroyed) stdin.end();
    };
    r.stdin.on('data', onData);
    r.stdin.on('end', onEnd);
    // git may stop reading early (index-pack refusing an oversized pack): drop the rest.
    stdin.on('error', (e) => {
      log.debug({ err: e }, 'git stopped reading its input');
      r.stdin.resume();
    });
    stdin.on('close', () => r.stdin.resume());

    child.stdout!.pipe(r.stdout, { end: false });
    child.stderr!.pipe(r.stderr, { end: false });

    const cleanup = (): void => {
      r.signal.removeEventListener('abort', onAbort);
      r.stdin.off('data', onData);
      r.stdin.off('end', onEnd);
      child.stdout!.unpipe(r.stdout);
      child.stderr!.unpipe(r.stderr);
    };
    child.on('error', (e) => {
      cleanup();
      git
        .finish(null)
        .then(() =>
          reject(new GantryError('GANTRY_EXEC_FAILED', `cannot start git: ${e.message}`, { cause: e })),
        )
        .catch(reject);
    });
    child.on('close', (code, signal) => {
      cleanup();
      if (code !== 0) log.debug({ app: r.app, service, code, signal }, 'git (stream) exited with an error');
      git
        .finish(code)
        .then(() => resolve(code ?? 1))
        .catch(reject);
    });
  });
}
