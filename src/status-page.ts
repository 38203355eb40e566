/**
 * The minimal public status page at `/` until the web UI lands. It names no
 * apps: app names are not public information.
 */
export function renderStatusPage(appCount: number): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Gantry</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}main{max-width:640px;margin:64px auto;padding:0 20px}h1{font-size:22px}.card{background:#fff;border-radius:8px;padding:20px 24px;box-shadow:0 1px 3px #0001}code{background:#eef0f3;padding:1px 5px;border-radius:4px}</style></head>
<body><main><h1>Gantry</h1><div class="card"><p>Gantry is running and hosts ${appCount} app${appCount === 1 ? '' : 's'}.</p>
<p>Deploy with <code>git push</code> or <code>gantry deploy</code>; apps are served at <code>/apps/NAME/</code>. The API is described at <a href="/api/openapi.json">/api/openapi.json</a>.</p></div></main></body></html>`;
}
