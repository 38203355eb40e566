import type { AppSummary } from './api/platform.js';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The minimal status page at `/` until the web UI lands. */
export function renderStatusPage(apps: AppSummary[]): string {
  const rows = apps
    .map(
      (a) =>
        `<tr><td><a href="/apps/${esc(a.name)}/">${esc(a.name)}</a></td><td>${esc(a.status)}</td><td>${a.currentVersion === null ? '—' : `v${a.currentVersion}`}</td><td>${esc(a.updatedAt)}</td></tr>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Gantry</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}main{max-width:860px;margin:48px auto;padding:0 20px}h1{font-size:22px}table{width:100%;border-collapse:collapse;background:#fff;border-radius:8px;overflow:hidden;box-shadow:0 1px 3px #0001}td,th{text-align:left;padding:10px 14px;border-bottom:1px solid #eef0f3}th{font-size:12px;text-transform:uppercase;color:#667}a{color:#2457d6}</style></head>
<body><main><h1>Gantry</h1><p>${apps.length} app${apps.length === 1 ? '' : 's'}. Deploy with <code>git push</code> or <code>gantry deploy</code>.</p>
<table><thead><tr><th>App</th><th>Status</th><th>Release</th><th>Updated</th></tr></thead><tbody>${rows || '<tr><td colspan="4">No apps yet: <code>gantry apps:create NAME</code></td></tr>'}</tbody></table></main></body></html>`;
}
