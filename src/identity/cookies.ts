/**
 * The session cookie: its name (with the `__Host-` prefix over HTTPS), parsing
 * one cookie out of a Cookie header without allocating a map, and removing it
 * from the header that is forwarded to apps.
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

/** The Cookie header without cookie `name` (undefined when nothing is left). */
export function withoutCookie(header: string, name: string): string | undefined {
  if (header.indexOf(name) === -1) return header;
  const kept: string[] = [];
  for (const part of header.split(';')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if ((eq === -1 ? p : p.slice(0, eq)) === name) continue;
    kept.push(p);
  }
  return kept.length === 0 ? undefined : kept.join('; ');
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
