/**
 * An app's own boot time, without Gantry: exec the web command, poll TCP connect every
 * millisecond until the port accepts, then time one GET. The same helpers time the
 * first byte through Gantry, so both sides use one clock and one HTTP client.
 */
import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnProcess, writeExtraFd } from '../../src/exec/index.js';

export const USER_AGENT = 'gantry-coldstart-bench/1';

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Polls until the port accepts (every `intervalMs`); returns performance.now() of the
 * successful connect. Throws when `gone()` says the process died or after `timeoutMs`.
 */
export async function waitAccepting(
  port: number,
  opts: { timeoutMs: number; gone: () => string | undefined; intervalMs?: number },
): Promise<number> {
  const deadline = performance.now() + opts.timeoutMs;
  for (;;) {
    if (await accepts(port)) return performance.now();
    const why = opts.gone();
    if (why) throw new Error(why);
    if (performance.now() > deadline)
      throw new Error(`nothing listened on ${port} within ${opts.timeoutMs} ms`);
    await sleep(opts.intervalMs ?? 1);
  }
}

export interface FirstByte {
  /** From just before the request was made to its 'response' event. */
  ms: number;
  status: number;
  body: string;
}

/** One GET on a fresh connection; times the first byte of the answer, then reads the body. */
export function firstByte(port: number, path: string, timeoutMs = 60_000): Promise<FirstByte> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        agent: false,
        headers: { 'user-agent': USER_AGENT, accept: '*/*', connection: 'close' },
        timeout: timeoutMs,
      },
      (res) => {
        const ms = performance.now() - t0;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ ms, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${path} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export interface Launch {
  file: string;
  args: string[];
  cwd?: string;
  env: Record<string, string>;
  uid?: number;
  gid?: number;
  /** Written to fd 3 (bwrap's env file), as the runtime does. */
  fd3?: string;
  /** Called right after spawn, before fd 3 is written (cgroup placement, as the runtime does it). */
  afterSpawn?: (pid: number) => Promise<void>;
}

export interface Boot {
  /** Exec to the port accepting a connection. */
  listenMs: number;
  /** Exec to the first byte of GET `path` sent once the port accepts. */
  firstByteMs: number;
}

/** Stops a child and everything under it (bwrap's init dies with bwrap), then waits for the port to close. */
async function stop(child: ChildProcess, port: number): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }
  for (let i = 0; i < 200 && (await accepts(port)); i++) await sleep(10);
}

/**
 * Execs `launch`, waits for `port` to accept (1 ms polls), GETs `path` and stops it.
 * Throws when the process exits first or the answer does not contain `expect`.
 */
export async function timeBoot(launch: Launch, port: number, path: string, expect: string): Promise<Boot> {
  const t0 = performance.now();
  const child = spawnProcess(launch.file, launch.args, {
    cwd: launch.cwd,
    env: launch.env,
    uid: launch.uid,
    gid: launch.gid,
    stdio: launch.fd3 === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (c: Buffer): void => {
    tail = (tail + c.toString('utf8')).slice(-2000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));
  try {
    if (child.pid !== undefined) await launch.afterSpawn?.(child.pid);
    if (launch.fd3 !== undefined && child.pid !== undefined) writeExtraFd(child, launch.fd3);
    const gone = (): string | undefined => {
      if (spawnError) return `cannot start ${launch.file}: ${spawnError.message}`;
      if (child.exitCode !== null || child.signalCode !== null)
        return `${launch.file} exited (${child.exitCode ?? child.signalCode}) before listening:\n${tail}`;
      return undefined;
    };
    const listenAt = await waitAccepting(port, { timeoutMs: 30_000, gone });
    const asked = performance.now();
    const fb = await firstByte(port, path);
    if (fb.status !== 200 || !fb.body.includes(expect))
      throw new Error(`${launch.file} answered ${fb.status}: ${fb.body.slice(0, 200)}`);
    return { listenMs: listenAt - t0, firstByteMs: asked - t0 + fb.ms };
  } finally {
    await stop(child, port);
  }
}
