/**
 * Free TCP ports for web processes. The kernel picks a free port (bind to 0),
 * we close the probe socket and hand the port out; a port stays reserved until
 * released so two processes never get the same one while both are alive.
 */
import { connect, createServer } from 'node:net';
import { GantryError } from '../errors/index.js';

function probe(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** True if `port` can be bound on `host` right now. */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export class PortAllocator {
  readonly #host: string;
  readonly #inUse = new Set<number>();

  constructor(host: string) {
    this.#host = host;
  }

  async allocate(): Promise<number> {
    for (let i = 0; i < 50; i++) {
      const port = await probe(this.#host);
      if (port > 0 && !this.#inUse.has(port)) {
        this.#inUse.add(port);
        return port;
      }
    }
    throw new GantryError('GANTRY_INTERNAL', `no free port on ${this.#host}`);
  }

  /** Keeps `port` if it is still ours and free, otherwise hands out a new one. */
  async reuseOrAllocate(port: number | undefined): Promise<number> {
    if (port !== undefined && this.#inUse.has(port) && (await isPortFree(this.#host, port))) return port;
    if (port !== undefined) this.release(port);
    return this.allocate();
  }

  release(port: number | undefined): void {
    if (port !== undefined) this.#inUse.delete(port);
  }

  get inUse(): number {
    return this.#inUse.size;
  }
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    sock.setTimeout(1000);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', () => resolve(false));
  });
}

/**
 * Pause before the next connect attempt, by time spent waiting so far. Most
 * apps listen within a second or two of exec, and every millisecond of a cold
 * start is a user waiting: probe every 2 ms at first (a refused connect on
 * loopback costs some 50 µs), then back off for slow starters.
 */
export function readinessDelay(elapsedMs: number): number {
  if (elapsedMs < 1000) return 2;
  if (elapsedMs < 3000) return 5;
  if (elapsedMs < 10_000) return 20;
  return 50;
}

/**
 * Waits until something accepts TCP connections on host:port. Gives up (false)
 * after `timeoutMs` or as soon as `alive()` says the process is gone. Used to
 * tell when a started (or woken) web process is ready for traffic.
 */
export async function waitListening(opts: {
  host: string;
  port: number;
  timeoutMs: number;
  alive: () => boolean;
}): Promise<boolean> {
  const start = Date.now();
  const deadline = start + opts.timeoutMs;
  while (Date.now() < deadline && opts.alive()) {
    if (await accepts(opts.host, opts.port)) return true;
    await new Promise((r) => setTimeout(r, readinessDelay(Date.now() - start)));
  }
  return false;
}
