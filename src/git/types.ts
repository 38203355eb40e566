import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../log/index.js';
import type { LoginLimiter } from '../auth/rate-limit.js';
import type { Identity } from '../identity/types.js';

/** One ref update as git reports it to the pre-receive hook (already validated). */
export interface PushUpdate {
  ref: string;
  oldSha: string;
  newSha: string;
}

/** A push (`receive-pack`) or a clone/fetch (`upload-pack`). */
export type GitOp = 'push' | 'fetch';

/** What `onPush` gets for a push of the deploy branch. */
export interface PushContext {
  app: string;
  /** The pusher's username (= identity.username). */
  user: string;
  /** Who pushed, as authenticated (via `password`, `token` or `ssh`). */
  identity: Identity;
  /** The pusher's address, for the audit log; null when unknown. */
  ip: string | null;
  /** The bare repository. */
  repoPath: string;
  /** The validated update of the deploy branch (refs/heads/main or refs/heads/master). */
  update: PushUpdate;
  /**
   * Env needed to read the pushed (quarantined) objects: GIT_DIR,
   * GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES, GIT_QUARANTINE_PATH.
   * Pass it to git commands (e.g. `exportCommit({ gitEnv })`).
   */
  gitEnv: Record<string, string>;
  /** Streams to the pusher as `remote:` lines (text may contain several lines). */
  output: (text: string) => void;
  /** Aborted if the client disconnects or receive-pack dies. */
  signal: AbortSignal;
  /** Resolves when receive-pack has exited, i.e. after git updated (or refused to update) the ref. */
  finished: Promise<void>;
}

export interface GitServiceOptions {
  /** Repos live in dataDir/repos/NAME.git (0700); the hook in dataDir/git-hooks; its socket in dataDir/run. */
  dataDir: string;
  /** Upper bound for one push (request body, and receive.maxInputSize of the repo). */
  maxPushBytes: number;
  logger: Logger;
  /**
   * HTTP basic-auth check: username + password, or an API token as the
   * password. Returns who it is (via `password` or `token`), or undefined.
   * `ip` is the client's address (for the audit log of failed logins).
   */
  authenticate(username: string, password: string, ip: string | null): Promise<Identity | undefined>;
  /**
   * Password-guessing limiter around `authenticate`, per username and client
   * address; share the API login's so both doors count together. Over the
   * limit → 429 with Retry-After, and `authenticate` is not called.
   */
  limiter?: LoginLimiter;
  /** Does the app exist? Checked together with `authorize`, before anything is spawned or created. */
  appExists(name: string): Promise<boolean>;
  /**
   * May `identity` push to (`push`) or clone/fetch (`fetch`) the app? Called
   * for every git request over HTTP and SSH, after authentication and before
   * anything runs. A refusal gives the same answer as an unknown app
   * (`app not found`), so app names don't leak. Must return false for an
   * unknown app.
   */
  authorize(identity: Identity, app: string, op: GitOp): boolean | Promise<boolean>;
  /**
   * Called inside the pre-receive hook, at most once per push, while the
   * pusher waits. Resolve → the ref update is accepted; throw (GantryError) →
   * the push is rejected with `err.message` and the ref is not updated. Other
   * errors are logged and shown as an internal error.
   */
  onPush(ctx: PushContext): Promise<void>;
}

/**
 * A git command over a bidirectional byte stream (an SSH channel): git's
 * stateful protocol, exactly as `git-receive-pack REPO` / `git-upload-pack
 * REPO` run by sshd.
 */
export interface GitStreamRequest {
  /** App name as the client gave it (validated here). */
  app: string;
  identity: Identity;
  ip: string | null;
  /** Client → git. Its end closes git's stdin. */
  stdin: Readable;
  /** git → client (not ended by the service). */
  stdout: Writable;
  /** git's and the hook's diagnostics → client (not ended by the service). */
  stderr: Writable;
  /** Abort when the client went away: the push's deploy is cancelled and git stopped. */
  signal: AbortSignal;
  /** The client's GIT_PROTOCOL (e.g. `version=2`); ignored unless well-formed. */
  protocol?: string;
}

export interface GitService {
  /** Handles /git/... requests; returns false (and does nothing) for other paths. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /**
   * Runs receive-pack for a push with Gantry's deploy hook (same checks,
   * output and rejection rules as an HTTP push). Rejects with a GantryError
   * before anything runs when the app name is invalid, unknown or not allowed
   * (`GANTRY_APP_NOT_FOUND`); otherwise resolves with git's exit code.
   */
  receivePack(req: GitStreamRequest): Promise<number>;
  /** The same for clone/fetch (upload-pack). */
  uploadPack(req: GitStreamRequest): Promise<number>;
  /** Creates the bare repo for a new app, or refreshes its config (idempotent). Returns its path. */
  ensureRepo(app: string): Promise<string>;
  removeRepo(app: string): Promise<void>;
  /** Exports `sha` from the repo into `dest` (created if missing, must be empty) with `git archive`: no .git. */
  exportCommit(opts: {
    repoPath: string;
    sha: string;
    dest: string;
    gitEnv?: Record<string, string>;
    /** Upper bound on the exported tree's size. */
    maxBytes?: number;
  }): Promise<void>;
  /** Writes the hook and starts the hook socket. Call before serving requests. */
  start(): Promise<void>;
  close(): Promise<void>;
}
