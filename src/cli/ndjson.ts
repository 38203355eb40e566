/**
 * Reading the API's NDJSON streams (`run`, `cron:run`): bytes arrive in
 * arbitrary chunks, so a line (or a UTF-8 character) may be split across
 * them; a message is only parsed once its line is complete.
 */
import type { CronRunInfo } from '../api/index.js';

/** One line of a run stream (see src/api/ndjson.ts). */
export type StreamMessage =
  | { output: string }
  | { exit: { code: number | null; signal: string | null } }
  | { run: CronRunInfo }
  | { error: { code: string; message: string } };

export class NdjsonDecoder {
  readonly #decoder = new TextDecoder();
  #partial = '';

  /** The messages completed by this chunk. */
  push(chunk: Uint8Array): StreamMessage[] {
    const lines = (this.#partial + this.#decoder.decode(chunk, { stream: true })).split('\n');
    this.#partial = lines.pop() ?? '';
    return lines.flatMap(parseLine);
  }

  /**
   * What is left when the stream ends: a last line without its newline. The server ends
   * every line with one, so a tail that is not JSON is a line cut off with the connection:
   * it is dropped, and the caller sees a stream without its outcome.
   */
  end(): StreamMessage[] {
    const rest = this.#partial + this.#decoder.decode();
    this.#partial = '';
    try {
      return parseLine(rest);
    } catch {
      return [];
    }
  }
}

function parseLine(line: string): StreamMessage[] {
  if (line.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error(`unexpected reply from the server: ${line.slice(0, 80)}`);
  }
  // Kinds of lines a newer server may add are skipped, not fatal.
  const known = ['output', 'exit', 'run', 'error'];
  if (typeof value !== 'object' || value === null || !known.some((k) => k in value)) return [];
  return [value as StreamMessage];
}

/** The messages of a streamed response body, as they complete. */
export async function* ndjsonMessages(body: AsyncIterable<Uint8Array> | null): AsyncGenerator<StreamMessage> {
  if (!body) return;
  const decoder = new NdjsonDecoder();
  for await (const chunk of body) yield* decoder.push(chunk);
  yield* decoder.end();
}
