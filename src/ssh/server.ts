/**
 * git over SSH: `git push ssh://git@HOST:2222/NAME.git main`. Public-key
 * authentication only; the key decides the Gantry user, whatever the SSH
 * username. Each session may run exactly one git receive-pack or upload-pack
 * (through the git service: same access rule, deploy hook and output as
 * HTTPS). No shell, pty, subsystem, forwarding or agent; env requests other
 * than GIT_PROTOCOL are refused.
 */
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import type { Connection, PublicKeyAuthContext, ServerChannel, Session } from 'ssh2';
import { GantryError, isGantryError } from '../errors/index.js';
import type { GitService } from '../git/index.js';
import { fingerprintOf } from '../identity/sshkey.js';
import type { Identity } from '../identity/types.js';
import type { Logger } from '../log/index.js';
import { ONLY_GIT, parseGitCommand, type GitCommand } from './command.js';
import { ensureHostKey, hostKeyFingerprint, verifyClientKey } from './keys.js';

export interface SshServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Private host key; generated in-process (ed25519, 0600) if missing. Usually DATA/keys/ssh_host_ed25519_key. */
  hostKeyPath: string;
  /**
   * The user owning the key with this fingerprint (`SHA256:…`) and the key's
   * stored OpenSSH public line; undefined for an unknown key.
   */
  lookupKey(
    fingerprint: string,
  ):
    | { username: string; publicKey: string }
    | undefined
    | Promise<{ username: string; publicKey: string } | undefined>;
  /** The identity (via `ssh`) of a user, after their key was verified; undefined if they no longer exist. */
  identityOf(username: string): Identity | undefined | Promise<Identity | undefined>;
  git: Pick<GitService, 'receivePack' | 'uploadPack'>;
  logger: Logger;
  /** Open connections at once (default 64); more are dropped before the handshake. */
  maxConnections?: number;
  /** Sessions open at once per connection (default 4). */
  maxSessionsPerConnection?: number;
  /** Failed authentication attempts per connection before it is closed (default 6, like OpenSSH). */
  maxAuthAttempts?: number;
  /** Time to authenticate after connecting (default 30 s). */
  authTimeoutMs?: number;
  /** A connection with no git command running is closed after this long (default 2 min). */
  idleTimeoutMs?: number;
}

export interface SshServer {
  port: number;
  /** Of the host key, to show users (`SHA256:…`). */
  hostKeyFingerprint: string;
  /** Stops listening and drops open connections (running git commands are stopped, pushes cancelled). */
  close(): Promise<void>;
}

const { Server } = ssh2;

export async function createSshServer(opts: SshServerOptions): Promise<SshServer> {
  const hostKey = await ensureHostKey(opts.hostKeyPath);
  const log = opts.logger;
  const clients = new Set<Connection>();
  const server = new Server(
    { hostKeys: [hostKey], ident: 'Gantry', keepaliveInterval: 30_000, keepaliveCountMax: 4 },
    (client, info) => {
      clients.add(client);
      client.on('close', () => clients.delete(client));
      serveConnection(opts, client, info.ip ?? null);
    },
  );
  server.maxConnections = opts.maxConnections ?? 64;
  server.on('error', (e: Error) => log.error({ err: e }, 'ssh server error'));
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port, opts.host, () => {
      server.off('error', fail);
      ok();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ host: opts.host, port }, 'ssh git server is listening');
  return {
    port,
    hostKeyFingerprint: hostKeyFingerprint(hostKey),
    async close() {
      const closed = new Promise<void>((ok) => server.close(() => ok()));
      for (const c of clients) c.end();
      await closed;
    },
  };
}

function serveConnection(opts: SshServerOptions, client: Connection, ip: string | null): void {
  const log = opts.logger;
  const maxAuth = opts.maxAuthAttempts ?? 6;
  const maxSessions = opts.maxSessionsPerConnection ?? 4;
  const idleMs = opts.idleTimeoutMs ?? 120_000;
  let identity: Identity | undefined;
  let failures = 0;
  let sessions = 0;
  let running = 0;
  const commands = new Set<AbortController>();

  let timer: NodeJS.Timeout | undefined = setTimeout(() => {
    log.debug({ ip }, 'ssh client did not authenticate in time');
    client.end();
  }, opts.authTimeoutMs ?? 30_000);
  let closed = false;
  const idle = (): void => {
    clearTimeout(timer);
    timer = running === 0 && !closed ? setTimeout(() => client.end(), idleMs) : undefined;
  };

  client.on('error', (e) => log.debug({ err: e, ip }, 'ssh connection error'));
  client.on('close', () => {
    closed = true;
    clearTimeout(timer);
    for (const c of commands) c.abort();
  });

  client.on('authentication', (ctx) => {
    // Requests already queued when the limit was reached get no look-up.
    if (failures >= maxAuth) return ctx.reject([]);
    const refuse = (): void => {
      failures++;
      ctx.reject(['publickey']);
      if (failures >= maxAuth) client.end();
    };
    if (ctx.method !== 'publickey') {
      // `none` is how clients ask which methods exist: not a failed guess.
      if (ctx.method === 'none') ctx.reject(['publickey']);
      else refuse();
      return;
    }
    checkKey(opts, ctx).then(
      (who) => {
        if (who === 'query') return ctx.accept();
        if (!who) return refuse();
        identity = who;
        log.info({ ip, user: who.username }, 'ssh login');
        ctx.accept();
      },
      (e: unknown) => {
        log.error({ err: e, ip }, 'ssh key check failed');
        refuse();
      },
    );
  });

  client.on('ready', idle);
  // Forwarding and other global requests or channel types: never.
  client.on('request', (_accept, reject) => reject?.());
  client.on('tcpip', (_accept, reject) => reject());
  client.on('openssh.streamlocal', (_accept, reject) => reject());

  client.on('session', (accept, reject) => {
    if (!identity || sessions >= maxSessions) return reject();
    sessions++;
    const session = accept();
    let open = true;
    session.on('close', () => {
      if (open) sessions--;
      open = false;
    });
    serveSession(opts, session, {
      username: identity.username,
      ip,
      started: (c) => {
        commands.add(c);
        running++;
        idle();
      },
      ended: (c) => {
        commands.delete(c);
        running--;
        idle();
      },
    });
  });
}

/** A verified identity, `query` for a signature-less probe of a known key, undefined to refuse. */
async function checkKey(
  opts: SshServerOptions,
  ctx: PublicKeyAuthContext,
): Promise<Identity | 'query' | undefined> {
  const stored = await opts.lookupKey(fingerprintOf(ctx.key.data));
  if (!stored) return undefined;
  if (!ctx.signature || !ctx.blob)
    return verifyClientKey({ storedLine: stored.publicKey, offered: ctx.key.data }) ? 'query' : undefined;
  const ok = verifyClientKey({
    storedLine: stored.publicKey,
    offered: ctx.key.data,
    signature: { data: ctx.blob, signature: ctx.signature, hashAlgo: ctx.hashAlgo },
  });
  return ok ? await opts.identityOf(stored.username) : undefined;
}

function serveSession(
  opts: SshServerOptions,
  session: Session,
  conn: {
    username: string;
    ip: string | null;
    started(c: AbortController): void;
    ended(c: AbortController): void;
  },
): void {
  const log = opts.logger;
  let protocol: string | undefined;
  session.on('env', (accept, reject, info) => {
    if (info.key === 'GIT_PROTOCOL' && info.val.length < 100) {
      protocol = info.val;
      accept?.();
    } else reject?.();
  });
  session.on('pty', (_accept, reject) => reject?.());
  session.on('x11', (_accept, reject) => reject?.());
  session.on('auth-agent', (_accept, reject) => reject?.());
  session.on('subsystem', (_accept, reject) => reject());
  session.on('sftp', (_accept, reject) => reject());
  session.on('signal', (_accept, reject) => reject?.());
  const refuse = (channel: Channel): void => {
    endChannel(channel, 1, `${ONLY_GIT}\n`).catch((e: unknown) =>
      log.error({ err: e }, 'cannot close ssh channel'),
    );
  };
  // A plain `ssh git@HOST`: say what this server is for, then hang up.
  session.on('shell', (accept) => refuse(track(accept(), log)));
  session.on('exec', (accept, _reject, info) => {
    const channel = track(accept(), log);
    const cmd = parseGitCommand(info.command);
    if (!cmd) {
      log.debug({ ip: conn.ip, user: conn.username }, 'ssh command refused');
      return refuse(channel);
    }
    const controller = new AbortController();
    conn.started(controller);
    void channel.closed.then(() => controller.abort());
    runGit(opts, channel, cmd, { ...conn, protocol, signal: controller.signal })
      .catch((e: unknown) => log.error({ err: e }, 'cannot close ssh channel'))
      .finally(() => conn.ended(controller));
  });
}

async function runGit(
  opts: SshServerOptions,
  channel: Channel,
  cmd: GitCommand,
  o: { username: string; ip: string | null; protocol: string | undefined; signal: AbortSignal },
): Promise<void> {
  let code: number;
  try {
    // Resolved again for each command: a long-lived connection sees role and group changes.
    const identity = await opts.identityOf(o.username);
    if (!identity) throw new GantryError('GANTRY_UNAUTHORIZED', 'your Gantry user no longer exists');
    const req = {
      app: cmd.app,
      identity,
      ip: o.ip,
      stdin: channel.stream,
      stdout: channel.stream,
      stderr: channel.stream.stderr,
      signal: o.signal,
      protocol: o.protocol,
    };
    code = await (cmd.service === 'git-receive-pack' ? opts.git.receivePack(req) : opts.git.uploadPack(req));
  } catch (e) {
    if (!isGantryError(e)) opts.logger.error({ err: e, app: cmd.app }, 'git over ssh failed');
    const message = isGantryError(e) ? e.message : 'internal error (see the server log)';
    return endChannel(channel, 1, `gantry: ${message}\n`);
  }
  return endChannel(channel, code);
}

/** A session's channel and when it closed (by either side, or with the connection). */
interface Channel {
  stream: ServerChannel;
  closed: Promise<void>;
  isClosed(): boolean;
}

function track(stream: ServerChannel, log: Logger): Channel {
  let isClosed = false;
  const closed = new Promise<void>((ok) =>
    stream.once('close', () => {
      isClosed = true;
      ok();
    }),
  );
  stream.on('error', (e: Error) => log.debug({ err: e }, 'ssh channel error'));
  return { stream, closed, isClosed: () => isClosed };
}

/**
 * Writes the last words to stderr and waits until they have gone out (stderr
 * is a stream of its own: ending the channel does not wait for it), then sends
 * the exit status and closes the channel.
 */
async function endChannel(channel: Channel, code: number, stderr?: string): Promise<void> {
  if (channel.isClosed()) return;
  const { stream } = channel;
  const err = stream.stderr;
  await Promise.race([
    channel.closed,
    new Promise<void>((ok) => {
      if (err.writableFinished || err.destroyed) return ok();
      err.once('finish', ok);
      err.once('error', () => ok());
      err.end(stderr);
    }),
  ]);
  if (channel.isClosed()) return;
  stream.exit(code);
  stream.end();
}
