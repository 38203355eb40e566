/**
 * NDJSON replies for operations that stream output and then end with an
 * outcome (`gantry run`, `gantry cron:run`). The status is sent before the
 * outcome is known, so the outcome is the last line:
 *
 *     {"output":"text"}          any number of times, as the output comes
 *     {"exit":{...}} / {"run":{...}}   exactly one final line on success, or
 *     {"error":{"code":"…","message":"…"}}   when the operation failed
 *
 * Whatever can be refused before (unknown app, no access, not deployed) is
 * refused by the route with a real status before calling streamNdjson.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isGantryError } from '../errors/index.js';
import type { OutputSink } from './platform.js';
import type { ErrorReply } from './errors.js';

export const NDJSON_TYPE = 'application/x-ndjson';

/** Bytes a client may fall behind before it is disconnected (which aborts the operation). */
const MAX_BUFFERED = 4 * 1024 * 1024;

export interface NdjsonOperation<T> {
  /** Runs the operation; `signal` aborts when the client goes away. */
  run(output: OutputSink, signal: AbortSignal): Promise<T>;
  /** The final line for a successful result, e.g. `{ exit: { code, signal } }`. */
  final(result: T): Record<string, unknown>;
}

/** The final line for a failure: the domain error as it is, anything else as a generic internal error. */
export function errorLine(err: unknown): ErrorReply {
  if (isGantryError(err)) return { error: { code: err.code, message: err.message } };
  return { error: { code: 'GANTRY_INTERNAL', message: 'internal error (see server log)' } };
}

/** Streams `op` as NDJSON on `reply` (hijacked: the reply is ours from here). */
export async function streamNdjson<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  op: NdjsonOperation<T>,
): Promise<FastifyReply> {
  reply.hijack();
  const res = reply.raw;
  const gone = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  res.writeHead(200, {
    'content-type': `${NDJSON_TYPE}; charset=utf-8`,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  // A quiet command may not print for minutes: the client must see the status now.
  res.flushHeaders();

  const open = (): boolean => !res.destroyed && !res.writableEnded;
  const output: OutputSink = (text) => {
    if (text.length === 0 || !open()) return;
    // A client that stops reading must not make us buffer without bound.
    if (res.writableLength > MAX_BUFFERED) res.destroy();
    else res.write(`${JSON.stringify({ output: text })}\n`);
  };

  let last: object;
  try {
    last = op.final(await op.run(output, gone.signal));
  } catch (err) {
    if (!isGantryError(err) || err.status >= 500) request.log.error({ err }, 'streamed operation failed');
    last = errorLine(err);
  }
  if (open()) res.end(`${JSON.stringify(last)}\n`);
  return reply;
}
