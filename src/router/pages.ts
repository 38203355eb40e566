/**
 * The router's own responses: small, self-contained error pages in Gantry's look
 * (src/ui/theme.ts), and plain-text / JSON bodies for API clients. Everything
 * dynamic is escaped; each page's CSP allows exactly its own style.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { createHash } from 'node:crypto';
import { THEME_BASE, THEME_PAGE, THEME_TOKENS, themeDocument } from '../ui/theme.js';

/** A CSP source for exactly this inline text. */
export const sha256 = (s: string): string => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export interface PageContent {
  status: number;
  /** Short headline, e.g. "App not found". */
  title: string;
  /** One or two sentences for the viewer. */
  message: string;
  /** Where the viewer can go from here (a button under the message). */
  link?: { href: string; text: string };
}

/** The look shared by every page the router renders (the text inside `<style>`): Gantry's theme. */
export const PAGE_STYLE = THEME_TOKENS + THEME_BASE + THEME_PAGE;

/** Only the page's own style: the pages have no script, image, form or frame. */
export const PAGE_CSP = `default-src 'none'; style-src ${sha256(PAGE_STYLE)}; base-uri 'none'; form-action 'none'`;

/** The parts of a page, each already HTML (escaped by the caller). */
export interface PageFrame {
  /** `<title>` text. */
  title: string;
  /** The small upper-case line above the headline. */
  label: string;
  headline: string;
  /** The paragraph's inner HTML. */
  text: string;
  /** Full text of the `<style>` element; default {@link PAGE_STYLE}. */
  style?: string;
  /** Extra elements at the end of `<head>`. */
  head?: string;
  /** Extra elements at the end of `<body>`. */
  tail?: string;
  /** Attributes of the paragraph, e.g. ` id="status"`. */
  textAttrs?: string;
  /** Extra HTML at the end of the card, e.g. action buttons. */
  actions?: string;
}

/** Renders the common frame of the router's pages. Pure. */
export function renderFrame(f: PageFrame): string {
  return themeDocument({
    title: f.title,
    main:
      `<div class="code">${f.label}</div><h1>${f.headline}</h1><p${f.textAttrs ?? ''}>${f.text}</p>` +
      (f.actions ?? ''),
    style: f.style ?? PAGE_STYLE,
    ...(f.head !== undefined ? { head: f.head } : {}),
    ...(f.tail !== undefined ? { tail: f.tail } : {}),
  });
}

/** Renders the HTML page. Pure, exported for tests. */
export function renderPage(p: PageContent): string {
  const title = escapeHtml(p.title);
  const link = p.link
    ? `<div class="g-actions"><a class="g-button primary" href="${escapeHtml(p.link.href)}">${escapeHtml(p.link.text)}</a></div>`
    : '';
  return renderFrame({
    title: `${p.status} ${title}`,
    label: `Error ${p.status}`,
    headline: title,
    text: escapeHtml(p.message),
    actions: link,
  });
}

function wantsHtml(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('text/html');
}

function wantsJson(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('application/json');
}

/**
 * Sends an error response in the form the client asked for (HTML for browsers, JSON for
 * API clients, text otherwise). Never throws; does nothing if headers were already sent.
 */
export function sendPage(
  req: IncomingMessage,
  res: ServerResponse,
  p: PageContent,
  extraHeaders?: Record<string, string>,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const accept = req.headers.accept;
  let body: string;
  let type: string;
  if (wantsHtml(accept)) {
    body = renderPage(p);
    type = 'text/html; charset=utf-8';
  } else if (wantsJson(accept)) {
    body = JSON.stringify({ error: { status: p.status, title: p.title, message: p.message } });
    type = 'application/json; charset=utf-8';
  } else {
    body = `${p.status} ${p.title}: ${p.message}\n`;
    type = 'text/plain; charset=utf-8';
  }
  const headers: Record<string, string | number> = {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...(type.startsWith('text/html') ? { 'content-security-policy': PAGE_CSP } : {}),
    ...extraHeaders,
  };
  res.writeHead(p.status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Answers on a raw socket (WebSocket upgrades, before any proxying) and closes it.
 * `extraHead` is extra header lines, each ending in CRLF (constants only).
 */
export function sendRawError(socket: Duplex, status: number, message: string, extraHead = ''): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${status} ${STATUS_CODES[status] ?? 'Error'}: ${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      extraHead +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      body,
  );
}

/** Back to the list of apps the viewer may open. */
const PORTAL = { href: '/', text: 'Go to your apps' };
/** The same address again (an empty href is the current URL, query included). */
const RETRY = { href: '', text: 'Try again' };

/** The router's standard pages. */
export const Pages = {
  badRequest: (reason: string): PageContent => ({
    status: 400,
    title: 'Bad request',
    message: `The request was refused: ${reason}.`,
  }),
  appNotFound: (app?: string): PageContent => ({
    status: 404,
    title: 'App not found',
    message: app ? `There is no app named “${app}” here.` : 'There is no app at this address.',
    link: PORTAL,
  }),
  fileNotFound: (): PageContent => ({
    status: 404,
    title: 'Not found',
    message: 'This page does not exist in the app.',
  }),
  notRunning: (app: string): PageContent => ({
    status: 503,
    title: 'App is not running',
    message: `“${app}” has no running web process right now. Try again in a few seconds.`,
    link: RETRY,
  }),
  badGateway: (app: string): PageContent => ({
    status: 502,
    title: 'App did not answer',
    message: `“${app}” could not be reached or closed the connection. Try again in a moment.`,
    link: RETRY,
  }),
  gatewayTimeout: (app: string): PageContent => ({
    status: 504,
    title: 'App took too long',
    message: `“${app}” did not answer in time.`,
    link: RETRY,
  }),
  loginRequired: (): PageContent => ({
    status: 401,
    title: 'Login required',
    message: 'Log in to Gantry, or send an API token (Authorization: Bearer gty_…), to open this app.',
  }),
  badToken: (): PageContent => ({
    status: 401,
    title: 'Invalid token',
    message: 'The API token is unknown, revoked or expired. Create a new one with `gantry tokens:create`.',
  }),
  asleep: (app: string): PageContent => ({
    status: 503,
    title: 'App is asleep',
    message: `“${app}” is asleep. It starts when a person opens it.`,
  }),
  stillStarting: (app: string): PageContent => ({
    status: 503,
    title: 'App is still starting',
    message: `“${app}” is still starting. Try again in a few seconds.`,
    link: RETRY,
  }),
  wakeQueueFull: (app: string): PageContent => ({
    status: 503,
    title: 'App is starting',
    message: `“${app}” is starting and too many requests are already waiting for it. Try again in a few seconds.`,
    link: RETRY,
  }),
  wakeFailed: (app: string, reason: string): PageContent => ({
    status: 503,
    title: 'App failed to start',
    message: `“${app}” could not be started: ${reason}`,
  }),
  methodNotAllowed: (): PageContent => ({
    status: 405,
    title: 'Method not allowed',
    message: 'Static sites answer GET and HEAD only.',
  }),
};
