/**
 * The router's own responses: small, self-contained error pages with one look, and
 * plain-text / JSON bodies for API clients. Everything dynamic is escaped.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

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
}

/** The look shared by every page the router renders (the text inside `<style>`). */
export const PAGE_STYLE = `
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f6f7f9;color:#1f2933;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:32rem;margin:2rem;padding:2rem 2.5rem;background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.08),0 8px 24px rgba(0,0,0,.06)}
.code{font-size:.85rem;font-weight:600;letter-spacing:.08em;color:#7b8794;text-transform:uppercase}
h1{margin:.25rem 0 .75rem;font-size:1.5rem}
p{margin:0;color:#52606d}
footer{margin-top:1.5rem;font-size:.8rem;color:#9aa5b1}
`;

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
}

/** Renders the common frame of the router's pages. Pure. */
export function renderFrame(f: PageFrame): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${f.title}</title>${f.head ?? ''}
<style>${f.style ?? PAGE_STYLE}</style></head>
<body><main><div class="code">${f.label}</div><h1>${f.headline}</h1><p${f.textAttrs ?? ''}>${f.text}</p><footer>Gantry</footer></main>${f.tail ?? ''}</body></html>
`;
}

/** Renders the HTML page. Pure, exported for tests. */
export function renderPage(p: PageContent): string {
  const title = escapeHtml(p.title);
  return renderFrame({
    title: `${p.status} ${title}`,
    label: `Error ${p.status}`,
    headline: title,
    text: escapeHtml(p.message),
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
  }),
  badGateway: (app: string): PageContent => ({
    status: 502,
    title: 'App did not answer',
    message: `“${app}” could not be reached or closed the connection. Try again in a moment.`,
  }),
  gatewayTimeout: (app: string): PageContent => ({
    status: 504,
    title: 'App took too long',
    message: `“${app}” did not answer in time.`,
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
  }),
  wakeQueueFull: (app: string): PageContent => ({
    status: 503,
    title: 'App is starting',
    message: `“${app}” is starting and too many requests are already waiting for it. Try again in a few seconds.`,
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
