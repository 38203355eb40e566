/**
 * Gantry's one look: design tokens and base styles shared by the web UI
 * (web/, which bundles THEME_CSS into its stylesheet through a Vite virtual
 * module) and the pages the server renders itself (sign-in, the router's
 * 404/502/503 and "Starting…" pages). Plain strings and one pure function, no
 * imports: both the server and the browser build read this file.
 */

/** CSS custom properties: colours, type, spacing, radii. Light and dark. */
export const THEME_TOKENS = `
:root{
  --g-bg:#f5f6f8;--g-surface:#fff;--g-surface-2:#f0f2f5;--g-border:#dde1e6;
  --g-text:#1c2430;--g-text-2:#4d5969;--g-muted:#6b7686;
  --g-accent:#4453d6;--g-accent-hover:#3542b8;--g-accent-text:#fff;--g-accent-soft:#e8eafc;
  --g-ok:#1f7a4d;--g-ok-soft:#e3f4ea;--g-warn:#8a5a00;--g-warn-soft:#fdf1d8;
  --g-danger:#b42318;--g-danger-soft:#fde7e5;--g-info-soft:#e7f0fb;
  --g-focus:0 0 0 3px rgba(68,83,214,.35);
  --g-radius:10px;--g-radius-sm:6px;
  --g-shadow:0 1px 2px rgba(16,24,40,.06),0 4px 16px rgba(16,24,40,.06);
  --g-font:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
  --g-mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;
  color-scheme:light dark;
}
@media (prefers-color-scheme:dark){:root{
  --g-bg:#12151b;--g-surface:#1b2029;--g-surface-2:#232a35;--g-border:#323b48;
  --g-text:#e6eaf0;--g-text-2:#b4bdc9;--g-muted:#8d98a7;
  --g-accent:#7d8bff;--g-accent-hover:#96a1ff;--g-accent-text:#0d1020;--g-accent-soft:#262c52;
  --g-ok:#5cc98f;--g-ok-soft:#173526;--g-warn:#f0b44c;--g-warn-soft:#3a2c10;
  --g-danger:#ff7b6e;--g-danger-soft:#3d1d1a;--g-info-soft:#1b2a3d;
  --g-focus:0 0 0 3px rgba(125,139,255,.5);
  --g-shadow:0 1px 2px rgba(0,0,0,.3),0 4px 16px rgba(0,0,0,.25);
}}
`;

/** Base elements every page shares. */
export const THEME_BASE = `
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--g-bg);color:var(--g-text);font:15px/1.5 var(--g-font)}
a{color:var(--g-accent)}
a:hover{color:var(--g-accent-hover)}
:focus-visible{outline:none;box-shadow:var(--g-focus);border-radius:var(--g-radius-sm)}
h1,h2,h3{line-height:1.25;margin:0 0 .5rem}
h1{font-size:1.5rem}h2{font-size:1.2rem}h3{font-size:1rem}
code,pre,kbd{font-family:var(--g-mono);font-size:.875em}
.g-brand{display:inline-flex;align-items:center;gap:.5rem;font-weight:700;letter-spacing:.01em;color:var(--g-text);text-decoration:none}
.g-brand::before{content:"";width:1.1rem;height:1.1rem;border-radius:4px;background:linear-gradient(135deg,var(--g-accent),#8f5bd6)}
.g-card{background:var(--g-surface);border:1px solid var(--g-border);border-radius:var(--g-radius);box-shadow:var(--g-shadow)}
.g-button{display:inline-flex;align-items:center;justify-content:center;gap:.4rem;min-height:2.25rem;padding:.4rem .9rem;border-radius:var(--g-radius-sm);border:1px solid var(--g-border);background:var(--g-surface);color:var(--g-text);font:inherit;font-weight:600;cursor:pointer;text-decoration:none}
.g-button:hover{background:var(--g-surface-2);color:var(--g-text)}
.g-button[disabled]{opacity:.55;cursor:not-allowed}
.g-button.primary{background:var(--g-accent);border-color:var(--g-accent);color:var(--g-accent-text)}
.g-button.primary:hover{background:var(--g-accent-hover)}
.g-button.danger{color:var(--g-danger);border-color:var(--g-danger)}
.g-button.danger:hover{background:var(--g-danger-soft)}
.g-input,.g-select,.g-textarea{width:100%;min-height:2.25rem;padding:.4rem .6rem;border:1px solid var(--g-border);border-radius:var(--g-radius-sm);background:var(--g-surface);color:var(--g-text);font:inherit}
.g-label{display:block;font-weight:600;font-size:.875rem;margin:0 0 .3rem}
.g-field{margin:0 0 1rem}
.g-hint{color:var(--g-muted);font-size:.85rem}
.g-alert{padding:.6rem .8rem;border-radius:var(--g-radius-sm);background:var(--g-danger-soft);color:var(--g-danger);margin:0 0 1rem}
.g-alert.ok{background:var(--g-ok-soft);color:var(--g-ok)}
.g-alert.info{background:var(--g-info-soft);color:var(--g-text)}
.g-badge{display:inline-flex;align-items:center;gap:.3rem;padding:.1rem .5rem;border-radius:999px;font-size:.75rem;font-weight:600;background:var(--g-surface-2);color:var(--g-text-2)}
.g-badge.ok{background:var(--g-ok-soft);color:var(--g-ok)}
.g-badge.warn{background:var(--g-warn-soft);color:var(--g-warn)}
.g-badge.danger{background:var(--g-danger-soft);color:var(--g-danger)}
.g-spin{display:inline-block;width:.85em;height:.85em;margin-right:.5em;vertical-align:-.1em;border:2px solid var(--g-border);border-top-color:var(--g-accent);border-radius:50%;animation:g-spin 1s linear infinite}
@keyframes g-spin{to{transform:rotate(360deg)}}
@media (prefers-reduced-motion:reduce){.g-spin{animation-duration:3s}}
.g-sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
`;

/** Centered single-card layout of the server-rendered pages (sign-in, errors, Starting…). */
export const THEME_PAGE = `
body.g-page{min-height:100vh;min-height:100dvh;display:flex;flex-direction:column;align-items:center;justify-content:center;padding:1.5rem 1rem}
.g-page main{width:100%;max-width:28rem;padding:2rem 2.25rem}
.g-page .g-brand{margin:0 0 1.25rem}
.g-page .code{font-size:.8rem;font-weight:700;letter-spacing:.08em;color:var(--g-muted);text-transform:uppercase}
.g-page h1{margin:.25rem 0 .75rem}
.g-page p{margin:0 0 .75rem;color:var(--g-text-2)}
.g-page p.g-alert{color:var(--g-danger)}
.g-page p.g-alert.info{color:var(--g-text)}
.g-page main>:last-child{margin-bottom:0}
.g-page footer{margin-top:1.25rem;font-size:.8rem;color:var(--g-muted)}
.g-page .g-actions{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:1.25rem}
.g-page .g-wide{width:100%}
.g-page .g-stack>*+*{margin-top:.6rem}
.g-page .g-divider{display:flex;align-items:center;gap:.75rem;margin:1.25rem 0;color:var(--g-muted);font-size:.8rem}
.g-page .g-divider::before,.g-page .g-divider::after{content:"";flex:1;border-top:1px solid var(--g-border)}
@media (max-width:480px){body.g-page{justify-content:flex-start;padding-top:2.5rem}.g-page main{padding:1.5rem 1.25rem}}
`;

/** Everything the web UI bundles. */
export const THEME_CSS = THEME_TOKENS + THEME_BASE + THEME_PAGE;

/** The parts of a server-rendered page, each already HTML (the caller escapes). */
export interface ThemeDocument {
  /** `<title>` text. */
  title: string;
  /** Inner HTML of the page's card (`<main class="g-card">`). */
  main: string;
  /** Full text of the `<style>` element; default {@link THEME_CSS}. */
  style?: string;
  /** Extra elements at the end of `<head>`. */
  head?: string;
  /** Extra elements at the end of `<body>`. */
  tail?: string;
}

/**
 * A complete page in the centered-card layout: the "Gantry" brand above one
 * card, phone-sized viewport, light and dark colours. Pure; no inline event
 * handlers or style attributes, so a CSP with one style hash allows it.
 */
export function themeDocument(d: ThemeDocument): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark"><title>${d.title}</title>${d.head ?? ''}
<style>${d.style ?? THEME_CSS}</style></head>
<body class="g-page"><header><a class="g-brand" href="/">Gantry</a></header>
<main class="g-card">${d.main}</main>${d.tail ?? ''}</body></html>
`;
}
