/**
 * Automatic app pictures: after a deploy the platform calls schedule(app); a
 * background worker opens the app as its owner would see it and hands the
 * picture to the platform. One capture at a time, so a burst of deploys never
 * runs a crowd of browser pages on the host.
 */
import type { Logger } from '../log/index.js';
import { GantryError } from '../errors/index.js';
import type { CaptureOptions } from './capture.js';

/**
 * What the platform needs from a thumbnail taker (src/deploy/platform.ts declares
 * the same shape; this module does not import the platform).
 */
export interface ThumbnailJobs {
  /** Queue a background capture of `app` (after a deploy). Never throws; a no-op when !available. */
  schedule(app: string): void;
  /** Capture `app` now and return the picture without storing it. GANTRY_UNSUPPORTED when !available. */
  captureNow(app: string): Promise<{ image: Buffer; contentType: 'image/jpeg' | 'image/png' }>;
  /** False when the host has no browser to take pictures with. */
  readonly available: boolean;
}

/** A short-lived session of the app's owner, ended once the picture is taken. */
export interface OwnerSession {
  cookie: { name: string; value: string };
  end(): Promise<void>;
}

export interface ThumbnailServiceOptions {
  browser: {
    readonly available: boolean;
    capturePage(opts: CaptureOptions): Promise<Buffer>;
    close(): Promise<void>;
  };
  logger: Logger;
  /** The app's URL on the server's own loopback address, e.g. `http://127.0.0.1:PORT/apps/NAME/`. */
  appUrl(app: string): string;
  /** A session of the app's owner, or null to capture anonymously (no owner, or a public app). */
  sessionFor(app: string): Promise<OwnerSession | null>;
  /** Saves a background capture (captureNow leaves storing to its caller). */
  store(app: string, image: Buffer, contentType: 'image/jpeg'): Promise<unknown>;
  /** Wait between schedule() and the capture: the deploy has only just switched (default 1500 ms). */
  delayMs?: number;
  /** How long an app may take to load (default 20 s). */
  timeoutMs?: number;
}

export class ThumbnailService implements ThumbnailJobs {
  readonly #o: ThumbnailServiceOptions;
  readonly #delayMs: number;
  /** Apps waiting for a background capture → when it is due; insertion order is due order. */
  readonly #queue = new Map<string, number>();
  /** Every capture (queued or captureNow) runs after the previous one. */
  #tail: Promise<unknown> = Promise.resolve();
  #worker: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(opts: ThumbnailServiceOptions) {
    this.#o = opts;
    this.#delayMs = opts.delayMs ?? 1_500;
  }

  get available(): boolean {
    return this.#o.browser.available;
  }

  schedule(app: string): void {
    if (this.#closed || !this.available || this.#queue.has(app)) return;
    this.#queue.set(app, Date.now() + this.#delayMs);
    this.#worker ??= this.#drain();
  }

  async captureNow(app: string): Promise<{ image: Buffer; contentType: 'image/jpeg' }> {
    if (!this.available) {
      throw new GantryError(
        'GANTRY_UNSUPPORTED',
        'app pictures need Chromium on the server: install the chromium package or set GANTRY_CHROMIUM',
      );
    }
    if (this.#closed)
      throw new GantryError('GANTRY_CONFLICT', 'the server is shutting down; try again later');
    const image = await this.#serial(() => {
      // This picture is as fresh as a queued one would be.
      this.#queue.delete(app);
      return this.#capture(app);
    });
    return { image, contentType: 'image/jpeg' };
  }

  /** Waits for the capture in progress, drops the queue and closes the browser. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.clear();
    this.#wake?.();
    await this.#worker;
    await this.#tail;
    await this.#o.browser.close();
  }

  async #drain(): Promise<void> {
    try {
      await this.#loop();
    } catch (err) {
      // Not expected (each capture handles its own failure); the next schedule() starts afresh.
      this.#o.logger.error({ err }, 'the thumbnail worker stopped');
      this.#worker = undefined;
    }
  }

  /** Runs until the queue is empty; clears #worker in the step that finds it empty, so schedule() never relies on a worker that has stopped. */
  async #loop(): Promise<void> {
    for (;;) {
      const next = this.#queue.entries().next();
      if (next.done || this.#closed) {
        this.#worker = undefined;
        return;
      }
      const [app, due] = next.value;
      if (due > Date.now()) {
        await this.#sleep(due - Date.now());
        continue; // the queue may have changed (close, captureNow) while waiting
      }
      // Taken off before capturing: a deploy during the capture queues a new one.
      this.#queue.delete(app);
      await this.#serial(async () => {
        const started = Date.now();
        try {
          const image = await this.#capture(app);
          await this.#o.store(app, image, 'image/jpeg');
          this.#o.logger.info(
            { app, bytes: image.length, ms: Date.now() - started },
            'app thumbnail captured',
          );
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          this.#o.logger.warn({ app, err: message }, 'capturing the app thumbnail failed');
        }
      });
    }
  }

  async #capture(app: string): Promise<Buffer> {
    const url = this.#o.appUrl(app);
    const session = await this.#o.sessionFor(app);
    try {
      return await this.#o.browser.capturePage({
        url,
        cookies: session ? [{ name: session.cookie.name, value: session.cookie.value }] : [],
        timeoutMs: this.#o.timeoutMs,
        // The owner's session is in this browser: keep the app's scripts inside the app.
        confineTo: url,
      });
    } finally {
      if (session) {
        await session
          .end()
          .catch((err: unknown) => this.#o.logger.warn({ app, err }, 'ending the thumbnail session failed'));
      }
    }
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    // The chain only orders work; each caller gets (and handles) its own result.
    this.#tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** A wait that close() can cut short. */
  async #sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
    this.#wake = undefined;
  }
}
