/**
 * One picture of one page: an isolated browser context, the page loaded, the
 * network given time to go quiet (data apps draw after `load`, from XHR and
 * WebSocket traffic), a screenshot, and the context closed whatever happened.
 */
import { errors, type Browser as PwBrowser, type BrowserContext, type Page } from 'playwright-core';
import type { Logger } from '../log/index.js';
import { GantryError } from '../errors/index.js';

export interface CaptureCookie {
  name: string;
  value: string;
  /** Where the cookie applies: a URL, or a domain (with an optional path, default `/`). Default: the captured URL's host, path `/`. */
  url?: string;
  domain?: string;
  path?: string;
}

export interface CaptureOptions {
  url: string;
  /** Set in a fresh context before loading, so captures never share cookies. */
  cookies?: CaptureCookie[];
  viewport?: { width: number; height: number };
  /** How long the page may take to load (`load` event) before the capture fails. */
  timeoutMs?: number;
  /** How long the network must stay quiet (no request in flight, no WebSocket frame) after `load`. */
  settleMs?: number;
  /** Longest wait for quiet: an app that polls or streams is captured anyway after this. */
  maxSettleMs?: number;
  /** JPEG for thumbnails; PNG (lossless) lets tests read exact pixels. */
  format?: 'jpeg' | 'png';
  /**
   * A URL prefix: same-origin requests outside it are refused. The capture may
   * carry the owner's session, and the app's own scripts must not be able to use
   * it against the rest of the server (the API lives on the same origin).
   */
  confineTo?: string;
}

export const CAPTURE_DEFAULTS = {
  viewport: { width: 1280, height: 800 },
  timeoutMs: 20_000,
  settleMs: 500,
  maxSettleMs: 8_000,
  jpegQuality: 80,
} as const;

/** `1.5 s`, `20 s`. */
const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';

/** Loads `opts.url` in a new context of `browser` and returns the screenshot. Errors are GantryErrors. */
export async function capture(browser: PwBrowser, opts: CaptureOptions, logger: Logger): Promise<Buffer> {
  const timeoutMs = opts.timeoutMs ?? CAPTURE_DEFAULTS.timeoutMs;
  const deadline = Date.now() + timeoutMs;
  let context: BrowserContext;
  try {
    context = await browser.newContext({
      viewport: opts.viewport ?? CAPTURE_DEFAULTS.viewport,
      deviceScaleFactor: 1,
      acceptDownloads: false,
      // A service worker would answer requests where neither the quiet check nor confineTo sees them.
      serviceWorkers: 'block',
    });
  } catch (e) {
    throw new GantryError('GANTRY_INTERNAL', `the browser could not open a page: ${firstLine(e)}`, {
      cause: e,
    });
  }
  try {
    if (opts.confineTo !== undefined) await confine(context, opts.confineTo);
    if (opts.cookies?.length) await context.addCookies(opts.cookies.map((c) => cookieFor(c, opts.url)));
    const page = await context.newPage();
    page.on('dialog', (d) => {
      // An alert() would otherwise hold the page until the timeout.
      d.dismiss().catch((err: unknown) => logger.debug({ err }, 'dismissing a dialog failed'));
    });
    const network = watchNetwork(page);
    let response;
    try {
      response = await page.goto(opts.url, { waitUntil: 'load', timeout: timeoutMs });
    } catch (e) {
      throw loadError(e, timeoutMs);
    }
    const status = response?.status() ?? 0;
    if (status >= 500) {
      // A gateway or app error page must not replace a good picture.
      throw new GantryError(
        'GANTRY_HEALTHCHECK_FAILED',
        `the app answered HTTP ${status}, so no picture was taken`,
      );
    }
    const settleCap = Math.min(opts.maxSettleMs ?? CAPTURE_DEFAULTS.maxSettleMs, deadline - Date.now());
    await network.settled(opts.settleMs ?? CAPTURE_DEFAULTS.settleMs, settleCap);
    await painted(page, logger);
    const format = opts.format ?? 'jpeg';
    return await page.screenshot({
      type: format,
      ...(format === 'jpeg' ? { quality: CAPTURE_DEFAULTS.jpegQuality } : {}),
      timeout: Math.max(deadline - Date.now(), 5_000),
      caret: 'hide',
    });
  } catch (e) {
    if (e instanceof GantryError) throw e;
    throw new GantryError('GANTRY_INTERNAL', `taking the picture failed: ${firstLine(e)}`, { cause: e });
  } finally {
    await context.close().catch((err: unknown) => logger.warn({ err }, 'closing a capture context failed'));
  }
}

function loadError(e: unknown, timeoutMs: number): GantryError {
  if (e instanceof errors.TimeoutError) {
    return new GantryError(
      'GANTRY_HEALTHCHECK_FAILED',
      `the app did not answer within ${seconds(timeoutMs)}`,
    );
  }
  const msg = firstLine(e);
  if (msg.includes('ERR_CONNECTION_REFUSED')) {
    return new GantryError('GANTRY_HEALTHCHECK_FAILED', 'the app refused the connection; is it running?');
  }
  return new GantryError('GANTRY_HEALTHCHECK_FAILED', `the app could not be loaded: ${msg}`, { cause: e });
}

function cookieFor(c: CaptureCookie, pageUrl: string) {
  const base = { name: c.name, value: c.value, httpOnly: true, sameSite: 'Lax' as const };
  if (c.url !== undefined) return { ...base, url: c.url };
  const u = new URL(pageUrl);
  // Chromium only keeps prefixed cookies when they are Secure; it still sends them to loopback over http.
  const secure = u.protocol === 'https:' || /^__(Host|Secure)-/.test(c.name);
  return { ...base, domain: c.domain ?? u.hostname, path: c.path ?? '/', secure };
}

/**
 * Loopback, link-local (cloud metadata), unspecified and `localhost` names:
 * services on the server's own network that a screenshot must not show.
 */
export function isLocalHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (/^(127\.|169\.254\.|0\.)/.test(h) || h === '0.0.0.0') return true;
  // IPv6: loopback, unspecified, link-local, and IPv4-mapped forms of the above.
  if (h === '::1' || h === '::' || /^fe[89ab][0-9a-f]:/.test(h)) return true;
  const mapped = /^::ffff:(.+)$/.exec(h);
  return mapped !== null && (isLocalHost(mapped[1]!) || /^(7f|a9fe|0:)/.test(mapped[1]!));
}

async function confine(context: BrowserContext, prefix: string): Promise<void> {
  const scope = new URL(prefix);
  const dir = scope.pathname.endsWith('/') ? scope.pathname : `${scope.pathname}/`;
  // By host, not origin: a WebSocket (ws://) to the same server carries the cookie too.
  // Cookies ignore ports, so every other port of the same host would receive the
  // session (an app's own backend listens on one); other local addresses are
  // refused so the app cannot screenshot services only the server can reach.
  const outside = (u: URL) =>
    u.host === scope.host
      ? !(u.pathname.startsWith(dir) || u.pathname === dir.slice(0, -1))
      : u.hostname === scope.hostname || isLocalHost(u.hostname);
  await context.route(outside, (route) => route.abort('blockedbyclient'));
  await context.routeWebSocket(outside, (ws) => ws.close({ code: 1008, reason: 'outside the app' }));
}

/** Waits for two animation frames, so DOM changes from the last response are on screen. */
async function painted(page: Page, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    page
      .evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))')
      // The page navigated meanwhile (a redirect by script): the screenshot shows where it went.
      .catch((err: unknown) => logger.debug({ err }, 'waiting for a paint failed')),
    // A page that never paints (hidden, hung script) still gets its picture taken.
    new Promise((r) => (timer = setTimeout(r, 1_000))),
  ]);
  clearTimeout(timer);
}

/**
 * Tracks requests in flight and the time of the last network activity
 * (request start or end, WebSocket frame). An open WebSocket is not "in
 * flight" — only its frames count — so a live connection cannot block forever.
 */
export function watchNetwork(page: Page): { settled(quietMs: number, capMs: number): Promise<boolean> } {
  const inFlight = new Set<unknown>();
  let last = Date.now();
  const start = (r: unknown) => {
    inFlight.add(r);
    last = Date.now();
  };
  const end = (r: unknown) => {
    inFlight.delete(r);
    last = Date.now();
  };
  page.on('request', start);
  page.on('requestfinished', end);
  page.on('requestfailed', end);
  page.on('websocket', (ws) => {
    const bump = () => (last = Date.now());
    ws.on('framereceived', bump);
    ws.on('framesent', bump);
  });
  return {
    /** True when the network went quiet, false when the cap was reached first. */
    async settled(quietMs, capMs) {
      const cap = Date.now() + Math.max(capMs, 0);
      for (;;) {
        const now = Date.now();
        if (inFlight.size === 0 && now - last >= quietMs) return true;
        if (now >= cap) return false;
        const wait = inFlight.size === 0 ? last + quietMs - now : 50;
        await new Promise((r) => setTimeout(r, Math.max(10, Math.min(wait, cap - now))));
      }
    },
  };
}
