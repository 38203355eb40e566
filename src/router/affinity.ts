/**
 * Session affinity for apps that keep per-session state in the server process (Shiny,
 * Streamlit, Bokeh server): a cookie, scoped to the app's path, names the backend the
 * browser first reached; while the route still lists that backend, the browser stays on
 * it. The cookie is Gantry's: it is never forwarded to the app (see headers.ts).
 */
import type { IncomingMessage } from 'node:http';
import { readCookie } from '../identity/cookies.js';
import type { BackendState } from './state.js';

export const AFFINITY_COOKIE = 'gantry_affinity';

/** The cookie value that names a backend: its process name, made safe for a cookie. */
export function affinityValue(backendId: string): string {
  return encodeURIComponent(backendId);
}

/** The backend the request's affinity cookie names, if the route still lists it. */
export function pinnedBackend(
  backends: readonly BackendState[],
  req: IncomingMessage,
): BackendState | undefined {
  const pin = readCookie(req.headers.cookie, AFFINITY_COOKIE);
  if (pin === undefined) return undefined;
  for (const b of backends) if (b.affinity === pin) return b;
  return undefined;
}

/** The Set-Cookie value pinning the browser to `b` for this app (a session cookie). */
export function affinitySetCookie(app: string, b: BackendState, secure: boolean): string {
  return `${AFFINITY_COOKIE}=${b.affinity}; Path=/apps/${app}/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}
