/**
 * The activator: requests for a sleeping app wait here, in a bounded FIFO queue per app,
 * while the control plane starts it. They leave when the app has backends (the router
 * sends them on), when the wake fails or takes too long (503), or when their client goes.
 * However many arrive, `onWake` is called once per sleeping spell.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log/index.js';
import { Pages, sendPage, type PageContent } from './pages.js';
import { WAKE_FAILED_HEADER } from './starting.js';
import type { RouteState } from './state.js';
import { finishRequest, type TrafficCounter } from './traffic.js';

/** A request waiting for its app. */
export interface Held {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Upstream headers, identity included, computed when the request arrived. */
  readonly headers: string[];
  /** From `startRequest` at arrival: the wait counts in the request's latency. */
  readonly start: number;
  readonly traffic: TrafficCounter;
  timer: NodeJS.Timeout | undefined;
  onClose: (() => void) | undefined;
}

export interface ActivatorOptions {
  logger: Logger;
  onWake: ((app: string) => void) | undefined;
  wakeTimeoutMs: number;
  wakeQueueLimit: number;
}

const RETRY_SOON = { 'retry-after': '5' };
const FAILED = { [WAKE_FAILED_HEADER]: 'failed' };

export class Activator {
  readonly #queues = new Map<string, Set<Held>>();
  readonly #opts: ActivatorOptions;

  constructor(opts: ActivatorOptions) {
    this.#opts = opts;
  }

  /**
   * Asks the control plane to start the route's app, unless this spell already did. A
   * throwing `onWake` fails the wake at once (held requests get 503) and ends the spell.
   */
  wake(rs: RouteState): void {
    if (rs.wakeCalled) return;
    rs.wakeCalled = true;
    const app = rs.route.app;
    const onWake = this.#opts.onWake;
    if (onWake === undefined) {
      this.#opts.logger.warn({ app }, 'request for a sleeping app, but the router has no onWake');
      return;
    }
    this.#opts.logger.info({ app }, 'waking sleeping app');
    try {
      onWake(app);
    } catch (err) {
      this.#opts.logger.error({ app, err }, 'onWake failed');
      rs.wakeCalled = false;
      this.failWake(app, 'the platform could not start it.');
    }
  }

  /**
   * Holds a request (already counted as started) until {@link take}, {@link answerAll}, its
   * client leaving or the wake timeout. A full queue answers 503 at once.
   */
  hold(
    app: string,
    req: IncomingMessage,
    res: ServerResponse,
    headers: string[],
    start: number,
    traffic: TrafficCounter,
  ): void {
    let q = this.#queues.get(app);
    if ((q?.size ?? 0) >= this.#opts.wakeQueueLimit) {
      sendPage(req, res, Pages.wakeQueueFull(app), RETRY_SOON);
      finishRequest(traffic, req, true, start);
      return;
    }
    if (q === undefined) {
      q = new Set();
      this.#queues.set(app, q);
    }
    const h: Held = { req, res, headers, start, traffic, timer: undefined, onClose: undefined };
    const queue = q;
    h.timer = setTimeout(() => {
      this.#detach(app, queue, h);
      this.#answer(h, Pages.stillStarting(app), RETRY_SOON);
    }, this.#opts.wakeTimeoutMs);
    h.onClose = () => {
      // The client left while waiting: it is no longer anyone's to answer.
      this.#detach(app, queue, h);
      finishRequest(traffic, req, false, start);
    };
    res.once('close', h.onClose);
    q.add(h);
  }

  /** Every request held for `app`, oldest first, no longer held (the router sends them on). */
  take(app: string): Held[] {
    const q = this.#queues.get(app);
    if (q === undefined) return [];
    this.#queues.delete(app);
    const out = [...q];
    for (const h of out) this.#unlisten(h);
    return out;
  }

  /** The wake failed: every request held for `app` gets 503 with `reason`, marked for the starting page's script. */
  failWake(app: string, reason: string): void {
    this.answerAll(app, Pages.wakeFailed(app, reason), FAILED);
  }

  /** Answers every request held for `app` with `page` now. */
  answerAll(app: string, page: PageContent, headers: Record<string, string> = RETRY_SOON): void {
    for (const h of this.take(app)) this.#answer(h, page, headers);
  }

  /** Requests held for `app` (tests, metrics). */
  held(app: string): number {
    return this.#queues.get(app)?.size ?? 0;
  }

  /** Router shutdown: every held request gets 503 with Retry-After. */
  close(): void {
    for (const app of [...this.#queues.keys()]) this.answerAll(app, Pages.stillStarting(app));
  }

  #answer(h: Held, page: PageContent, headers: Record<string, string>): void {
    sendPage(h.req, h.res, page, headers);
    finishRequest(h.traffic, h.req, page.status >= 500, h.start);
  }

  #detach(app: string, q: Set<Held>, h: Held): void {
    this.#unlisten(h);
    q.delete(h);
    if (q.size === 0 && this.#queues.get(app) === q) this.#queues.delete(app);
  }

  #unlisten(h: Held): void {
    clearTimeout(h.timer);
    h.timer = undefined;
    if (h.onClose !== undefined) h.res.removeListener('close', h.onClose);
    h.onClose = undefined;
  }
}
