/**
 * WebSocket (and any HTTP/1.1 upgrade) proxying at the byte level: connect to the
 * backend, replay the request head with rewritten headers, then pipe both ways. The
 * backend's handshake answer reaches the client untouched.
 */
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/index.js';
import { serializeRequestHead } from './headers.js';
import { sendRawError } from './pages.js';
import type { BackendState, RouteState } from './state.js';
import { ACTIVE_RESOLUTION_MS, closeWebSocket, openWebSocket } from './traffic.js';

export interface WsDeps {
  logger: Logger;
  connectTimeoutMs: number;
  /** Called exactly once when the tunnel is over. */
  release(b: BackendState): void;
}

/**
 * Tunnels an upgrade request to backend `b` (already picked and counted by the caller)
 * and keeps it counted until either side closes. Frames either way are activity of the
 * app (`lastActive`) unless the client is a `bot`; a silent WebSocket is not.
 */
export function proxyUpgrade(
  deps: WsDeps,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  route: RouteState,
  b: BackendState,
  headers: string[],
  bot: boolean,
): void {
  const sockets = (b.sockets ??= new Set());
  sockets.add(socket);
  const traffic = route.traffic;
  openWebSocket(traffic, bot);
  const up: Socket = connect({ host: b.backend.host, port: b.backend.port });
  let connected = false;
  let failed = false;
  let over = false;
  const finish = (): void => {
    if (over) return;
    over = true;
    clearTimeout(timer);
    sockets.delete(socket);
    deps.release(b);
    closeWebSocket(traffic, failed);
  };
  // One listener per tunnel, no allocation per chunk: a clock read and a compare.
  const active = (): void => {
    const now = Date.now();
    if (now - traffic.lastActive >= ACTIVE_RESOLUTION_MS) traffic.lastActive = now;
  };
  const timer = setTimeout(() => {
    up.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
  }, deps.connectTimeoutMs);

  up.once('connect', () => {
    connected = true;
    clearTimeout(timer);
    up.setNoDelay(true);
    up.write(serializeRequestHead(req.method ?? 'GET', req.url!, headers));
    if (head.length > 0) up.write(head);
    socket.pipe(up);
    up.pipe(socket);
    // Added after pipe(): an earlier 'data' listener would start the flow before anyone reads.
    if (!bot) {
      socket.on('data', active);
      up.on('data', active);
    }
  });
  up.on('error', (err: NodeJS.ErrnoException) => {
    if (connected) {
      socket.destroy();
      return;
    }
    deps.logger.warn(
      { app: route.route.app, backend: b.backend.id, code: err.code, err: err.message },
      'websocket upstream connect failed',
    );
    failed = true;
    sendRawError(socket, 502, `app "${route.route.app}" could not be reached`);
  });
  up.on('close', () => {
    // A clean upstream end was already forwarded by pipe(); a failed one must cut the client.
    if (connected && !socket.writableEnded) socket.destroy();
    finish();
  });
  socket.on('error', (err: Error) => {
    deps.logger.debug({ app: route.route.app, err: err.message }, 'websocket client error');
    up.destroy();
  });
  socket.on('close', () => {
    up.destroy();
    finish();
  });
}
