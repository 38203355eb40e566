/**
 * HTTP proxying over undici's low-level `dispatch`: the response streams straight into
 * Node's `ServerResponse`, chunk by chunk, with backpressure both ways (undici stops
 * reading the upstream socket while `res` is full; `req` is read only as fast as the
 * upstream takes it).
 *
 * Hot path: one handler object per request and no per-request closures. The `res`
 * listeners are shared module functions that find their handler through a symbol.
 */
import type { IncomingMessage, ServerResponse, IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Logger } from '../log/index.js';
import { responseHeaderList } from './headers.js';
import { Pages, sendPage } from './pages.js';
import { poolFor, type BackendState, type PoolSettings, type RouteState } from './state.js';

type Controller = Dispatcher.DispatchController;

export interface ProxyDeps extends PoolSettings {
  logger: Logger;
  /** Called exactly once per proxied request when it is over, however it ended. */
  release(b: BackendState): void;
}

const CLIENT_GONE = new Error('client closed the connection');
const kHandler = Symbol('gantry.proxyHandler');
type TaggedResponse = ServerResponse & { [kHandler]?: ProxyHandler };

function onResClose(this: TaggedResponse): void {
  this[kHandler]?.clientClosed();
}

function onResDrain(this: TaggedResponse): void {
  this[kHandler]?.resumeUpstream();
}

/** True when the request carries a body (anything but a zero Content-Length or none). */
export function hasRequestBody(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      if (Number(raw[i + 1]) > 0) return true;
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      return true;
    }
  }
  return false;
}

function isTimeout(err: Error): boolean {
  const code = (err as { code?: string }).code;
  return code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT';
}

/** One proxied request, as an undici 7 dispatch handler. */
class ProxyHandler implements Dispatcher.DispatchHandler {
  #controller: Controller | undefined = undefined;
  #done = false;
  #clientGone = false;
  readonly #deps: ProxyDeps;
  readonly #req: IncomingMessage;
  readonly #res: TaggedResponse;
  readonly #route: RouteState;
  readonly #b: BackendState;

  constructor(
    deps: ProxyDeps,
    req: IncomingMessage,
    res: TaggedResponse,
    route: RouteState,
    b: BackendState,
  ) {
    this.#deps = deps;
    this.#req = req;
    this.#res = res;
    this.#route = route;
    this.#b = b;
    res[kHandler] = this;
    res.on('close', onResClose);
  }

  onRequestStart(controller: Controller): void {
    this.#controller = controller;
    // The client may have left while the request waited for a free connection.
    if (this.#clientGone) controller.abort(CLIENT_GONE);
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    if (this.#clientGone) return;
    try {
      this.#res.writeHead(statusCode, statusMessage, responseHeaderList(headers));
    } catch (err) {
      // Node refuses some things llhttp lets through (odd status codes, header bytes).
      controller.abort(err as Error);
    }
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#clientGone) return;
    if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once('drain', onResDrain);
    }
  }

  onResponseEnd(): void {
    this.#finish();
    if (!this.#clientGone) this.#res.end();
  }

  onResponseError(_controller: Controller | undefined, err: Error): void {
    this.#finish();
    if (this.#clientGone) return;
    const res = this.#res;
    if (res.headersSent) {
      // Mid-response: the only honest signal left is to cut the client connection.
      res.destroy(err);
      return;
    }
    const app = this.#route.route.app;
    this.#deps.logger.warn(
      { app, backend: this.#b.backend.id, code: (err as { code?: string }).code, err: err.message },
      'upstream request failed',
    );
    sendPage(this.#req, res, isTimeout(err) ? Pages.gatewayTimeout(app) : Pages.badGateway(app));
  }

  /** `res` closed: after a normal end (ignored) or because the client left (abort upstream). */
  clientClosed(): void {
    if (this.#done) return;
    this.#clientGone = true;
    this.#controller?.abort(CLIENT_GONE);
  }

  resumeUpstream(): void {
    this.#controller?.resume();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#deps.release(this.#b);
  }
}

/**
 * Proxies one request to backend `b` (already picked and counted by the caller). The
 * request's full original path goes upstream; `headers` are the rewritten ones.
 */
export function proxyHttp(
  deps: ProxyDeps,
  req: IncomingMessage,
  res: ServerResponse,
  route: RouteState,
  b: BackendState,
  headers: string[],
): void {
  const pool = poolFor(b, deps);
  const handler = new ProxyHandler(deps, req, res, route, b);
  pool.dispatch(
    {
      path: req.url!,
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body: hasRequestBody(req.rawHeaders) ? req : null,
    },
    handler,
  );
}
