/**
 * Splits build output into the lines shown to the pusher, with bounds: a
 * build step is user code, and one that prints without newlines (or prints
 * gigabytes) must not grow server memory or flood the push without limit.
 * Each line is cut at `maxLine` characters; after `maxOutput` characters in
 * total the splitter says so once and drops the rest of the step's output.
 * `\r` ends a line too, so progress bars show as lines instead of piling up.
 */
import { StringDecoder } from 'node:string_decoder';

/** Longest line passed on; longer ones are cut into pieces. */
export const MAX_BUILD_LINE = 16 * 1024;
/** Output passed on per step (characters); the rest is dropped with one notice. */
export const MAX_BUILD_OUTPUT = 4 * 1024 * 1024;

export interface LineSplitterLimits {
  maxLine?: number;
  maxOutput?: number;
}

export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  readonly #emit: (line: string) => void;
  readonly #maxLine: number;
  readonly #maxOutput: number;
  #rest = '';
  #emitted = 0;
  #truncated = false;

  constructor(emit: (line: string) => void, limits: LineSplitterLimits = {}) {
    this.#emit = emit;
    this.#maxLine = limits.maxLine ?? MAX_BUILD_LINE;
    this.#maxOutput = limits.maxOutput ?? MAX_BUILD_OUTPUT;
  }

  push(chunk: Buffer): void {
    if (this.#truncated) return;
    let text = this.#rest + this.#decoder.write(chunk);
    // A trailing \r may be the first half of \r\n: keep it until the next chunk.
    const re = /\r\n|\n|\r(?!$)/g;
    let start = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      this.#line(text.slice(start, m.index));
      start = m.index + m[0].length;
      if (this.#truncated) return;
    }
    text = text.slice(start);
    // No newline in sight: pass on full-length pieces now rather than buffering them.
    while (text.replace(/\r$/, '').length > this.#maxLine && !this.#truncated) {
      this.#piece(text.slice(0, this.#maxLine));
      text = text.slice(this.#maxLine);
    }
    this.#rest = this.#truncated ? '' : text;
  }

  /** Passes on a last line without newline (the step ended mid-line). */
  flush(): void {
    const rest = (this.#rest + this.#decoder.end()).replace(/\r$/, '');
    this.#rest = '';
    if (rest !== '' && !this.#truncated) this.#line(rest);
  }

  /** True once output past `maxOutput` has been dropped. */
  get truncated(): boolean {
    return this.#truncated;
  }

  #line(line: string): void {
    if (line.length === 0) return this.#piece('');
    for (let i = 0; i < line.length && !this.#truncated; i += this.#maxLine)
      this.#piece(line.slice(i, i + this.#maxLine));
  }

  #piece(piece: string): void {
    if (this.#emitted + piece.length > this.#maxOutput) {
      this.#truncated = true;
      this.#emit(
        `[output truncated: more than ${this.#maxOutput} characters; the rest of this step's output is not shown]`,
      );
      return;
    }
    this.#emitted += piece.length + 1;
    this.#emit(piece);
  }
}
