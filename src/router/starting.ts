/**
 * The "Starting NAME…" page a browser gets when it opens a sleeping app. Its script asks
 * for the same URL again with `X-Gantry-Wait: 1`, which the router holds until the app
 * is ready, then reloads: the app opens the moment it can answer, with no polling delay.
 * The script and style are constants, allowed by hash in the page's own CSP.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml, PAGE_STYLE, renderFrame, sha256 } from './pages.js';

/** The request header that marks the page's own fetch (held, never answered with this page). */
export const WAIT_HEADER = 'x-gantry-wait';
/** Response header on the 503 that says the wake failed (the script stops retrying). */
export const WAKE_FAILED_HEADER = 'x-gantry-wake';

/** How long the page keeps trying before it gives up with a message. */
const GIVE_UP_MS = 120_000;

export const STARTING_SCRIPT = `
(function () {
  var status = document.getElementById('gantry-status');
  var started = Date.now();
  function say(text) { status.textContent = text; }
  function later() {
    if (Date.now() - started > ${GIVE_UP_MS}) {
      say('The app is taking too long to start. Reload the page to try again.');
      return;
    }
    setTimeout(wait, 2000);
  }
  function wait() {
    fetch(location.href, { headers: { 'X-Gantry-Wait': '1', Accept: 'application/json' }, cache: 'no-store' }).then(
      function (r) {
        if (r.headers.get('${WAKE_FAILED_HEADER}') === 'failed') {
          return r.json().then(function (b) { say(b.error.message + ' Reload the page to try again.'); }, later);
        }
        if (r.status === 503) return later();
        location.reload();
      },
      later
    );
  }
  wait();
})();
`;

/** The theme, whose `.g-spin` spinner follows the light and dark accent colours. */
export const STARTING_STYLE = PAGE_STYLE;

/** Only the page's own script and style, and fetches to its own origin. */
export const STARTING_CSP =
  `default-src 'none'; script-src ${sha256(STARTING_SCRIPT)}; style-src ${sha256(STARTING_STYLE)}; ` +
  "connect-src 'self'; base-uri 'none'; form-action 'none'";

/** The page for app `app`. Pure, exported for tests. */
export function renderStartingPage(app: string): string {
  const name = escapeHtml(app);
  return renderFrame({
    title: `Starting ${name}…`,
    label: '<span class="g-spin" aria-hidden="true"></span>Starting',
    headline: `Starting ${name}…`,
    text: 'The app was asleep. It opens here as soon as it is ready.',
    textAttrs: ' id="gantry-status" role="status" aria-live="polite"',
    style: STARTING_STYLE,
    head: '\n<noscript><meta http-equiv="refresh" content="5"></noscript>',
    tail: `<script>${STARTING_SCRIPT}</script>`,
  });
}

/** A browser navigation to a sleeping app: 503 with the starting page (HEAD: no body). */
export function sendStartingPage(req: IncomingMessage, res: ServerResponse, app: string): void {
  const body = renderStartingPage(app);
  res.writeHead(503, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'retry-after': '2',
    'content-security-policy': STARTING_CSP,
    'x-content-type-options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** GET/HEAD asking for HTML, not the starting page's own fetch: a person opening the app. */
export function isNavigation(req: IncomingMessage): boolean {
  return (
    (req.method === 'GET' || req.method === 'HEAD') &&
    req.headers.accept?.includes('text/html') === true &&
    req.headers[WAIT_HEADER] === undefined
  );
}
