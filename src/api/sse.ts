/**
 * Server-Sent Events on a Fastify reply: the live views of the Web UI
 * (build output, app activity, logs, metrics) read them with the browser's
 * EventSource. Routes do everything that can fail with a real status
 * (unknown app, subscribing) before opening the stream; after that the reply
 * belongs to the stream until it is closed by either side.
 */
import type { FastifyReply } from 'fastify';

/** Bytes a client may fall behind before it is disconnected (as the plain-text log follower). */
export const SSE_MAX_BUFFERED = 4 * 1024 * 1024;
/** A comment this often keeps proxies and load balancers from closing a quiet stream. */
export const SSE_PING_MS = 15_000;

export interface SseStream {
  /** Sends `event: NAME` with `data` as one line of JSON; ignored once closed. */
  send(event: string, data: unknown): void;
  /** Ends the stream (the client's EventSource sees the end). */
  close(): void;
  /** Calls `fn` once when the stream ends, whoever ended it (at once if it already has). */
  onClose(fn: () => void): void;
  readonly closed: boolean;
}

/**
 * Takes over `reply` and answers 200 `text/event-stream` at once (headers are
 * flushed, so the client's `open` fires before the first event).
 */
export function openSse(reply: FastifyReply, opts: { pingMs?: number } = {}): SseStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    // nginx buffers proxied responses by default, which would hold events back.
    'x-accel-buffering': 'no',
    'x-content-type-options': 'nosniff',
  });
  res.flushHeaders();

  const closers: (() => void)[] = [];
  let closed = false;
  const finish = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(ping);
    for (const fn of closers.splice(0)) fn();
  };
  const write = (text: string): void => {
    if (closed || res.destroyed || res.writableEnded) return;
    // A client that stops reading must not make us buffer without bound.
    if (res.writableLength > SSE_MAX_BUFFERED) res.destroy();
    else res.write(text);
  };
  const ping = setInterval(() => write(': ping\n\n'), opts.pingMs ?? SSE_PING_MS);
  res.once('close', finish);
  // Routes await the platform before opening: a client that left meanwhile
  // already fired 'close', and its listeners and timers would live forever.
  if (res.destroyed || reply.request.raw.destroyed || res.socket?.destroyed !== false) finish();

  return {
    send(event, data) {
      // JSON never holds a raw CR or LF, so the data stays on one line as SSE requires.
      write(`event: ${event}\ndata: ${JSON.stringify(data) ?? 'null'}\n\n`);
    },
    close() {
      if (!res.writableEnded) res.end();
      finish();
    },
    onClose(fn) {
      if (closed) fn();
      else closers.push(fn);
    },
    get closed() {
      return closed;
    },
  };
}
