/**
 * The server end of the pre-receive hook: a Unix socket (0600, in a 0700 dir)
 * where hooks started by our own receive-pack processes report the pushed
 * refs. A push is only accepted if the hook presents the random token we gave
 * to that receive-pack, so pushes that did not come through Gantry's HTTP or
 * SSH endpoint (say, a local `git push /path/to/repo`) are refused.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { mkdir, rm, chmod } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Identity } from '../identity/types.js';
import type { Logger } from '../log/index.js';
import { GantryError, isGantryError } from '../errors/index.js';
import type { PushContext, PushUpdate } from './types.js';
import { HOOK_ENV_KEYS, type HookReply, type HookRequest } from './hook-script.js';
import { DEPLOY_REFS, ZERO_SHA, isDeployRef, validateRef, validateSha } from './validate.js';

/** One receive-pack run started by the HTTP or SSH side. */
export interface PushSession {
  app: string;
  user: string;
  identity: Identity;
  ip: string | null;
  repoPath: string;
  signal: AbortSignal;
  /** Resolves when receive-pack exits. */
  finished: Promise<void>;
  /** Set once the hook accepted the update (for post-push bookkeeping: HEAD follows the deployed branch). */
  accepted?: PushUpdate;
}

const MAX_REQUEST_BYTES = 256 * 1024;

export class HookServer {
  #socketPath: string;
  #logger: Logger;
  #onPush: (ctx: PushContext) => Promise<void>;
  #sessions = new Map<string, PushSession>();
  #server: Server | undefined;
  #sockets = new Set<Socket>();

  constructor(opts: { socketPath: string; logger: Logger; onPush: (ctx: PushContext) => Promise<void> }) {
    this.#socketPath = opts.socketPath;
    this.#logger = opts.logger;
    this.#onPush = opts.onPush;
  }

  async start(): Promise<void> {
    if (Buffer.byteLength(this.#socketPath) > 100)
      throw new GantryError(
        'GANTRY_INVALID_CONFIG',
        `hook socket path is too long for a Unix socket: ${this.#socketPath} (use a shorter data dir)`,
      );
    await mkdir(dirname(this.#socketPath), { recursive: true, mode: 0o700 });
    await chmod(dirname(this.#socketPath), 0o700);
    // A socket file left by a crashed server would make listen() fail with EADDRINUSE.
    await rm(this.#socketPath, { force: true });
    const server = createServer((s) => this.#accept(s));
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(this.#socketPath, () => {
        server.off('error', fail);
        ok();
      });
    });
    server.on('error', (e) => this.#logger.error({ err: e }, 'git hook socket error'));
    await chmod(this.#socketPath, 0o600);
    this.#server = server;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((ok) => server.close(() => ok()));
    await rm(this.#socketPath, { force: true });
  }

  /** Registers a push about to run; returns the token to hand to receive-pack. */
  register(session: PushSession): string {
    const token = randomBytes(32).toString('hex');
    this.#sessions.set(token, session);
    return token;
  }

  unregister(token: string): void {
    this.#sessions.delete(token);
  }

  #accept(sock: Socket): void {
    this.#sockets.add(sock);
    sock.on('close', () => this.#sockets.delete(sock));
    sock.on('error', (e) => this.#logger.debug({ err: e }, 'git hook connection error'));
    sock.setEncoding('utf8');
    let buf = '';
    const onData = (d: string): void => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl === -1) {
        if (buf.length > MAX_REQUEST_BYTES) {
          sock.off('data', onData);
          sock.end(
            JSON.stringify({ ok: false, error: 'push refused: too many refs at once' } satisfies HookReply) +
              '\n',
          );
        }
        return;
      }
      sock.off('data', onData);
      this.#serve(sock, buf.slice(0, nl)).catch((e: unknown) => {
        this.#logger.error({ err: e }, 'git hook handling failed');
        sock.destroy();
      });
    };
    sock.on('data', onData);
  }

  async #serve(sock: Socket, line: string): Promise<void> {
    const reply = (m: HookReply): void => {
      if (!sock.destroyed) sock.write(JSON.stringify(m) + '\n');
    };
    const req = parseRequest(line);
    const session = req && this.#sessions.get(req.token);
    if (!req || !session) {
      reply({ ok: false, error: 'push refused: pushes must go through the Gantry server' });
      sock.end();
      return;
    }
    // One hook run per token: a replayed token cannot trigger a second deploy.
    this.#sessions.delete(req.token);
    const output = (text: string): void => reply({ out: text });
    try {
      if (session.signal.aborted)
        throw new GantryError('GANTRY_BAD_REQUEST', 'push cancelled: the client went away');
      const update = checkUpdates(req.stdin);
      const gitEnv = quarantineEnv(session.repoPath, req);
      await this.#onPush({
        app: session.app,
        user: session.user,
        identity: session.identity,
        ip: session.ip,
        repoPath: session.repoPath,
        update,
        gitEnv,
        output,
        signal: session.signal,
        finished: session.finished,
      });
      session.accepted = update;
      reply({ ok: true });
    } catch (e) {
      const message = isGantryError(e) ? e.message : 'internal error while deploying (see the server log)';
      if (!isGantryError(e)) this.#logger.error({ err: e, app: session.app }, 'push handler failed');
      reply({ ok: false, error: message.replace(/\n/g, '\n   ') });
    }
    sock.end();
  }
}

function parseRequest(line: string): HookRequest | undefined {
  try {
    const v = JSON.parse(line) as Partial<HookRequest>;
    if (typeof v.token !== 'string' || typeof v.stdin !== 'string' || typeof v.cwd !== 'string')
      return undefined;
    if (typeof v.env !== 'object' || v.env === null) return undefined;
    return v as HookRequest;
  } catch {
    return undefined;
  }
}

const HOW_TO_PUSH = 'push your deploy branch: git push gantry HEAD:main';

/** Parses "old new ref" lines and returns the one deploy-branch update, or throws the reason to refuse. */
export function checkUpdates(stdin: string): PushUpdate {
  const updates: PushUpdate[] = [];
  for (const line of stdin.split('\n')) {
    if (line === '') continue;
    const [oldSha = '', newSha = '', ref = '', ...rest] = line.split(' ');
    if (rest.length) throw new GantryError('GANTRY_INVALID_REF', 'malformed ref update');
    validateSha(oldSha);
    validateSha(newSha);
    validateRef(ref);
    updates.push({ ref, oldSha, newSha });
  }
  if (updates.length === 0) throw new GantryError('GANTRY_INVALID_REF', 'nothing to deploy');
  const others = updates.filter((u) => !isDeployRef(u.ref));
  if (others.length)
    throw new GantryError(
      'GANTRY_INVALID_REF',
      `only ${DEPLOY_REFS.map((r) => r.slice(11)).join(' or ')} can be pushed (got ${others
        .map((u) => u.ref)
        .join(', ')}): ${HOW_TO_PUSH}`,
    );
  if (updates.length > 1)
    throw new GantryError('GANTRY_INVALID_REF', `push one deploy branch at a time: ${HOW_TO_PUSH}`);
  const update = updates[0]!;
  if (update.newSha === ZERO_SHA)
    throw new GantryError('GANTRY_INVALID_REF', `deleting ${update.ref.slice(11)} is not allowed`);
  return update;
}

/**
 * The env a git command needs to see the quarantined objects of the push.
 * GIT_DIR is ours; the object paths come from git via the hook and must stay
 * inside the repository.
 */
function quarantineEnv(repoPath: string, req: HookRequest): Record<string, string> {
  const gitEnv: Record<string, string> = { GIT_DIR: repoPath };
  const base = resolve(repoPath, req.cwd);
  const inside = (p: string): string => {
    const abs = resolve(base, p);
    const rel = relative(repoPath, abs);
    if (rel.startsWith('..') || isAbsolute(rel))
      throw new GantryError('GANTRY_BAD_REQUEST', 'push refused: object directory outside the repository');
    return abs;
  };
  for (const key of HOOK_ENV_KEYS) {
    const v = req.env[key];
    if (key === 'GIT_DIR' || typeof v !== 'string' || v === '') continue;
    gitEnv[key] = key === 'GIT_ALTERNATE_OBJECT_DIRECTORIES' ? v.split(':').map(inside).join(':') : inside(v);
  }
  return gitEnv;
}
