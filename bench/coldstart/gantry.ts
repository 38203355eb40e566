/**
 * A real Gantry server in this process for the cold-start benchmark (as test/helpers
 * starts one): temp data dir, real bubblewrap sandbox, Debian's Python packages, silent
 * log. Apps are deployed by uploading a tarball, as `gantry deploy` does.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { packSource } from '../../src/cli/tarball.js';
import { loadConfig } from '../../src/config/index.js';
import { appDataPath } from '../../src/deploy/index.js';
import { createLogger } from '../../src/log/index.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { parseLogs, type LogEntry } from './stats.js';

const ADMIN_PASSWORD = 'coldstart-bench-admin-1';

export interface Gantry {
  server: RunningServer;
  port: number;
  dataDir: string;
  /** JSON API as admin; throws on non-2xx with the body. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** The same, for text answers (logs, deploy output). */
  text(method: string, path: string, body?: Buffer, type?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startGantry(opts: { logLevel: string }): Promise<Gantry> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gantry-coldstart-'));
  const config = loadConfig(
    { GANTRY_PYTHON_SYSTEM_PACKAGES: '1' },
    {
      dataDir,
      port: 0,
      host: '127.0.0.1',
      adminPassword: ADMIN_PASSWORD,
      sshPort: null,
      healthcheckTimeoutMs: 60_000,
      stopGraceMs: 3_000,
      drainTimeoutMs: 5_000,
      defaultMinReplicas: 0,
      // The benchmark puts apps to sleep itself: none may doze off on its own mid-round.
      defaultIdleTimeoutMs: 3_600_000,
      logLevel: opts.logLevel,
    },
  );
  const server = await startServer(config, { logger: createLogger({ level: opts.logLevel }) });
  const login = await fetch(`${server.url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  if (!login.ok) throw new Error(`login failed: ${login.status} ${await login.text()}`);
  const { token } = (await login.json()) as { token: string };
  const call = async (
    method: string,
    path: string,
    body?: string | Buffer,
    type?: string,
  ): Promise<string> => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(type ? { 'content-type': type } : {}) },
      body: typeof body === 'string' || body === undefined ? body : new Blob([new Uint8Array(body)]),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text;
  };
  return {
    server,
    port: server.port,
    dataDir,
    async api<T>(method: string, path: string, body?: unknown): Promise<T> {
      const text = await call(
        method,
        path,
        body === undefined ? undefined : JSON.stringify(body),
        body === undefined ? undefined : 'application/json',
      );
      return (text ? JSON.parse(text) : undefined) as T;
    },
    text: call,
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Creates a public app, turns on scale to zero (unless `scaling` is false: a server
 * without it) and deploys `dir`; returns the deploy output.
 */
export async function deployApp(g: Gantry, name: string, dir: string, scaling = true): Promise<string> {
  await g.api('POST', '/api/apps', { name });
  await g.api('PUT', `/api/apps/${name}/access/visibility`, { visibility: 'public' });
  if (scaling) await g.api('PATCH', `/api/apps/${name}/scaling`, { min: 0, idleTimeoutMs: 3_600_000 });
  const file = join(dir, '..', `${name}.tar.gz`);
  await packSource({ dir, file });
  const out = await g.text('POST', `/api/apps/${name}/deploy`, await readFile(file), 'application/gzip');
  const last = out.trimEnd().split('\n').pop() ?? '';
  if (!last.startsWith('=====> DEPLOY OK')) throw new Error(`deploy of ${name} failed:\n${out}`);
  return out;
}

interface ScalingState {
  state: string;
  replicas: number;
}

/** Puts the app to sleep and waits until Gantry reports it asleep. */
export async function putToSleep(g: Gantry, name: string, timeoutMs = 30_000): Promise<void> {
  await g.api('POST', `/api/apps/${name}/sleep`, {});
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await g.api<ScalingState>('GET', `/api/apps/${name}/scaling`);
    if (s.state === 'asleep' && s.replicas === 0) return;
    if (Date.now() > deadline) throw new Error(`${name} still ${s.state} ${timeoutMs} ms after sleep`);
    await sleep(20);
  }
}

/** The serving slug on disk (newest build) and the app's uid (owner of its data dir). */
export async function appFiles(
  g: Gantry,
  name: string,
): Promise<{ slug: string; data: string; uid: number }> {
  const slugs = join(g.dataDir, 'apps', name, 'slugs');
  const dirs = await Promise.all(
    (await readdir(slugs)).map(async (d) => ({ d, t: (await stat(join(slugs, d))).mtimeMs })),
  );
  const newest = dirs.sort((a, b) => b.t - a.t)[0];
  if (!newest) throw new Error(`${name} has no slug in ${slugs}`);
  const data = appDataPath(g.dataDir, name);
  return { slug: join(slugs, newest.d), data, uid: (await stat(data)).uid };
}

interface EventBody {
  at: string;
  kind: string;
  message: string;
}

/** Wake events recorded at or after `since` (epoch ms), oldest first. */
export async function wakeEvents(g: Gantry, name: string, since: number): Promise<EventBody[]> {
  const r = await g.api<EventBody[] | { events: EventBody[] }>('GET', `/api/apps/${name}/events?limit=50`);
  const list = Array.isArray(r) ? r : r.events;
  return list
    .filter((e) => e.kind === 'wake' && Date.parse(e.at) >= since - 1)
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

export async function appLogs(g: Gantry, name: string): Promise<LogEntry[]> {
  return parseLogs(await g.text('GET', `/api/apps/${name}/logs?lines=200`));
}
