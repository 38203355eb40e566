/**
 * Splits a byte stream into log lines. Multi-byte characters split across
 * chunks stay intact; a line longer than `maxLine` bytes-ish (UTF-16 units)
 * is cut into pieces so one runaway write cannot grow memory without bound.
 */
import { StringDecoder } from 'node:string_decoder';

export const MAX_LINE = 16 * 1024;

export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  readonly #emit: (line: string) => void;
  readonly #max: number;
  #partial = '';

  constructor(emit: (line: string) => void, maxLine = MAX_LINE) {
    this.#emit = emit;
    this.#max = maxLine;
  }

  push(chunk: Buffer): void {
    let text = this.#partial + this.#decoder.write(chunk);
    let nl: number;
    while ((nl = text.indexOf('\n')) !== -1) {
      this.#emitCapped(text.slice(0, nl).replace(/\r$/, ''));
      text = text.slice(nl + 1);
    }
    while (text.length > this.#max) {
      this.#emit(text.slice(0, this.#max));
      text = text.slice(this.#max);
    }
    this.#partial = text;
  }

  /** Flushes a trailing line without newline (the process exited mid-line). */
  end(): void {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    if (rest.length > 0) this.#emitCapped(rest);
  }

  #emitCapped(line: string): void {
    for (let i = 0; i < line.length || i === 0; i += this.#max) this.#emit(line.slice(i, i + this.#max));
  }
}

/** Keeps the last `max` characters of a text stream (one-off output). */
export class TailBuffer {
  readonly #max: number;
  #text = '';

  constructor(max = 64 * 1024) {
    this.#max = max;
  }

  append(s: string): void {
    this.#text += s;
    if (this.#text.length > 2 * this.#max) this.#text = this.#text.slice(-this.#max);
  }

  toString(): string {
    return this.#text.slice(-this.#max);
  }
}
