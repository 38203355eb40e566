/**
 * The data plane's core: route table, per-backend and per-app counters, dispatch to the
 * HTTP, WebSocket and static handlers, the activator for sleeping apps, and drain for
 * zero-downtime redeploys.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { GantryError } from '../errors/index.js';
import type { RouterGate } from '../gate/index.js';
import { SECURE_SESSION_COOKIE, SESSION_COOKIE } from '../identity/cookies.js';
import type { Logger } from '../log/index.js';
import { Activator } from './activator.js';
import { affinitySetCookie, pinnedBackend } from './affinity.js';
import { BackendTable } from './backends.js';
import { pickLeastOutstanding } from './balancer.js';
import { isBot } from './bots.js';
import { buildUpstreamHeaders } from './headers.js';
import { proxyHttp, type ProxyDeps } from './http-proxy.js';
import type { RouterOptions } from './options.js';
import { Pages, sendPage, sendRawError } from './pages.js';
import { APP_NAME_RE, matchTarget } from './path.js';
import { refuse, refuseUpgrade } from './refuse.js';
import { isNavigation, sendStartingPage } from './starting.js';
import type { RouteState } from './state.js';
import { serveStatic } from './static.js';
import { finishRequest, snapshotTraffic, startRequest, touch, TrafficCounter } from './traffic.js';
import type { AppRoute, AppTraffic, Backend } from './types.js';
import { proxyUpgrade } from './ws-proxy.js';

export { loginLocation } from './refuse.js';
export type { RouterOptions } from './options.js';

const RETRY_AFTER = { 'retry-after': '5' };
/** Crawlers come back much later: the app sleeps until a person opens it. */
const BOT_RETRY_AFTER = { 'retry-after': '600' };

export class GantryRouter {
  readonly #routes = new Map<string, RouteState>();
  readonly #backends: BackendTable;
  /** Per app, kept across route swaps and removals. */
  readonly #traffic = new Map<string, TrafficCounter>();
  readonly #logger: Logger;
  readonly #trustProxy: boolean;
  readonly #deps: ProxyDeps;
  readonly #gate: RouterGate | undefined;
  readonly #activator: Activator;
  /** The gate's cookie name when it is not one of the standard two (those are always removed). */
  readonly #extraCookie: string | undefined;

  constructor(opts: RouterOptions) {
    this.#logger = opts.logger;
    this.#trustProxy = opts.trustProxy ?? false;
    this.#gate = opts.gate;
    const cookie = opts.gate?.cookieName;
    this.#extraCookie = cookie === SESSION_COOKIE || cookie === SECURE_SESSION_COOKIE ? undefined : cookie;
    const backends = (this.#backends = new BackendTable(opts.logger));
    this.#deps = {
      logger: opts.logger,
      connectTimeoutMs: opts.connectTimeoutMs ?? 5_000,
      headersTimeoutMs: opts.headersTimeoutMs ?? 60_000,
      release: (b) => backends.release(b),
    };
    this.#activator = new Activator({
      logger: opts.logger,
      onWake: opts.onWake,
      wakeTimeoutMs: opts.wakeTimeoutMs ?? 60_000,
      wakeQueueLimit: opts.wakeQueueLimit ?? 1_000,
    });
  }

  setRoute(app: string, route: AppRoute | undefined): void {
    if (!APP_NAME_RE.test(app)) throw new GantryError('GANTRY_INVALID_APP_NAME', `invalid app name: ${app}`);
    const old = this.#routes.get(app);
    let rs: RouteState | undefined;
    if (route === undefined) {
      this.#routes.delete(app);
    } else {
      const backends = route.backends.map((b) => this.#backends.ref(b));
      let traffic = this.#traffic.get(app);
      if (traffic === undefined) {
        traffic = new TrafficCounter();
        this.#traffic.set(app, traffic);
      }
      rs = {
        route,
        prefix: `/apps/${app}`,
        backends,
        cursor: { next: 0 },
        rootReal: undefined,
        traffic,
        wakeCalled: false,
      };
      this.#routes.set(app, rs);
    }
    if (old) for (const s of old.backends) this.#backends.unref(s);
    if (this.#activator.held(app) > 0) this.#settleHeld(app, rs);
  }

  getRoute(app: string): AppRoute | undefined {
    return this.#routes.get(app)?.route;
  }

  failWake(app: string, message: string): void {
    const rs = this.#routes.get(app);
    if (rs !== undefined) rs.wakeCalled = false;
    this.#activator.failWake(app, message);
  }

  traffic(app: string): AppTraffic | undefined {
    const t = this.#traffic.get(app);
    return t === undefined ? undefined : snapshotTraffic(t);
  }

  *allTraffic(): IterableIterator<[string, AppTraffic]> {
    for (const [app, t] of this.#traffic) yield [app, snapshotTraffic(t)];
  }

  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '';
    const t = matchTarget(url);
    if (t === undefined) return false;
    if (t.kind === 'app') {
      let identity: readonly string[] | undefined;
      if (this.#gate !== undefined) {
        const v = this.#gate.check(t.app, req);
        if (v.kind !== 'allow') {
          refuse(req, res, v.kind, t.app);
          return true;
        }
        identity = v.headers;
      }
      const rs = this.#routes.get(t.app);
      if (rs === undefined) {
        sendPage(req, res, Pages.appNotFound(t.app));
      } else if (rs.route.staticRoot !== undefined) {
        this.#serveStatic(req, res, rs, t.pathEnd);
      } else {
        this.#forward(req, res, rs, undefined, identity, startRequest(rs.traffic, req));
      }
    } else if (t.kind === 'redirect') {
      // 308 keeps the method and body for non-GET requests; 301 is the classic for GET/HEAD.
      const status = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308;
      res.writeHead(status, { location: t.location, 'content-length': 0, 'cache-control': 'no-cache' });
      res.end();
    } else if (t.kind === 'bad') {
      sendPage(req, res, Pages.badRequest(t.reason));
    } else {
      sendPage(req, res, Pages.appNotFound());
    }
    return true;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const t = matchTarget(req.url ?? '');
    if (t === undefined) return false;
    if (t.kind === 'bad') {
      sendRawError(socket, 400, t.reason);
      return true;
    }
    let identity: readonly string[] | undefined;
    if (t.kind === 'app' && this.#gate !== undefined) {
      const v = this.#gate.check(t.app, req);
      if (v.kind !== 'allow') {
        refuseUpgrade(socket, v.kind);
        return true;
      }
      identity = v.headers;
    }
    const rs = t.kind === 'app' ? this.#routes.get(t.app) : undefined;
    if (rs === undefined || rs.route.staticRoot !== undefined) {
      sendRawError(socket, 404, 'app not found');
      return true;
    }
    if (!/(^|,)\s*websocket\s*(,|$)/i.test(req.headers.upgrade ?? '')) {
      sendRawError(socket, 400, 'only WebSocket upgrades are proxied');
      return true;
    }
    const bot = isBot(req.headers['user-agent']);
    const b =
      (rs.route.affinity === true ? pinnedBackend(rs.backends, req) : undefined) ??
      pickLeastOutstanding(rs.backends, rs.cursor);
    if (b === undefined) {
      if (rs.route.sleeping === true) {
        if (!bot) {
          touch(rs.traffic, req);
          this.#activator.wake(rs);
        }
        sendRawError(socket, 503, `app "${rs.route.app}" is starting`, 'Retry-After: 2\r\n');
      } else {
        sendRawError(socket, 503, 'app is not running');
      }
      return true;
    }
    b.inflight++;
    proxyUpgrade(this.#deps, req, socket, head, rs, b, this.#headers(req, rs.prefix, true, identity), bot);
    return true;
  }

  drain(backends: Backend[], timeoutMs: number): Promise<void> {
    return this.#backends.drain(backends, timeoutMs);
  }

  inFlight(backend: Backend): number {
    return this.#backends.inFlight(backend);
  }

  async close(): Promise<void> {
    this.#activator.close();
    this.#routes.clear();
    await this.#backends.close();
  }

  /**
   * Sends a request (its start already counted) to a backend of `rs`: the one its
   * affinity cookie names, else the least busy. `headers` were computed when a held
   * request arrived; otherwise they are built now.
   */
  #forward(
    req: IncomingMessage,
    res: ServerResponse,
    rs: RouteState,
    headers: string[] | undefined,
    identity: readonly string[] | undefined,
    start: number,
  ): void {
    let b = rs.route.affinity === true ? pinnedBackend(rs.backends, req) : undefined;
    let setCookie: string | undefined;
    if (b === undefined) {
      b = pickLeastOutstanding(rs.backends, rs.cursor);
      if (b === undefined) {
        this.#noBackend(req, res, rs, headers, identity, start);
        return;
      }
      if (rs.route.affinity === true) setCookie = affinitySetCookie(rs.route.app, b, this.#secure(req));
    }
    b.inflight++;
    proxyHttp(
      this.#deps,
      req,
      res,
      rs,
      b,
      headers ?? this.#headers(req, rs.prefix, false, identity),
      start,
      setCookie,
    );
  }

  /**
   * No backend. A sleeping app: bots get 503, a browser navigation wakes it and gets the
   * starting page, anything else wakes it and waits. Otherwise: 503 "not running".
   */
  #noBackend(
    req: IncomingMessage,
    res: ServerResponse,
    rs: RouteState,
    headers: string[] | undefined,
    identity: readonly string[] | undefined,
    start: number,
  ): void {
    const app = rs.route.app;
    if (rs.route.sleeping !== true) {
      sendPage(req, res, Pages.notRunning(app), RETRY_AFTER);
      finishRequest(rs.traffic, req, true, start);
    } else if (isBot(req.headers['user-agent'])) {
      sendPage(req, res, Pages.asleep(app), BOT_RETRY_AFTER);
      finishRequest(rs.traffic, req, false, start);
    } else if (isNavigation(req)) {
      this.#activator.wake(rs);
      sendStartingPage(req, res, app);
      finishRequest(rs.traffic, req, false, start);
    } else {
      // Held first: an onWake that sets the route at once must find the request waiting.
      const h = headers ?? this.#headers(req, rs.prefix, false, identity);
      this.#activator.hold(app, req, res, h, start, rs.traffic);
      this.#activator.wake(rs);
    }
  }

  /** The app's route changed while requests wait for it: send them on, answer them, or keep them waiting. */
  #settleHeld(app: string, rs: RouteState | undefined): void {
    if (rs === undefined) {
      this.#activator.answerAll(app, Pages.appNotFound(app), {});
    } else if (rs.route.staticRoot === undefined && rs.backends.length > 0) {
      for (const h of this.#activator.take(app))
        this.#forward(h.req, h.res, rs, h.headers, undefined, h.start);
    } else if (rs.route.sleeping !== true || rs.route.staticRoot !== undefined) {
      this.#activator.answerAll(app, Pages.notRunning(app));
    } else {
      // A new sleeping route while requests wait (a failed wake, a redeploy that went live
      // asleep): they still need the app, so this spell wakes it too.
      this.#activator.wake(rs);
    }
  }

  #headers(
    req: IncomingMessage,
    prefix: string,
    upgrade: boolean,
    identity: readonly string[] | undefined,
  ): string[] {
    return buildUpstreamHeaders(req.rawHeaders, {
      clientAddr: req.socket.remoteAddress ?? '',
      encrypted: (req.socket as TLSSocket).encrypted === true,
      prefix,
      trustProxy: this.#trustProxy,
      upgrade,
      sessionCookie: this.#extraCookie,
      identity,
    });
  }

  /** Did the client use HTTPS (as far as the router can tell)? */
  #secure(req: IncomingMessage): boolean {
    if ((req.socket as TLSSocket).encrypted === true) return true;
    const proto = this.#trustProxy ? req.headers['x-forwarded-proto'] : undefined;
    return typeof proto === 'string' && proto.trimStart().toLowerCase().startsWith('https');
  }

  #serveStatic(req: IncomingMessage, res: ServerResponse, route: RouteState, pathEnd: number): void {
    serveStatic({ req, res, route, pathEnd, logger: this.#logger }).catch((err: unknown) => {
      this.#logger.error({ app: route.route.app, err }, 'static file serving failed');
      if (res.headersSent) res.destroy();
      else
        sendPage(req, res, { status: 500, title: 'Internal error', message: 'The file could not be read.' });
    });
  }
}
