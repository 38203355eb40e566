/**
 * The data plane's core: route table, per-backend counters, dispatch to the HTTP,
 * WebSocket and static handlers, and drain for zero-downtime redeploys.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { GantryError } from '../errors/index.js';
import type { GateVerdict, RouterGate } from '../gate/index.js';
import { SECURE_SESSION_COOKIE, SESSION_COOKIE } from '../identity/cookies.js';
import type { Logger } from '../log/index.js';
import { pickLeastOutstanding } from './balancer.js';
import { buildUpstreamHeaders } from './headers.js';
import { proxyHttp, type ProxyDeps } from './http-proxy.js';
import { Pages, sendPage, sendRawError } from './pages.js';
import { APP_NAME_RE, matchTarget } from './path.js';
import type { BackendState, RouteState } from './state.js';
import { serveStatic } from './static.js';
import type { AppRoute, Backend } from './types.js';
import { proxyUpgrade } from './ws-proxy.js';

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
}

interface DrainWaiter {
  states: BackendState[];
  done(): void;
}

const RETRY_AFTER = { 'retry-after': '5' };
const LOGIN_CHALLENGE = { 'www-authenticate': 'Bearer realm="gantry"' };
const BAD_TOKEN_CHALLENGE = { 'www-authenticate': 'Bearer realm="gantry", error="invalid_token"' };
const RAW_LOGIN_CHALLENGE = 'WWW-Authenticate: Bearer realm="gantry"\r\n';
const RAW_BAD_TOKEN_CHALLENGE = 'WWW-Authenticate: Bearer realm="gantry", error="invalid_token"\r\n';

type Refusal = Exclude<GateVerdict['kind'], 'allow'>;

/** Where an anonymous browser is sent: the login page, coming back to `url` after. */
export function loginLocation(url: string): string {
  return `/login?next=${encodeURIComponent(url)}`;
}

export class GantryRouter {
  readonly #routes = new Map<string, RouteState>();
  readonly #backends = new Map<Backend, BackendState>();
  readonly #waiters = new Set<DrainWaiter>();
  readonly #logger: Logger;
  readonly #trustProxy: boolean;
  readonly #deps: ProxyDeps;
  readonly #gate: RouterGate | undefined;
  /** The gate's cookie name when it is not one of the standard two (those are always removed). */
  readonly #extraCookie: string | undefined;

  constructor(opts: RouterOptions) {
    this.#logger = opts.logger;
    this.#trustProxy = opts.trustProxy ?? false;
    this.#gate = opts.gate;
    const cookie = opts.gate?.cookieName;
    this.#extraCookie = cookie === SESSION_COOKIE || cookie === SECURE_SESSION_COOKIE ? undefined : cookie;
    this.#deps = {
      logger: opts.logger,
      connectTimeoutMs: opts.connectTimeoutMs ?? 5_000,
      headersTimeoutMs: opts.headersTimeoutMs ?? 60_000,
      release: (b) => this.#release(b),
    };
  }

  setRoute(app: string, route: AppRoute | undefined): void {
    if (!APP_NAME_RE.test(app)) throw new GantryError('GANTRY_INVALID_APP_NAME', `invalid app name: ${app}`);
    const old = this.#routes.get(app);
    if (route === undefined) {
      this.#routes.delete(app);
    } else {
      const backends = route.backends.map((b) => this.#stateFor(b));
      for (const s of backends) s.refs++;
      this.#routes.set(app, {
        route,
        prefix: `/apps/${app}`,
        backends,
        cursor: { next: 0 },
        rootReal: undefined,
      });
    }
    if (old) {
      for (const s of old.backends) {
        s.refs--;
        if (s.refs === 0 && s.inflight === 0) this.#dispose(s);
      }
    }
  }

  getRoute(app: string): AppRoute | undefined {
    return this.#routes.get(app)?.route;
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
          this.#refuse(req, res, v.kind, t.app);
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
        const b = pickLeastOutstanding(rs.backends, rs.cursor);
        if (b === undefined) {
          sendPage(req, res, Pages.notRunning(t.app), RETRY_AFTER);
        } else {
          b.inflight++;
          proxyHttp(this.#deps, req, res, rs, b, this.#headers(req, rs.prefix, false, identity));
        }
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
      if (v.kind === 'hidden') {
        sendRawError(socket, 404, 'app not found');
        return true;
      }
      if (v.kind === 'login') {
        sendRawError(socket, 401, 'login required', RAW_LOGIN_CHALLENGE);
        return true;
      }
      if (v.kind === 'badToken') {
        sendRawError(socket, 401, 'invalid API token', RAW_BAD_TOKEN_CHALLENGE);
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
    const b = pickLeastOutstanding(rs.backends, rs.cursor);
    if (b === undefined) {
      sendRawError(socket, 503, 'app is not running');
      return true;
    }
    b.inflight++;
    proxyUpgrade(this.#deps, req, socket, head, rs, b, this.#headers(req, rs.prefix, true, identity));
    return true;
  }

  drain(backends: Backend[], timeoutMs: number): Promise<void> {
    const states: BackendState[] = [];
    for (const b of backends) {
      const s = this.#backends.get(b);
      if (s !== undefined && s.inflight > 0) states.push(s);
    }
    if (states.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: DrainWaiter = {
        states,
        done: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.#logger.info(
          { backends: states.filter((s) => s.inflight > 0).map((s) => s.backend.id) },
          'drain deadline reached, closing remaining connections',
        );
        waiter.done();
        for (const s of states) this.#force(s);
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  inFlight(backend: Backend): number {
    return this.#backends.get(backend)?.inflight ?? 0;
  }

  async close(): Promise<void> {
    for (const w of [...this.#waiters]) w.done();
    const states = [...this.#backends.values()];
    this.#routes.clear();
    this.#backends.clear();
    await Promise.all(
      states.map(async (s) => {
        if (s.sockets) for (const sock of s.sockets) sock.destroy();
        const pool = s.pool;
        s.pool = undefined;
        if (pool) await pool.destroy();
      }),
    );
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

  /**
   * A request the gate refused. `hidden` answers exactly like a missing app. `login`
   * sends browsers (GET/HEAD asking for HTML) to the login page and others a 401.
   */
  #refuse(req: IncomingMessage, res: ServerResponse, kind: Refusal, app: string): void {
    if (kind === 'hidden') {
      sendPage(req, res, Pages.appNotFound(app));
    } else if (kind === 'badToken') {
      sendPage(req, res, Pages.badToken(), BAD_TOKEN_CHALLENGE);
    } else if (
      (req.method === 'GET' || req.method === 'HEAD') &&
      req.headers.accept?.includes('text/html') === true
    ) {
      res.writeHead(302, {
        location: loginLocation(req.url!),
        'content-length': 0,
        'cache-control': 'no-store',
      });
      res.end();
    } else {
      sendPage(req, res, Pages.loginRequired(), LOGIN_CHALLENGE);
    }
  }

  #serveStatic(req: IncomingMessage, res: ServerResponse, route: RouteState, pathEnd: number): void {
    serveStatic({ req, res, route, pathEnd, logger: this.#logger }).catch((err: unknown) => {
      this.#logger.error({ app: route.route.app, err }, 'static file serving failed');
      if (res.headersSent) res.destroy();
      else
        sendPage(req, res, { status: 500, title: 'Internal error', message: 'The file could not be read.' });
    });
  }

  #stateFor(backend: Backend): BackendState {
    let s = this.#backends.get(backend);
    if (s === undefined) {
      s = { backend, inflight: 0, refs: 0, pool: undefined, sockets: undefined };
      this.#backends.set(backend, s);
    }
    return s;
  }

  #release(s: BackendState): void {
    if (--s.inflight !== 0) return;
    if (s.refs === 0) this.#dispose(s);
    for (const w of this.#waiters) {
      if (w.states.every((x) => x.inflight === 0)) w.done();
    }
  }

  /** A backend no route lists and nothing uses any more: close its pool, forget it. */
  #dispose(s: BackendState): void {
    if (this.#backends.get(s.backend) === s) this.#backends.delete(s.backend);
    const pool = s.pool;
    s.pool = undefined;
    pool
      ?.close()
      .catch((err: unknown) => this.#logger.warn({ err, backend: s.backend.id }, 'pool close failed'));
  }

  /** Drain deadline: cut what still uses a backend that no route lists any more. */
  #force(s: BackendState): void {
    if (s.sockets) for (const sock of [...s.sockets]) sock.destroy();
    if (s.refs > 0) return;
    const pool = s.pool;
    s.pool = undefined;
    pool
      ?.destroy()
      .catch((err: unknown) => this.#logger.warn({ err, backend: s.backend.id }, 'pool destroy failed'));
  }
}
