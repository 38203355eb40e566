/**
 * Line prompts on the injected stdin: one shared line reader (so piped input
 * like `printf 'admin\nsecret\n' | gantry login URL` feeds successive
 * prompts), and no echo for secrets when stdin is a terminal.
 */
import { createInterface, type Interface } from 'node:readline';
import { Writable } from 'node:stream';
import type { CliIo } from './io.js';

export class Prompter {
  readonly #io: CliIo;
  #rl: Interface | undefined;
  #lines: AsyncIterator<string> | undefined;
  #muted = false;

  constructor(io: CliIo) {
    this.#io = io;
  }

  #reader(): AsyncIterator<string> {
    if (!this.#lines) {
      const io = this.#io;
      // Echo goes through here so it can be switched off while a secret is typed.
      const echo = new Writable({
        write: (chunk: Buffer, _enc, done) => {
          if (!this.#muted) io.stderr.write(chunk.toString());
          done();
        },
      });
      this.#rl = createInterface({ input: io.stdin, output: echo, terminal: io.stdin.isTTY === true });
      this.#lines = this.#rl[Symbol.asyncIterator]();
    }
    return this.#lines;
  }

  /** Asks on stderr, reads one line. Throws if input ends first. */
  async ask(question: string, opts: { secret?: boolean } = {}): Promise<string> {
    const lines = this.#reader();
    this.#io.stderr.write(question);
    this.#muted = opts.secret === true;
    try {
      const next = await lines.next();
      if (next.done) throw new Error(`no answer to "${question.trim()}" (stdin closed)`);
      return next.value;
    } finally {
      // A terminal echoes the Enter key, unless muted; piped answers are not echoed at all.
      if (this.#muted || !this.#io.stdin.isTTY) this.#io.stderr.write('\n');
      this.#muted = false;
    }
  }

  close(): void {
    this.#rl?.close();
  }
}
