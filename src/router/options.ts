/** How the router is set up (see `createRouter`). */
import type { RouterGate } from '../gate/index.js';
import type { Logger } from '../log/index.js';

export interface RouterOptions {
  logger: Logger;
  /** Trust X-Forwarded-* from the client (Gantry behind another proxy)? Default false. */
  trustProxy?: boolean;
  /** Give up connecting to a backend after this long (502/504). Default 5 s. */
  connectTimeoutMs?: number;
  /** Give up waiting for a backend's response headers after this long (504). Default 60 s, like nginx. */
  headersTimeoutMs?: number;
  /**
   * Decides every `/apps/NAME/…` request (HTTP and upgrade) before routing. Without one,
   * every app is open to everyone (the bare proxy, as benchmarked); identity headers
   * and Gantry credentials are still never taken from or passed on for the client.
   */
  gate?: RouterGate;
  /**
   * Starts a sleeping app. Called synchronously, from the handler of the first request
   * from a non-bot client that reaches a route with `sleeping: true` and no backends, at
   * most once per sleeping spell (each `setRoute` with a sleeping route starts a new
   * spell; `failWake` ends one). The control plane starts the app in the background and
   * then calls `setRoute` with its backends (held requests go to them) or
   * `failWake(app, message)`. A throw counts as a failed wake.
   */
  onWake?: (app: string) => void;
  /** How long a request waits for a sleeping app before 503 "still starting". Default 60 s. */
  wakeTimeoutMs?: number;
  /** Most requests held per sleeping app; more are answered 503 at once. Default 1000. */
  wakeQueueLimit?: number;
}
