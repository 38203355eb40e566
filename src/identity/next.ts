/**
 * Where to go after login: only a path on this site. Everything that a browser
 * could read as another origin (`//evil`, `/\evil`, `https:…`, encoded or with
 * tabs and newlines that browsers strip) falls back to `/`.
 */

/** A safe local redirect target for `next`, or `fallback`. */
export function safeNext(next: unknown, fallback = '/'): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2048) return fallback;
  // Browsers drop tab/CR/LF anywhere in a URL and treat backslashes like slashes.
  if (hasControlOrBackslash(next)) return fallback;
  if (next[0] !== '/' || next[1] === '/') return fallback;
  // Encoded slashes or backslashes right after the first one could be decoded by something downstream.
  let decoded: string;
  try {
    decoded = decodeURIComponent(next);
  } catch {
    return fallback;
  }
  if (decoded[1] === '/' || decoded[1] === '\\' || hasControlOrBackslash(decoded)) return fallback;
  // Resolved against a dummy origin, it must stay on that origin.
  const base = 'http://gantry.invalid';
  let url: URL;
  try {
    url = new URL(next, base);
  } catch {
    return fallback;
  }
  if (url.origin !== base) return fallback;
  return url.pathname + url.search + url.hash;
}

/** Any C0 control character, DEL or backslash. */
function hasControlOrBackslash(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x5c) return true;
  }
  return false;
}
