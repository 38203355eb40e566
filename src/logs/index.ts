/**
 * App log capture: an in-memory ring per app for `logs -n` and `logs -f`,
 * plus an append-only file per app (rotated by size) so logs survive restarts.
 */
import { appendFile, mkdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log/index.js';
import type { LogLine } from '../runtime/types.js';

export type { LogLine, LogSink } from '../runtime/types.js';

export interface LogStoreOptions {
  dir: string;
  logger: Logger;
  /** Lines kept in memory per app. */
  ringSize?: number;
  /** Rotate the file when it grows past this many bytes. */
  maxFileBytes?: number;
}

/** `2026-11-22T15:04:05.123Z sales.web.1: text` — the format of files, API and CLI. */
export function formatLogLine(l: LogLine): string {
  return `${l.time.toISOString()} ${l.process}: ${l.text}`;
}

export function parseLogLine(app: string, s: string): LogLine | undefined {
  const m = /^(\S+) ([^:\s]+): (.*)$/.exec(s);
  if (!m) return undefined;
  const time = new Date(m[1]!);
  if (Number.isNaN(time.getTime())) return undefined;
  return { app, time, process: m[2]!, stream: 'stdout', text: m[3]! };
}

export class LogStore {
  readonly #dir: string;
  readonly #logger: Logger;
  readonly #ringSize: number;
  readonly #maxFileBytes: number;
  readonly #rings = new Map<string, LogLine[]>();
  readonly #listeners = new Map<string, Set<(l: LogLine) => void>>();
  /** Pending file writes per app, flushed in batches so a chatty app costs one write per tick. */
  readonly #pending = new Map<string, string[]>();
  /** File writes run one after another on this chain (appends to one file must not interleave). */
  #chain: Promise<void> = Promise.resolve();
  /** A write is queued on the chain and has not taken the pending lines yet. */
  #scheduled = false;

  constructor(opts: LogStoreOptions) {
    this.#dir = opts.dir;
    this.#logger = opts.logger;
    this.#ringSize = opts.ringSize ?? 5000;
    this.#maxFileBytes = opts.maxFileBytes ?? 10 * 1024 * 1024;
  }

  /** The LogSink handed to the runtime. */
  readonly append = (line: LogLine): void => {
    let ring = this.#rings.get(line.app);
    if (!ring) this.#rings.set(line.app, (ring = []));
    ring.push(line);
    if (ring.length > this.#ringSize) ring.splice(0, ring.length - this.#ringSize);
    const ls = this.#listeners.get(line.app);
    if (ls) for (const l of ls) l(line);
    let p = this.#pending.get(line.app);
    if (!p) this.#pending.set(line.app, (p = []));
    p.push(formatLogLine(line) + '\n');
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#chain = this.#chain
      .then(() => new Promise<void>((r) => setImmediate(r)))
      .then(() => this.#flush())
      .catch((e: unknown) => this.#logger.error({ err: e }, 'cannot write app logs'));
  };

  async #flush(): Promise<void> {
    const batches = [...this.#pending];
    this.#pending.clear();
    this.#scheduled = false;
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    for (const [app, lines] of batches) {
      const file = join(this.#dir, `${app}.log`);
      try {
        const st = await stat(file).catch(() => undefined);
        if (st && st.size > this.#maxFileBytes) await rename(file, `${file}.1`);
        await appendFile(file, lines.join(''), { mode: 0o600 });
      } catch (e) {
        this.#logger.error({ err: e, app }, 'cannot write app log');
      }
    }
  }

  /** Waits for pending file writes (tests, shutdown). */
  async flush(): Promise<void> {
    let c: Promise<void>;
    do {
      c = this.#chain;
      await c;
    } while (c !== this.#chain);
  }

  /** Last `n` lines, oldest first. Falls back to the file after a restart. */
  async tail(app: string, n: number): Promise<LogLine[]> {
    const ring = this.#rings.get(app);
    if (ring && ring.length >= n) return ring.slice(-n);
    await this.flush();
    try {
      const text = await readFile(join(this.#dir, `${app}.log`), 'utf8');
      const lines = text.split('\n').filter(Boolean).slice(-n);
      return lines.map((s) => parseLogLine(app, s)).filter((l): l is LogLine => l !== undefined);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return ring ? ring.slice(-n) : [];
      throw e;
    }
  }

  subscribe(app: string, listener: (l: LogLine) => void): () => void {
    let set = this.#listeners.get(app);
    if (!set) this.#listeners.set(app, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Writes a platform line (deploys, scaling) into the app's log. */
  system(app: string, text: string, process = `${app}.gantry`): void {
    this.append({ app, process, stream: 'system', time: new Date(), text });
  }

  async forget(app: string): Promise<void> {
    await this.flush();
    this.#rings.delete(app);
    this.#listeners.delete(app);
    const { rm } = await import('node:fs/promises');
    await rm(join(this.#dir, `${app}.log`), { force: true });
    await rm(join(this.#dir, `${app}.log.1`), { force: true });
  }
}
