/**
 * HTTP proxying over the router's own upstream client (upstream.ts): the response
 * streams straight into Node's `ServerResponse`, chunk by chunk, with backpressure both
 * ways (the upstream socket stops being read while `res` is full; `req` is read only as
 * fast as the upstream takes it).
 *
 * Hot path: one handler object per request and no per-request closures. The `res`
 * listeners are shared module functions that find their handler through a symbol.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log/index.js';
import { responseHeaderPairs, serializeRequestHead } from './headers.js';
import { Pages, sendPage } from './pages.js';
import { poolFor, type BackendState, type PoolSettings, type RouteState } from './state.js';
import { finishRequest } from './traffic.js';
import { isUpstreamTimeout, type UpstreamExchange, type UpstreamSink } from './upstream.js';

export interface ProxyDeps extends PoolSettings {
  logger: Logger;
  /** Called exactly once per proxied request when it is over, however it ended (before the traffic count). */
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

/** How the request body is framed: none, Content-Length, or chunked (Transfer-Encoding). */
export const enum BodyFraming {
  None = 0,
  Length = 1,
  Chunked = 2,
}

/** The request's body framing (anything but a zero Content-Length or none has a body). */
export function requestBodyFraming(raw: readonly string[]): BodyFraming {
  let framing = BodyFraming.None;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      if (Number(raw[i + 1]) > 0) framing = BodyFraming.Length;
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      // Node's parser refuses Content-Length together with Transfer-Encoding.
      return BodyFraming.Chunked;
    }
  }
  return framing;
}

/** True when the request carries a body. */
export function hasRequestBody(raw: readonly string[]): boolean {
  return requestBodyFraming(raw) !== BodyFraming.None;
}

/** One proxied request: the sink of its upstream exchange. */
class ProxyHandler implements UpstreamSink {
  exchange: UpstreamExchange | undefined = undefined;
  #done = false;
  #clientGone = false;
  /** The app's status code, once its answer began. */
  #status = 0;
  readonly #deps: ProxyDeps;
  readonly #req: IncomingMessage;
  readonly #res: TaggedResponse;
  readonly #route: RouteState;
  readonly #b: BackendState;
  readonly #start: number;
  readonly #setCookie: string | undefined;

  constructor(
    deps: ProxyDeps,
    req: IncomingMessage,
    res: TaggedResponse,
    route: RouteState,
    b: BackendState,
    start: number,
    setCookie: string | undefined,
  ) {
    this.#deps = deps;
    this.#req = req;
    this.#res = res;
    this.#route = route;
    this.#b = b;
    this.#start = start;
    this.#setCookie = setCookie;
    res[kHandler] = this;
    res.on('close', onResClose);
  }

  onHead(status: number, statusText: string, headers: string[]): void {
    this.#status = status;
    if (this.#clientGone) return;
    const pairs = responseHeaderPairs(headers);
    if (this.#setCookie !== undefined) pairs.push('set-cookie', this.#setCookie);
    try {
      this.#res.writeHead(status, statusText, pairs);
    } catch (err) {
      // Node refuses some things llhttp lets through (odd status codes, header bytes).
      this.exchange?.abort(err as Error);
    }
  }

  onBody(chunk: Buffer): boolean {
    if (this.#clientGone) return true;
    if (this.#res.write(chunk)) return true;
    this.#res.once('drain', onResDrain);
    return false;
  }

  onEnd(): void {
    this.#finish(this.#status >= 500);
    if (!this.#clientGone) this.#res.end();
  }

  onError(err: Error): void {
    if (this.#clientGone) {
      // The client's choice, not a failure of the app.
      this.#finish(this.#status >= 500);
      return;
    }
    this.#finish(true);
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
    sendPage(this.#req, res, isUpstreamTimeout(err) ? Pages.gatewayTimeout(app) : Pages.badGateway(app));
  }

  /** `res` closed: after a normal end (ignored) or because the client left (abort upstream). */
  clientClosed(): void {
    if (this.#done) return;
    this.#clientGone = true;
    this.exchange?.abort(CLIENT_GONE);
  }

  resumeUpstream(): void {
    this.exchange?.resume();
  }

  #finish(failed: boolean): void {
    if (this.#done) return;
    this.#done = true;
    this.#deps.release(this.#b);
    finishRequest(this.#route.traffic, this.#req, failed, this.#start);
  }
}

/**
 * Proxies one request to backend `b` (already picked and counted by the caller, its
 * start counted in `route.traffic`). The request's full original path goes upstream;
 * `headers` are the rewritten ones. `start` is from `startRequest` at arrival;
 * `setCookie` is added to the app's response (session affinity).
 */
export function proxyHttp(
  deps: ProxyDeps,
  req: IncomingMessage,
  res: ServerResponse,
  route: RouteState,
  b: BackendState,
  headers: string[],
  start: number,
  setCookie: string | undefined,
): void {
  const framing = requestBodyFraming(req.rawHeaders);
  // The client's Transfer-Encoding is hop-by-hop (dropped); the body is re-chunked upstream.
  if (framing === BodyFraming.Chunked) headers.push('transfer-encoding', 'chunked');
  const handler = new ProxyHandler(deps, req, res, route, b, start, setCookie);
  handler.exchange = poolFor(b, deps).request({
    method: req.method!,
    head: serializeRequestHead(req.method!, req.url!, headers),
    body: framing === BodyFraming.None ? null : req,
    chunked: framing === BodyFraming.Chunked,
    sink: handler,
  });
}
