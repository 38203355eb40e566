/**
 * Git smart HTTP (the protocol of git-http-backend, done in-process):
 *   GET  /git/NAME.git/info/refs?service=git-receive-pack|git-upload-pack
 *   POST /git/NAME.git/git-receive-pack | git-upload-pack
 * Order of checks: path and app name (pure) → basic auth (rate-limited) → app exists →
 * permission → git. Nothing is spawned before all of them pass.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnProcess } from '../exec/index.js';
import { GantryError } from '../errors/index.js';
import type { GitServiceOptions } from './types.js';
import type { HookServer } from './hook-server.js';
import { gitBaseEnv } from './repo.js';
import { pktLine, sendError, sendText, serviceArgv, streamChild } from './respond.js';
import { rpc } from './rpc.js';
import {
  parseBasicAuth,
  parseGitPath,
  parseGitProtocol,
  parseService,
  type GitRequestPath,
  type GitService,
} from './validate.js';

export interface GitHttpDeps {
  opts: GitServiceOptions;
  hooks: HookServer;
  repoPathFor(app: string): string;
  ensureRepo(app: string): Promise<string>;
}

export function createGitHttpHandler(
  deps: GitHttpDeps,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const log = deps.opts.logger;
  return (req, res) => {
    let path: GitRequestPath | undefined;
    try {
      path = parseGitPath(req.url ?? '/');
    } catch (e) {
      sendError(res, e, log);
      return true;
    }
    if (!path) return false;
    serve(deps, req, res, path).catch((e: unknown) => sendError(res, e, log));
    return true;
  };
}

async function serve(deps: GitHttpDeps, req: IncomingMessage, res: ServerResponse, path: GitRequestPath) {
  const { opts } = deps;
  const isRefs = path.endpoint === 'info/refs';
  const method = isRefs ? 'GET' : 'POST';
  if (req.method !== method) return sendText(res, 405, `use ${method}`, { allow: method });
  const service: GitService = isRefs ? parseService(req.url ?? '') : (path.endpoint as GitService);

  const creds = parseBasicAuth(req.headers.authorization);
  let user: string | undefined;
  if (creds) {
    const check = (): Promise<string | undefined> => opts.authenticate(creds.username, creds.password);
    const attempt = opts.limiter
      ? await opts.limiter.guard({ username: creds.username, address: req.socket.remoteAddress ?? '' }, check)
      : { refused: false as const, result: await check() };
    if (attempt.refused)
      return sendText(res, 429, 'too many failed logins; try again later', {
        'retry-after': String(Math.ceil(attempt.retryAfterMs / 1000)),
      });
    user = attempt.result;
  }
  if (!user)
    return sendText(res, 401, 'authentication required: use your Gantry username and password or API token', {
      'www-authenticate': 'Basic realm="Gantry"',
    });
  if (!(await opts.appExists(path.app)))
    throw new GantryError(
      'GANTRY_APP_NOT_FOUND',
      `app ${path.app} does not exist: create it with \`gantry apps:create ${path.app}\``,
    );
  const need = service === 'git-receive-pack' ? 'write' : 'read';
  if (opts.authorize && !(await opts.authorize({ user, app: path.app, access: need })))
    throw new GantryError(
      'GANTRY_FORBIDDEN',
      `you may not ${need === 'write' ? 'push to' : 'fetch'} ${path.app}`,
    );

  const repoPath = await repoFor(deps, path.app);
  const protocol = service === 'git-upload-pack' ? parseGitProtocol(req.headers['git-protocol']) : undefined;
  const env: Record<string, string> = { ...gitBaseEnv(), ...(protocol ? { GIT_PROTOCOL: protocol } : {}) };
  if (isRefs) return advertise({ deps, res, service, repoPath, env, v2: /version=2/.test(protocol ?? '') });
  return rpc({ opts, hooks: deps.hooks, req, res, service, repoPath, env, user, app: path.app });
}

/** The repo of an existing app; created on first use (apps created before the git service existed). */
async function repoFor(deps: GitHttpDeps, app: string): Promise<string> {
  const repoPath = deps.repoPathFor(app);
  try {
    await access(join(repoPath, 'HEAD'));
    return repoPath;
  } catch {
    return deps.ensureRepo(app);
  }
}

function advertise(o: {
  deps: GitHttpDeps;
  res: ServerResponse;
  service: GitService;
  repoPath: string;
  env: Record<string, string>;
  v2: boolean;
}): void {
  const child = spawnProcess('git', serviceArgv(o.service, o.repoPath, true), {
    env: o.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  streamChild({
    child,
    res: o.res,
    contentType: `application/x-${o.service}-advertisement`,
    // Protocol v2 starts directly with its capability list, without the service header.
    prefix: o.v2 ? undefined : pktLine(`# service=${o.service}\n`) + '0000',
    log: o.deps.opts.logger,
  });
}
