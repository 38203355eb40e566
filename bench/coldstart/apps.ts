/**
 * The three apps the cold-start benchmark wakes. Their sources live here as strings and
 * are written to a temp dir at run time: a .js file under bench/ would be linted against
 * the TypeScript project, and this keeps each app next to how it is run and checked.
 *
 * Each app serves under GANTRY_BASE_PATH (the router forwards the full /apps/NAME/ path)
 * and prints one line once its socket listens, which the benchmark finds in the app's log
 * to split a wake into its parts.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { baseSandboxEnv, sandboxCommand } from '../../src/runtime/index.js';
import type { Launch } from './boot.js';

const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface BenchApp {
  /** Gantry app name. */
  name: string;
  label: string;
  files: Record<string, string>;
  /** The Procfile's web command as argv: what the baseline execs directly. */
  argv: string[];
  /** What the app's answer to GET / contains. */
  expect: string;
  /** The app's own "listening" log line (printed after the socket listens). */
  listenLine: RegExp;
}

const STDLIB_APP = `import os
from http.server import BaseHTTPRequestHandler, HTTPServer

BASE = os.environ.get("GANTRY_BASE_PATH", "/")
if not BASE.endswith("/"):
    BASE += "/"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        ok = self.path.split("?", 1)[0] in (BASE, BASE.rstrip("/"))
        body = b"hello from stdlib\\n" if ok else b"not found\\n"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler)
print("coldstart app listening", flush=True)
server.serve_forever()
`;

const FLASK_APP = `import os
from flask import Flask

BASE = os.environ.get("GANTRY_BASE_PATH", "/")
if not BASE.endswith("/"):
    BASE += "/"

app = Flask(__name__)


@app.route(BASE)
def index():
    return "hello from flask\\n", 200, {"Content-Type": "text/plain"}


if __name__ == "__main__":
    # werkzeug prints " * Running on ..." after its socket listens.
    app.run(host="0.0.0.0", port=int(os.environ["PORT"]))
`;

const EXPRESS_APP = `'use strict';
const express = require('express');

const base = (process.env.GANTRY_BASE_PATH || '/').replace(/\\/?$/, '/');
const app = express();
app.disable('x-powered-by');
app.get(base, (req, res) => res.type('text/plain').send('hello from express\\n'));
app.listen(Number(process.env.PORT), '0.0.0.0', () => console.log('coldstart app listening'));
process.on('SIGTERM', () => process.exit(0));
`;

const EXPRESS_PACKAGE = `${JSON.stringify(
  {
    name: 'coldstart-express',
    version: '1.0.0',
    private: true,
    dependencies: { express: '^4.21.2' },
  },
  null,
  2,
)}\n`;

export const APPS: BenchApp[] = [
  {
    name: 'cs-stdlib',
    label: 'Python stdlib',
    files: { 'app.py': STDLIB_APP, 'requirements.txt': '', Procfile: 'web: python3 app.py\n' },
    argv: ['python3', 'app.py'],
    expect: 'hello from stdlib',
    listenLine: /coldstart app listening/,
  },
  {
    name: 'cs-flask',
    label: 'Flask',
    // With system packages on, pip finds Debian's python3-flask and downloads nothing.
    files: { 'app.py': FLASK_APP, 'requirements.txt': 'flask\n', Procfile: 'web: python3 app.py\n' },
    argv: ['python3', 'app.py'],
    expect: 'hello from flask',
    listenLine: /Running on/,
  },
  {
    name: 'cs-express',
    label: 'Express',
    files: { 'server.js': EXPRESS_APP, 'package.json': EXPRESS_PACKAGE, Procfile: 'web: node server.js\n' },
    argv: ['node', 'server.js'],
    expect: 'hello from express',
    listenLine: /coldstart app listening/,
  },
];

/** Writes the app's sources into `dir` (created). */
export async function writeApp(app: BenchApp, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(app.files)) await writeFile(join(dir, file), text);
}

/**
 * How the baseline runs the app's web command: `direct` is the command exec'd in the slug
 * dir with the slug's interpreter; `sandboxed` the same argv inside the
 * bubblewrap sandbox Gantry's runtime builds (same binds, env file, uid), without Gantry.
 */
export function launches(
  app: BenchApp,
  slug: string,
  data: string,
  uid: number,
): { direct: Launch; sandboxed: Launch } {
  const appEnv = { GANTRY_APP: app.name, GANTRY_BASE_PATH: `/apps/${app.name}/` };
  const direct: Launch = {
    file: app.argv[0]!,
    args: app.argv.slice(1),
    cwd: slug,
    // Gantry's own uid: the app's uid cannot reach the slug through the 0700 data dir
    // (the sandbox bind-mounts it instead).
    env: {
      // The slug's own venv / node_modules first, as inside the sandbox (never a host shim).
      PATH: `${slug}/.venv/bin:${slug}/node_modules/.bin:${HOST_PATH}`,
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      HOME: data,
      TMPDIR: '/tmp',
      PYTHONUNBUFFERED: '1',
      // The sandbox's /app is read-only: no .pyc written there either.
      PYTHONDONTWRITEBYTECODE: '1',
      ...appEnv,
    },
  };
  const cmd = sandboxCommand({
    uid,
    hostname: app.name,
    binds: [
      { src: slug, dest: '/app' },
      { src: data, dest: '/data', writable: true },
    ],
    cwd: '/app',
    argv: ['/bin/sh', '-c', app.argv.join(' ')],
    env: { ...baseSandboxEnv('/data'), ...appEnv },
  });
  const sandboxed: Launch = {
    file: cmd.file,
    args: cmd.args,
    cwd: cmd.cwd,
    env: cmd.env,
    fd3: cmd.envFileData,
  };
  return { direct, sandboxed };
}

/** The launch with PORT set (in the env file for the sandbox, as the runtime passes it). */
export const withPort = (l: Launch, port: number): Launch =>
  l.fd3 === undefined
    ? { ...l, env: { ...l.env, PORT: String(port) } }
    : { ...l, fd3: `${l.fd3}export PORT='${port}'\n` };
