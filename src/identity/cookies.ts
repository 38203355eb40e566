/**
 * The session cookie: its name (with the `__Host-` prefix over HTTPS), parsing
 * one cookie out of a Cookie header without allocating a map, and removing it
 * from the header that is forwarded to apps (at exactly the boundaries readCookie
 * reads it, so whatever could be read as the session is never forwarded).
 */

export const SESSION_COOKIE = 'gantry_session';
export const SECURE_SESSION_COOKIE = '__Host-gantry_session';

/** Cookie name for a server whose public URL is `publicUrl`. */
export function sessionCookieName(publicUrl: string): string {
  return publicUrl.startsWith('https:') ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}

/** Value of cookie `name` in a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let i = header.indexOf(name);
  while (i !== -1) {
    const before = i === 0 ? ';' : header[i - 1];
    if ((before === ';' || before === ' ') && header[i + name.length] === '=') {
      const start = i + name.length + 1;
      const end = header.indexOf(';', start);
      return header.slice(start, end === -1 ? undefined : end).trim();
    }
    i = header.indexOf(name, i + 1);
  }
  return undefined;
}

/** `s` without leading and trailing whitespace and `;`. */
function trimPairs(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) <= 32 || s.charCodeAt(a) === 59)) a++;
  while (b > a && (s.charCodeAt(b - 1) <= 32 || s.charCodeAt(b - 1) === 59)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function joinPairs(a: string, b: string): string {
  const t = trimPairs(b);
  if (t === '') return a;
  return a === '' ? t : `${a}; ${t}`;
}

/**
 * A Cookie header without any `name=…` pair (undefined when nothing is left). It finds
 * the name at the same boundaries as `readCookie` (after `;`, a space or the start), so
 * whatever the gate could read as the session is never forwarded.
 */
export function withoutCookie(header: string, name: string): string | undefined {
  let i = header.indexOf(name);
  if (i === -1) return header;
  let kept = '';
  let from = 0;
  let removed = false;
  while (i !== -1) {
    const before = i === 0 ? 59 : header.charCodeAt(i - 1);
    if ((before === 59 || before === 32) && header.charCodeAt(i + name.length) === 61 /* = */) {
      kept = joinPairs(kept, header.slice(from, i));
      removed = true;
      const end = header.indexOf(';', i);
      from = end === -1 ? header.length : end + 1;
      i = end === -1 ? -1 : header.indexOf(name, from);
    } else {
      i = header.indexOf(name, i + 1);
    }
  }
  if (!removed) return header;
  kept = joinPairs(kept, header.slice(from));
  return kept === '' ? undefined : kept;
}

/** A Set-Cookie header value for the session cookie (HttpOnly, SameSite=Lax, Path=/). */
export function sessionSetCookie(
  name: string,
  value: string,
  opts: { secure: boolean; maxAgeSeconds: number },
): string {
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${opts.maxAgeSeconds}`];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}

/** A Set-Cookie value that deletes the cookie. */
export function clearSessionCookie(name: string, secure: boolean): string {
  return sessionSetCookie(name, '', { secure, maxAgeSeconds: 0 });
}
