/**
 * Response helpers shared by the smart HTTP endpoints: plain-text errors (git
 * shows them as `remote:` lines for info/refs) and streaming a git child.
 */
import type { ServerResponse } from 'node:http';
import type { ChildProcess } from 'node:child_process';
import { isGantryError } from '../errors/index.js';
import type { Logger } from '../log/index.js';

export const NO_CACHE = {
  'cache-control': 'no-cache, max-age=0, must-revalidate',
  expires: 'Fri, 01 Jan 1980 00:00:00 GMT',
  pragma: 'no-cache',
};

/** Encodes one pkt-line (4 hex digits of length, length included). */
export function pktLine(s: string): string {
  return (Buffer.byteLength(s) + 4).toString(16).padStart(4, '0') + s;
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...NO_CACHE, ...headers });
  res.end(text.endsWith('\n') ? text : text + '\n');
}

export function sendError(res: ServerResponse, e: unknown, log: Logger): void {
  if (isGantryError(e)) {
    sendText(res, e.status, e.message);
    return;
  }
  log.error({ err: e }, 'git request failed');
  sendText(res, 500, 'internal error (see the server log)');
}

/**
 * Streams a git child's stdout as the response. Headers go out with the first
 * byte, so a git that fails before writing anything still gets a proper 500.
 */
export function streamChild(opts: {
  child: ChildProcess;
  res: ServerResponse;
  contentType: string;
  prefix?: string;
  log: Logger;
  /** Runs after the child exited, before the response ends. */
  onExit?: (code: number | null) => Promise<void>;
  /** True once someone else (a 413) took over the response. */
  takenOver?: () => boolean;
}): void {
  const { child, res, log } = opts;
  let stderr = '';
  const head = (): void => {
    if (res.headersSent) return;
    res.writeHead(200, { 'content-type': opts.contentType, ...NO_CACHE });
    if (opts.prefix) res.write(opts.prefix);
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    if (opts.takenOver?.()) return;
    head();
    if (!res.write(chunk)) {
      child.stdout!.pause();
      res.once('drain', () => child.stdout!.resume());
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    if (stderr.length < 8192) stderr += d;
  });
  child.on('error', (e) => {
    log.error({ err: e }, 'cannot start git');
    if (!opts.takenOver?.()) sendText(res, 500, 'cannot start git');
  });
  child.on('close', (code, signal) => {
    const finish = async (): Promise<void> => {
      if (opts.onExit) await opts.onExit(code);
      if (opts.takenOver?.() || res.writableEnded) return;
      if (code === 0) {
        head();
        res.end();
      } else {
        log.warn({ code, signal, stderr: stderr.slice(-2000) }, 'git service failed');
        if (res.headersSent) res.destroy();
        else sendText(res, 500, 'git failed (see the server log)');
      }
    };
    finish().catch((e: unknown) => sendError(res, e, log));
  });
}
