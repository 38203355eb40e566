/**
 * The headless Chromium that takes thumbnails: found once, launched on first
 * use, shared by captures, closed when idle. Never downloads a browser — it
 * uses the one the host has, or thumbnails are simply unavailable.
 */
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser as PwBrowser, type LaunchOptions } from 'playwright-core';
import type { Logger } from '../log/index.js';
import { GantryError } from '../errors/index.js';
import { capture, type CaptureOptions } from './capture.js';

export const CHROMIUM_CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
];

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

const runnable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false; // missing or not executable: both mean "not this one"
  }
};

/**
 * The Chromium to use: `executablePath`, else `$GANTRY_CHROMIUM`, else the first
 * runnable candidate. An explicit path that does not run is not replaced by a
 * guess: the operator asked for that one, so they are told it is missing.
 */
export function findChromium(
  opts: { executablePath?: string; env?: NodeJS.ProcessEnv; candidates?: string[] } = {},
): { path: string } | { reason: string } {
  const env = opts.env ?? process.env;
  const explicit = opts.executablePath ?? (env.GANTRY_CHROMIUM || undefined);
  if (explicit !== undefined) {
    const from = opts.executablePath !== undefined ? 'executablePath' : 'GANTRY_CHROMIUM';
    return runnable(explicit)
      ? { path: explicit }
      : { reason: `${explicit} (${from}) is not an executable file` };
  }
  const candidates = opts.candidates ?? CHROMIUM_CANDIDATES;
  const found = candidates.find(runnable);
  return found !== undefined
    ? { path: found }
    : { reason: `no Chromium at ${candidates.join(', ')}; install chromium or set GANTRY_CHROMIUM` };
}

export interface BrowserOptions {
  logger: Logger;
  /** Overrides GANTRY_CHROMIUM and the usual install locations. */
  executablePath?: string;
  /** The browser is closed after this long without a capture (default 60 s). */
  idleMs?: number;
  /** Starts the browser (default: playwright's chromium.launch). Tests count or wrap launches here. */
  launch?: (options: LaunchOptions) => Promise<PwBrowser>;
  env?: NodeJS.ProcessEnv;
}

export class Browser {
  readonly #logger: Logger;
  readonly #path: string | undefined;
  readonly #idleMs: number;
  readonly #launch: (options: LaunchOptions) => Promise<PwBrowser>;
  #browser: PwBrowser | undefined;
  #launching: Promise<PwBrowser> | undefined;
  #idle: NodeJS.Timeout | undefined;
  #active = 0;
  #closed = false;

  constructor(opts: BrowserOptions) {
    this.#logger = opts.logger;
    this.#idleMs = opts.idleMs ?? 60_000;
    this.#launch = opts.launch ?? ((o) => chromium.launch(o));
    const found = findChromium({ executablePath: opts.executablePath, env: opts.env });
    if ('path' in found) {
      this.#path = found.path;
    } else {
      this.#logger.warn({ reason: found.reason }, 'app thumbnails are off: no headless browser');
    }
  }

  /** False when no Chromium was found: captures then fail with GANTRY_UNSUPPORTED. */
  get available(): boolean {
    return this.#path !== undefined;
  }

  /** A picture of `opts.url` (JPEG unless `format` says otherwise), launching the browser if needed. */
  async capturePage(opts: CaptureOptions): Promise<Buffer> {
    if (this.#path === undefined) {
      throw new GantryError(
        'GANTRY_UNSUPPORTED',
        'app pictures need Chromium on the server: install the chromium package or set GANTRY_CHROMIUM',
      );
    }
    if (this.#closed)
      throw new GantryError('GANTRY_CONFLICT', 'the server is shutting down; try again later');
    this.#active++;
    clearTimeout(this.#idle);
    try {
      return await capture(await this.#acquire(this.#path), opts, this.#logger);
    } finally {
      this.#active--;
      if (this.#active === 0) this.#armIdle();
    }
  }

  /** Closes the browser (waiting for a launch in progress); later captures are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#idle);
    if (this.#launching) {
      // Its result is closed just below (or it failed and there is nothing to close).
      await this.#launching.catch((err: unknown) =>
        this.#logger.debug({ err }, 'launch failed during close'),
      );
    }
    await this.#closeBrowser();
  }

  #acquire(path: string): Promise<PwBrowser> {
    if (this.#browser?.isConnected()) return Promise.resolve(this.#browser);
    // Concurrent callers share one launch.
    this.#launching ??= this.#start(path).finally(() => (this.#launching = undefined));
    return this.#launching;
  }

  async #start(path: string): Promise<PwBrowser> {
    const started = Date.now();
    let b: PwBrowser;
    try {
      b = await this.#launch({ executablePath: path, headless: true, args: CHROMIUM_ARGS });
    } catch (e) {
      const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
      throw new GantryError('GANTRY_INTERNAL', `headless Chromium (${path}) did not start: ${why}`, {
        cause: e,
      });
    }
    b.on('disconnected', () => {
      // Crashed or closed: the next capture launches a new one.
      if (this.#browser === b) this.#browser = undefined;
      this.#logger.debug('thumbnail browser disconnected');
    });
    this.#browser = b;
    this.#logger.info({ path, ms: Date.now() - started }, 'thumbnail browser started');
    return b;
  }

  #armIdle(): void {
    clearTimeout(this.#idle);
    if (this.#closed) return;
    this.#idle = setTimeout(() => {
      this.#idle = undefined;
      if (this.#active === 0) void this.#closeBrowser();
    }, this.#idleMs);
    // An idle browser must not keep the process alive.
    this.#idle.unref();
  }

  async #closeBrowser(): Promise<void> {
    const b = this.#browser;
    this.#browser = undefined;
    if (!b) return;
    await b
      .close()
      .catch((err: unknown) => this.#logger.warn({ err }, 'closing the thumbnail browser failed'));
  }
}
