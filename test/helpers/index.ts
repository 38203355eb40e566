/**
 * End-to-end test harness: a real Gantry server on 127.0.0.1 with its own data
 * dir, real git pushes, and an API client.
 */
import { mkdtemp, cp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type RunningServer } from '../../src/server.js';
import { loadConfig, type GantryConfig } from '../../src/config/index.js';
import { createLogger, type Logger } from '../../src/log/index.js';
import { run, type ExecResult } from '../../src/exec/index.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Temp dirs made by this process's tests (repos, homes), removed by removeTempDirs(). */
const tempDirs: string[] = [];

/** A free TCP port on 127.0.0.1 (for servers whose URL must be known before they start). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}
export const ADMIN_PASSWORD = 'admin-test-password-1';

export interface TestServer {
  server: RunningServer;
  url: string;
  token: string;
  dataDir: string;
  /** Calls the JSON API with the admin token. Throws on non-2xx with the error message. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

export async function startTestServer(
  overrides: Partial<GantryConfig> = {},
  opts: { logger?: Logger } = {},
): Promise<TestServer> {
  const dataDir = await tempDir('gantry-e2e-');
  const config = loadConfig(
    { GANTRY_PYTHON_SYSTEM_PACKAGES: '1' },
    {
      dataDir,
      port: 0,
      host: '127.0.0.1',
      adminPassword: ADMIN_PASSWORD,
      healthcheckTimeoutMs: 30_000,
      stopGraceMs: 3_000,
      drainTimeoutMs: 10_000,
      sshPort: 0,
      // A browser per deploy would load every e2e test; the web UI's tests turn it on.
      thumbnails: false,
      ...overrides,
    },
  );
  const server = await startServer(config, {
    logger: opts.logger ?? createLogger({ level: process.env.GANTRY_TEST_LOG ?? 'silent' }),
  });
  const url = server.url;
  const login = await fetch(`${url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  if (!login.ok) throw new Error(`login failed: ${login.status} ${await login.text()}`);
  const { token } = (await login.json()) as { token: string };
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const t: TestServer = {
    server,
    url,
    token,
    dataDir,
    api,
    async close() {
      // t.server may have been replaced by a restart test.
      await t.server.close();
      await removeTempDirs();
    },
  };
  return t;
}

const GIT_ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: tmpdir(),
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
};

export async function git(cwd: string, args: string[]): Promise<ExecResult> {
  return run('git', args, { cwd, env: GIT_ENV });
}

/** Copies a fixture into a fresh git repo with one commit; returns the repo dir. */
export async function fixtureRepo(fixture: string): Promise<string> {
  const dir = await tempDir(`gantry-repo-${fixture}-`);
  await cp(join(FIXTURES, fixture), dir, { recursive: true, verbatimSymlinks: true });
  await git(dir, ['init', '-q', '-b', 'main']);
  await commitAll(dir, 'initial');
  return dir;
}

export async function commitAll(dir: string, message: string): Promise<void> {
  await git(dir, ['add', '-A']);
  const r = await git(dir, ['commit', '-q', '--allow-empty', '-m', message]);
  if (r.code !== 0) throw new Error(`git commit failed: ${r.stderr}`);
}

/** `git push` over HTTP with the admin's basic auth. Resolves with the result whatever the exit code. */
export async function push(t: TestServer, dir: string, app: string, ref = 'main'): Promise<ExecResult> {
  const u = new URL(t.url);
  u.username = 'admin';
  u.password = ADMIN_PASSWORD;
  u.pathname = `/git/${app}.git`;
  return git(dir, ['push', '--porcelain', u.toString(), `+HEAD:refs/heads/${ref}`]);
}

/**
 * Creates an app as admin. Public by default so tests about deploys can open it
 * without logging in; access tests pass `restricted`.
 */
export async function createApp(
  t: TestServer,
  name: string,
  visibility: 'public' | 'authenticated' | 'restricted' = 'public',
): Promise<void> {
  await t.api('POST', '/api/apps', { name });
  if (visibility !== 'restricted') await t.api('PUT', `/api/apps/${name}/access/visibility`, { visibility });
}

/** Creates the app and pushes the fixture; throws with the push output if it fails. */
export async function deployFixture(
  t: TestServer,
  app: string,
  fixture: string,
  visibility: 'public' | 'authenticated' | 'restricted' = 'public',
): Promise<{ repo: string; output: string }> {
  await createApp(t, app, visibility);
  const repo = await fixtureRepo(fixture);
  const r = await push(t, repo, app);
  if (r.code !== 0) throw new Error(`push of ${fixture} failed:\n${r.stderr}`);
  return { repo, output: r.stderr };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value or the timeout passes. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(100);
  }
}

/** One in-process run of the `gantry` CLI. */
export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs the `gantry` CLI in-process (no stdin) with HOME at `home`, where
 * `gantry login` keeps its config and token. Imported lazily so tests that never
 * run the CLI do not load it.
 */
export async function runCli(home: string, argv: string[], cwd = home): Promise<CliRun> {
  const { main } = await import('../../src/cli/index.js');
  const { Readable } = await import('node:stream');
  let out = '';
  let err = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    stdin: Readable.from([]),
    env: { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), PATH: process.env.PATH },
    cwd,
  });
  return { code, out, err };
}

/** An app's recent log lines as text (`TIMESTAMP APP.TYPE.N: line`), read with the admin token. */
export async function appLogs(t: TestServer, app: string, lines = 500): Promise<string> {
  const res = await fetch(`${t.url}/api/apps/${app}/logs?lines=${lines}`, {
    headers: { authorization: `Bearer ${t.token}` },
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`logs of ${app}: ${res.status} ${text}`);
  return text;
}

export interface LoadResult {
  ok: number;
  failed: number;
  /** The first few failures (status and body start, or the error). */
  errors: string[];
}

/**
 * Closed-loop load: `clients` concurrent clients each request `url` again as soon
 * as the previous answer arrived, until `stop()`; any non-200 answer is a failure.
 */
export function startLoad(url: string, clients: number): { stop: () => Promise<LoadResult> } {
  const r: LoadResult = { ok: 0, failed: 0, errors: [] };
  let running = true;
  const fail = (what: string): void => {
    r.failed++;
    if (r.errors.length < 10) r.errors.push(what);
  };
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      try {
        const res = await fetch(url);
        const body = await res.text();
        if (res.status === 200) r.ok++;
        else fail(`${res.status}: ${body.slice(0, 120)}`);
      } catch (e) {
        fail(String(e));
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return r;
    },
  };
}
