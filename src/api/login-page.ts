/**
 * The sign-in page: server-rendered HTML in Gantry's look (src/ui/theme.ts)
 * that works without JavaScript. Every value from the request or configuration
 * is escaped; `next` is made safe (safeNext) before it is written anywhere.
 */
import type { FastifyReply } from 'fastify';
import { themeDocument } from '../ui/theme.js';
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

/**
 * Headers for every page that shows a form or a session's CSRF token: never cached, never framed.
 * Referrers stay on this origin: `no-referrer` would make Chromium post the form with `Origin: null`,
 * which the sign-in's origin check refuses.
 */
export function securePageHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
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

export function renderLoginPage(o: LoginPageOptions): string {
  const next = escapeHtml(o.next);
  const parts: string[] = ['<h1>Sign in</h1>'];
  if (o.message) parts.push(`<p class="g-alert" role="alert">${escapeHtml(o.message)}</p>`);
  if (o.signedIn) {
    parts.push(
      `<p class="g-alert info">Signed in as <strong>${escapeHtml(o.signedIn.username)}</strong>.</p>`,
      `<form method="post" action="/logout" class="g-actions"><input type="hidden" name="csrf" value="${escapeHtml(o.signedIn.csrf)}">` +
        `<a class="g-button primary" href="${next}">Continue</a><button class="g-button" type="submit">Sign out</button></form>`,
      '<div class="g-divider">or sign in as someone else</div>',
    );
  }
  // After a failed attempt the username is kept: the cursor goes to the password.
  const focusPassword = o.username ? ' autofocus' : '';
  parts.push(
    `<form method="post" action="/login">`,
    `<input type="hidden" name="next" value="${next}">`,
    `<div class="g-field"><label class="g-label" for="username">Username</label>`,
    `<input type="text" id="username" name="username" class="g-input" autocomplete="username" autocapitalize="none" spellcheck="false" required${o.username ? '' : ' autofocus'} value="${escapeHtml(o.username ?? '')}"></div>`,
    `<div class="g-field"><label class="g-label" for="password">Password</label>`,
    `<input type="password" id="password" name="password" class="g-input" autocomplete="current-password" required${focusPassword}></div>`,
    `<button type="submit" class="g-button primary g-wide">Sign in</button>`,
    `</form>`,
  );
  const redirects = o.providers.filter((p) => p.type !== 'ldap');
  if (redirects.length > 0) {
    parts.push('<div class="g-divider">or</div>', '<div class="g-stack">');
    for (const p of redirects) {
      const href = `/auth/${encodeURIComponent(p.name)}/start?next=${encodeURIComponent(o.next)}`;
      parts.push(
        `<a class="g-button g-wide" href="${escapeHtml(href)}">Sign in with ${escapeHtml(p.label)}</a>`,
      );
    }
    parts.push('</div>');
  }
  return themeDocument({
    title: 'Sign in · Gantry',
    head: '<meta name="referrer" content="same-origin">',
    main: `\n${parts.join('\n')}\n`,
  });
}
