/**
 * The text of the pre-receive hook git runs for every push. It is the one file
 * git executes on Gantry's behalf, so it does as little as possible: forward
 * the ref updates to the server over a Unix socket, copy the server's output to
 * stderr (git shows it as `remote:` lines) and exit with the server's verdict.
 *
 * Written in plain JavaScript that runs both as CommonJS and as an ES module
 * (dynamic `import()` only), because Node picks the module type of an
 * extensionless file from the nearest package.json, which we do not control.
 */

/** Newline-delimited JSON message the hook sends once. */
export interface HookRequest {
  token: string;
  /** Raw stdin of the hook: "old new ref" lines. Parsed and validated server-side. */
  stdin: string;
  cwd: string;
  env: Record<string, string>;
}

/** Newline-delimited JSON messages the server answers with. */
export type HookReply = { out: string } | { ok: boolean; error?: string };

export const HOOK_ENV_KEYS = [
  'GIT_DIR',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_QUARANTINE_PATH',
] as const;

/** The shebang: the running Node binary when the kernel can exec it directly. */
function shebang(nodePath: string): string {
  return /^\/[\w./+-]+$/.test(nodePath) && nodePath.length < 120 ? `#!${nodePath}` : '#!/usr/bin/env node';
}

export function hookScript(opts: { socketPath: string; nodePath: string }): string {
  return `${shebang(opts.nodePath)}
// Gantry pre-receive hook. Generated; do not edit (rewritten at every start).
'use strict';
const SOCKET = ${JSON.stringify(opts.socketPath)};
const ENV_KEYS = ${JSON.stringify(HOOK_ENV_KEYS)};
(async () => {
  const net = await import('node:net');
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const env = {};
  for (const k of ENV_KEYS) if (process.env[k] !== undefined) env[k] = process.env[k];
  const req = {
    token: process.env.GANTRY_PUSH_TOKEN || '',
    stdin: Buffer.concat(chunks).toString('utf8'),
    cwd: process.cwd(),
    env,
  };
  const code = await new Promise((resolve) => {
    let done = false;
    let buf = '';
    const finish = (c, msg) => {
      if (done) return;
      done = true;
      if (msg) process.stderr.write('\\n ! ' + msg + '\\n\\n');
      sock.destroy();
      resolve(c);
    };
    const sock = net.connect(SOCKET);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\\n'));
    sock.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\\n')) !== -1) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let msg;
        try {
          msg = JSON.parse(line);
        } catch (e) {
          return finish(1, 'gantry: bad reply from the server');
        }
        if (typeof msg.out === 'string') process.stderr.write(msg.out);
        else if (typeof msg.ok === 'boolean') return finish(msg.ok ? 0 : 1, msg.error);
      }
    });
    sock.on('error', () => finish(1, 'gantry is not accepting pushes right now (hook socket unavailable)'));
    sock.on('close', () => finish(1, 'gantry closed the connection before the deploy finished'));
  });
  process.exitCode = code;
})().catch((e) => {
  process.stderr.write('\\n ! gantry hook failed: ' + (e && e.message) + '\\n\\n');
  process.exitCode = 1;
});
`;
}
