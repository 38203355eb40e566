import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log/index.js';
import type { LoginLimiter } from '../auth/rate-limit.js';

/** One ref update as git reports it to the pre-receive hook (already validated). */
export interface PushUpdate {
  ref: string;
  oldSha: string;
  newSha: string;
}

/** What `onPush` gets for a push of the deploy branch. */
export interface PushContext {
  app: string;
  user: string;
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
  /** Basic-auth check: username + password (or API token as password). Returns the username, or undefined. */
  authenticate(username: string, password: string): Promise<string | undefined>;
  /**
   * Password-guessing limiter around `authenticate`, per username and client
   * address; share the API login's so both doors count together. Over the
   * limit → 429 with Retry-After, and `authenticate` is not called.
   */
  limiter?: LoginLimiter;
  appExists(name: string): Promise<boolean>;
  /**
   * Optional per-app permission check, called after `authenticate` and
   * `appExists`. `write` is a push, `read` a clone/fetch. Missing → every
   * authenticated user may push and fetch every app.
   */
  authorize?(opts: { user: string; app: string; access: 'read' | 'write' }): Promise<boolean>;
  /**
   * Called inside the pre-receive hook, at most once per push, while the
   * pusher waits. Resolve → the ref update is accepted; throw (GantryError) →
   * the push is rejected with `err.message` and the ref is not updated. Other
   * errors are logged and shown as an internal error.
   */
  onPush(ctx: PushContext): Promise<void>;
}

export interface GitService {
  /** Handles /git/... requests; returns false (and does nothing) for other paths. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
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
