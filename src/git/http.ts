/**
 * Git smart HTTP (the protocol of git-http-backend, done in-process):
 *   GET  /git/NAME.git/info/refs?service=git-receive-pack|git-upload-pack
 *   POST /git/NAME.git/git-receive-pack | git-upload-pack
 * Order of checks: path and app name (pure) → basic auth (rate-limited) → app exists and
 * permission (one answer for both) → git. Nothing is spawned before all of them pass.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { spawnProcess } from '../exec/index.js';
import type { Identity } from '../identity/types.js';
import { gitBaseEnv } from './repo.js';
import { openRepo, opOf, serviceArgv, type GitDeps } from './pack.js';
import { pktLine, sendError, sendText, streamChild } from './respond.js';
import { rpc } from './rpc.js';
import {
  parseBasicAuth,
  parseGitPath,
  parseGitProtocol,
  parseService,
  type GitRequestPath,
  type GitService,
} from './validate.js';

export function createGitHttpHandler(deps: GitDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
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

async function serve(deps: GitDeps, req: IncomingMessage, res: ServerResponse, path: GitRequestPath) {
  const { opts } = deps;
  const isRefs = path.endpoint === 'info/refs';
  const method = isRefs ? 'GET' : 'POST';
  if (req.method !== method) return sendText(res, 405, `use ${method}`, { allow: method });
  const service: GitService = isRefs ? parseService(req.url ?? '') : (path.endpoint as GitService);

  const creds = parseBasicAuth(req.headers.authorization);
  const ip = req.socket.remoteAddress ?? null;
  let identity: Identity | undefined;
  if (creds) {
    const check = (): Promise<Identity | undefined> => opts.authenticate(creds.username, creds.password, ip);
    const attempt = opts.limiter
      ? await opts.limiter.guard({ username: creds.username, address: ip ?? '' }, check)
      : { refused: false as const, result: await check() };
    if (attempt.refused)
      return sendText(res, 429, 'too many failed logins; try again later', {
        'retry-after': String(Math.ceil(attempt.retryAfterMs / 1000)),
      });
    identity = attempt.result;
  }
  if (!identity)
    return sendText(res, 401, 'authentication required: use your Gantry username and password or API token', {
      'www-authenticate': 'Basic realm="Gantry"',
    });
  const repoPath = await openRepo(deps, identity, path.app, opOf(service));
  const protocol = service === 'git-upload-pack' ? parseGitProtocol(req.headers['git-protocol']) : undefined;
  const env: Record<string, string> = { ...gitBaseEnv(), ...(protocol ? { GIT_PROTOCOL: protocol } : {}) };
  if (isRefs) return advertise({ deps, res, service, repoPath, env, v2: /version=2/.test(protocol ?? '') });
  return rpc({ opts, hooks: deps.hooks, req, res, service, repoPath, env, identity, ip, app: path.app });
}

function advertise(o: {
  deps: GitDeps;
  res: ServerResponse;
  service: GitService;
  repoPath: string;
  env: Record<string, string>;
  v2: boolean;
}): void {
  const child = spawnProcess(
    'git',
    serviceArgv(o.service, o.repoPath, { stateless: true, advertise: true }),
    {
      env: o.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  streamChild({
    child,
    res: o.res,
    contentType: `application/x-${o.service}-advertisement`,
    // Protocol v2 starts directly with its capability list, without the service header.
    prefix: o.v2 ? undefined : pktLine(`# service=${o.service}\n`) + '0000',
    log: o.deps.opts.logger,
  });
}
