/**
 * Answers for requests the gate refused, in the form each client understands: browsers
 * are sent to the login page, API clients get 401 with a Bearer challenge, and a hidden
 * app answers exactly like a missing one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { GateVerdict } from '../gate/index.js';
import { Pages, sendPage, sendRawError } from './pages.js';

export type Refusal = Exclude<GateVerdict['kind'], 'allow'>;

const LOGIN_CHALLENGE = { 'www-authenticate': 'Bearer realm="gantry"' };
const BAD_TOKEN_CHALLENGE = { 'www-authenticate': 'Bearer realm="gantry", error="invalid_token"' };
const RAW_LOGIN_CHALLENGE = 'WWW-Authenticate: Bearer realm="gantry"\r\n';
const RAW_BAD_TOKEN_CHALLENGE = 'WWW-Authenticate: Bearer realm="gantry", error="invalid_token"\r\n';

/** Where an anonymous browser is sent: the login page, coming back to `url` after. */
export function loginLocation(url: string): string {
  return `/login?next=${encodeURIComponent(url)}`;
}

/**
 * A request the gate refused. `hidden` answers exactly like a missing app. `login`
 * sends browsers (GET/HEAD asking for HTML) to the login page and others a 401.
 */
export function refuse(req: IncomingMessage, res: ServerResponse, kind: Refusal, app: string): void {
  if (kind === 'hidden') {
    sendPage(req, res, Pages.appNotFound(app));
  } else if (kind === 'badToken') {
    sendPage(req, res, Pages.badToken(), BAD_TOKEN_CHALLENGE);
  } else if (
    (req.method === 'GET' || req.method === 'HEAD') &&
    req.headers.accept?.includes('text/html') === true
  ) {
    res.writeHead(302, {
      location: loginLocation(req.url!),
      'content-length': 0,
      'cache-control': 'no-store',
    });
    res.end();
  } else {
    sendPage(req, res, Pages.loginRequired(), LOGIN_CHALLENGE);
  }
}

/** The same for an upgrade request, on its raw socket. */
export function refuseUpgrade(socket: Duplex, kind: Refusal): void {
  if (kind === 'hidden') sendRawError(socket, 404, 'app not found');
  else if (kind === 'login') sendRawError(socket, 401, 'login required', RAW_LOGIN_CHALLENGE);
  else sendRawError(socket, 401, 'invalid API token', RAW_BAD_TOKEN_CHALLENGE);
}
