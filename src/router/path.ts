/**
 * Request-target validation and `/apps/NAME/…` matching. Pure and allocation-light:
 * it runs once per request, before anything else looks at the URL.
 *
 * Why so strict: apps and static roots see the raw path. A path that a browser would
 * never send (encoded slashes, encoded dot segments, backslashes, NUL) is only ever an
 * attempt to make the router and the app disagree about which resource is meant, so it
 * is refused with 400 before routing.
 */

/** App names as the control plane validates them. */
export const APP_NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;

/** Result of matching a raw request target. `undefined` from {@link matchTarget} means "not ours". */
export type Target =
  /** Serve `app`; `pathEnd` is the index of `?` in the raw URL (or its length). */
  | { kind: 'app'; app: string; pathEnd: number }
  /** `/apps/NAME` without the slash: redirect to `location`. */
  | { kind: 'redirect'; location: string }
  /** `/apps` or `/apps/`, or a segment that cannot be an app name. */
  | { kind: 'not-found' }
  /** Refused before routing; `reason` is for logs and the error page. */
  | { kind: 'bad'; reason: string };

const SLASH = 47;
const BACKSLASH = 92;
const PERCENT = 37;
const DOT = 46;
const QUERY = 63;

/** `%2e` / `%2E` at index i? */
function isEncodedDot(url: string, i: number): boolean {
  if (url.charCodeAt(i + 1) !== 50 /* 2 */) return false;
  const c = url.charCodeAt(i + 2);
  return c === 101 /* e */ || c === 69; /* E */
}

/**
 * Checks the path part (`url[0..end)`) of an origin-form target. Returns a reason when it
 * must be refused, `undefined` when it is acceptable. Exported for the test corpus.
 */
export function checkPath(url: string, end: number): string | undefined {
  if (url.charCodeAt(0) !== SLASH) return 'request target is not origin-form';
  for (let i = 0; i < end; i++) {
    const c = url.charCodeAt(i);
    if (c === SLASH) {
      // Is the segment after this slash "." or ".." (literal or percent-encoded)?
      let j = i + 1;
      let dots = 0;
      while (j < end && dots < 3) {
        const d = url.charCodeAt(j);
        if (d === DOT) j += 1;
        else if (d === PERCENT && isEncodedDot(url, j)) j += 3;
        else break;
        dots++;
      }
      if (dots > 0 && dots < 3 && (j === end || url.charCodeAt(j) === SLASH)) {
        return 'dot segment in path';
      }
    } else if (c === BACKSLASH) {
      return 'backslash in path';
    } else if (c === 0) {
      return 'NUL in path';
    } else if (c === PERCENT) {
      const h = url.charCodeAt(i + 1);
      const l = url.charCodeAt(i + 2) | 0x20; // lower-case hex letter
      if (h === 50 /* 2 */ && l === 102 /* f */) return 'encoded slash in path';
      if (h === 53 /* 5 */ && l === 99 /* c */) return 'encoded backslash in path';
      if (h === 48 /* 0 */ && l === 48 /* 0 */) return 'encoded NUL in path';
    }
  }
  return undefined;
}

/** True when the raw target is `/apps`, `/apps/…` or `/apps?…` (so the router owns it). */
function isAppsPrefix(url: string): boolean {
  if (!url.startsWith('/apps')) return false;
  if (url.length === 5) return true;
  const c = url.charCodeAt(5);
  return c === SLASH || c === QUERY;
}

/**
 * Matches a raw request target (`req.url`). Returns `undefined` when the request is not
 * the router's business: an origin-form target outside `/apps`. Any target that is not
 * origin-form (absolute-form, authority-form, `*`) is refused, since the router cannot
 * tell safely where it would go.
 */
export function matchTarget(url: string): Target | undefined {
  if (url.charCodeAt(0) !== SLASH) return { kind: 'bad', reason: 'request target is not origin-form' };
  if (!isAppsPrefix(url)) return undefined;
  let end = url.indexOf('?');
  if (end === -1) end = url.length;
  const bad = checkPath(url, end);
  if (bad !== undefined) return { kind: 'bad', reason: bad };
  if (end <= 6) return { kind: 'not-found' }; // "/apps" or "/apps/"
  let nameEnd = url.indexOf('/', 6);
  if (nameEnd === -1 || nameEnd > end) nameEnd = end;
  const app = url.slice(6, nameEnd);
  if (!APP_NAME_RE.test(app)) return { kind: 'not-found' };
  if (nameEnd === end) {
    // Safe to echo: the name matched APP_NAME_RE and the query has no CR/LF (the HTTP parser saw to it).
    return { kind: 'redirect', location: `/apps/${app}/${url.slice(end)}` };
  }
  return { kind: 'app', app, pathEnd: end };
}
