/**
 * Where to go after login: only a path on this site. Everything that a browser
 * could read as another origin (`//evil`, `/\evil`, `https:…`, encoded or with
 * tabs and newlines that browsers strip) falls back to `/`.
 */

/** A safe local redirect target for `next`, or `fallback`. */
export function safeNext(next: unknown, fallback = '/'): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2048) return fallback;
  // Browsers drop tab/CR/LF anywhere in a URL and treat backslashes like slashes.
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return fallback;
  if (next[0] !== '/' || next[1] === '/') return fallback;
  // Encoded slashes or backslashes right after the first one could be decoded by something downstream.
  let decoded: string;
  try {
    decoded = decodeURIComponent(next);
  } catch {
    return fallback;
  }
  if (decoded[1] === '/' || decoded[1] === '\\' || /[\u0000-\u001f\u007f]/.test(decoded)) return fallback;
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
