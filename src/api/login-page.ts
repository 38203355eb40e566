/**
 * The sign-in page: server-rendered HTML that works without JavaScript. Every
 * value from the request or configuration is escaped; `next` is made safe
 * (safeNext) before it is written anywhere.
 */
import type { FastifyReply } from 'fastify';
import type { ProviderListing } from './types.js';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

/** Headers for every page that shows a form or a session's CSRF token: never cached, never framed. */
export function securePageHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'");
}

export interface LoginPageOptions {
  /** Already made safe with safeNext. */
  next: string;
  providers: readonly ProviderListing[];
  /** One line shown above the form (what went wrong). */
  message?: string;
  /** Prefilled username after a failed attempt. */
  username?: string;
  /** When the browser already has a session: who, and the CSRF token for the sign-out form. */
  signedIn?: { username: string; csrf: string };
}

const STYLE = `body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}
main{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.4rem;margin:0 0 1rem}label{display:block;margin:.8rem 0 .2rem}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button,.sso{display:block;width:100%;box-sizing:border-box;margin-top:1rem;padding:.6rem;font-size:1rem;text-align:center}
.sso{border:1px solid #888;border-radius:4px;color:#111;text-decoration:none}
.error{background:#fde8e8;color:#8a1c1c;padding:.6rem;border-radius:4px}.note{color:#555}`;

export function renderLoginPage(o: LoginPageOptions): string {
  const next = escapeHtml(o.next);
  const parts: string[] = [];
  if (o.message) parts.push(`<p class="error" role="alert">${escapeHtml(o.message)}</p>`);
  if (o.signedIn) {
    parts.push(
      `<p class="note">Signed in as <strong>${escapeHtml(o.signedIn.username)}</strong>.</p>`,
      `<form method="post" action="/logout"><input type="hidden" name="csrf" value="${escapeHtml(o.signedIn.csrf)}">` +
        `<button type="submit">Sign out</button></form>`,
    );
  }
  parts.push(
    `<form method="post" action="/login">`,
    `<input type="hidden" name="next" value="${next}">`,
    `<label for="username">Username</label>`,
    `<input type="text" id="username" name="username" autocomplete="username" required autofocus value="${escapeHtml(o.username ?? '')}">`,
    `<label for="password">Password</label>`,
    `<input type="password" id="password" name="password" autocomplete="current-password" required>`,
    `<button type="submit">Sign in</button>`,
    `</form>`,
  );
  for (const p of o.providers) {
    if (p.type === 'ldap') continue;
    const href = `/auth/${encodeURIComponent(p.name)}/start?next=${encodeURIComponent(o.next)}`;
    parts.push(`<a class="sso" href="${escapeHtml(href)}">Sign in with ${escapeHtml(p.label)}</a>`);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>Sign in · Gantry</title><style>${STYLE}</style></head>
<body><main><h1>Sign in to Gantry</h1>
${parts.join('\n')}
</main></body></html>
`;
}
