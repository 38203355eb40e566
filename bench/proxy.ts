/**
 * Proxy benchmark: one Node hello-world upstream, measured side by side in one run
 *   (a) directly, (b) through nginx with upstream keepalive, (c) through Gantry's router,
 *   (d) through Gantry's router with the auth gate on (session cookie, restricted app,
 *   identity headers and JWT), (e) through nginx with `auth_request` to a Node auth
 *   endpoint running the same gate (PERF.md's baseline architecture),
 * each with `wrk -t1 -c32 --latency`; (d) and (e) send the same session cookie.
 * Everything on 127.0.0.1; all children are stopped at the end. Results: a table on
 * stdout and bench/results/proxy-latest.json.
 *
 * Env: BENCH_DURATION (seconds per measurement, default 8), BENCH_WARMUP (seconds of
 * warm-up per target, default 2), BENCH_ROUNDS (measurements per target, median
 * reported, default 1), BENCH_ROUTER_ARGS (extra node flags for the router processes,
 * e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`), BENCH_ONLY (comma-separated substrings:
 * measure only the targets whose name contains one, e.g. `gantry` while tuning the
 * router; ratios to targets not measured are left blank).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnProcess } from '../src/exec/index.js';
import { cpuMs, withChildren } from './cpu.js';
import { BENCH_COOKIE } from './gate-fixture.js';
import { runWrk, type WrkResult } from './wrk.js';

const here = dirname(fileURLToPath(import.meta.url));
const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const NGINX = '/usr/sbin/nginx';
const PATH = '/apps/hello/';
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);

const children: ChildProcess[] = [];

/** Starts a child and waits for its `listening PORT` line. */
function startNode(
  script: string,
  env: Record<string, string>,
  extraArgs: string[] = [],
): Promise<{ port: number; pid: number }> {
  const child = spawnProcess(process.execPath, [...extraArgs, '--import', 'tsx', join(here, script)], {
    cwd: join(here, '..'),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const m = /listening (\d+)/.exec(buf);
      if (m) resolve({ port: Number(m[1]), pid: child.pid! });
    });
    child.once('exit', (code) => reject(new Error(`${script} exited early (${code})`)));
    child.once('error', reject);
  });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function waitForPort(port: number, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await sleep(50);
  }
}

async function startNginx(
  dir: string,
  upstreamPort: number,
  authPort: number,
): Promise<{ port: number; authGatedPort: number; pid: number }> {
  const port = await freePort();
  const authGatedPort = await freePort();
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await mkdir(join(dir, d));
  const conf = `
worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream app {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
  }
  upstream auth {
    server 127.0.0.1:${authPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
  server {
    listen 127.0.0.1:${authGatedPort};
    location / {
      auth_request /_gantry_auth;
      auth_request_set $gantry_user $upstream_http_x_gantry_user;
      auth_request_set $gantry_email $upstream_http_x_gantry_email;
      auth_request_set $gantry_groups $upstream_http_x_gantry_groups;
      auth_request_set $gantry_identity $upstream_http_gantry_identity;
      proxy_set_header X-Gantry-User $gantry_user;
      proxy_set_header X-Gantry-Email $gantry_email;
      proxy_set_header X-Gantry-Groups $gantry_groups;
      proxy_set_header Gantry-Identity $gantry_identity;
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location = /_gantry_auth {
      internal;
      proxy_pass http://auth;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
    }
  }
}
`;
  const file = join(dir, 'nginx.conf');
  await writeFile(file, conf);
  const child = spawnProcess(NGINX, ['-p', dir, '-e', join(dir, 'error.log'), '-c', file], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  await waitForPort(port);
  await waitForPort(authGatedPort);
  return { port, authGatedPort, pid: child.pid! };
}

async function stopAll(): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const t = setTimeout(() => c.kill('SIGKILL'), 3_000);
          c.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          c.kill('SIGTERM'); // nginx: fast shutdown; node children close their servers
        }),
    ),
  );
}

interface Sample extends WrkResult {
  /** CPU time of the proxy's processes per request (0 for direct). */
  proxyCpuUsPerReq: number;
  /** CPU time of the upstream app per request. */
  appCpuUsPerReq: number;
}

function median(xs: Sample[]): Sample {
  const sorted = [...xs].sort((a, b) => a.requestsPerSec - b.requestsPerSec);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface Row extends Sample {
  path: string;
  url: string;
  vsDirect: number;
  vsNginx: number;
  vsNginxAuth: number;
}

interface Target {
  path: string;
  url: string;
  /** Processes whose CPU time is the proxy's (router, or nginx master + workers + auth endpoint). */
  pids: number[];
  headers?: string[];
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gantry-bench-'));
  try {
    const gateDir = join(dir, 'gate');
    await mkdir(gateDir);
    const upstream = await startNode('upstream.ts', {});
    // Created first: the gated router and the auth endpoint then share the identity key.
    const auth = await startNode('auth-server.ts', { GATE_DATA_DIR: gateDir });
    const nginx = await startNginx(dir, upstream.port, auth.port);
    const routerArgs = (process.env.BENCH_ROUTER_ARGS ?? '').split(' ').filter(Boolean);
    const router = await startNode('router-server.ts', { UPSTREAM_PORT: String(upstream.port) }, routerArgs);
    const gated = await startNode(
      'router-server.ts',
      { UPSTREAM_PORT: String(upstream.port), GATE_DATA_DIR: gateDir },
      routerArgs,
    );
    const nginxPids = await withChildren(nginx.pid);
    const cookie = [`Cookie: ${BENCH_COOKIE}`];

    const all: Target[] = [
      { path: 'direct', url: `http://127.0.0.1:${upstream.port}${PATH}`, pids: [] },
      { path: 'nginx', url: `http://127.0.0.1:${nginx.port}${PATH}`, pids: nginxPids },
      { path: 'gantry router', url: `http://127.0.0.1:${router.port}${PATH}`, pids: [router.pid] },
      {
        path: 'gantry router + gate',
        url: `http://127.0.0.1:${gated.port}${PATH}`,
        pids: [gated.pid],
        headers: cookie,
      },
      {
        path: 'nginx + auth_request',
        url: `http://127.0.0.1:${nginx.authGatedPort}${PATH}`,
        pids: [...nginxPids, auth.pid],
        headers: cookie,
      },
    ];
    const targets = ONLY.length === 0 ? all : all.filter((t) => ONLY.some((o) => t.path.includes(o)));
    // A gated target that refuses the cookie would measure error pages: check first.
    for (const t of targets) {
      const r = await fetch(t.url, {
        headers: Object.fromEntries((t.headers ?? []).map((h) => h.split(': '))),
      });
      const body = await r.text();
      if (r.status !== 200 || body !== 'hello world\n') throw new Error(`${t.path}: ${r.status} ${body}`);
    }
    const samples = new Map<string, Sample[]>(targets.map((t) => [t.path, []]));
    if (WARMUP > 0) {
      for (const t of targets) await runWrk({ url: t.url, durationSec: WARMUP, headers: t.headers });
    }
    // Rounds interleave the targets so drift (load from other processes) hits all alike.
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of targets) {
        const [p0, a0] = [await cpuMs(t.pids), await cpuMs([upstream.pid])];
        const w = await runWrk({ url: t.url, durationSec: DURATION, headers: t.headers });
        const [p1, a1] = [await cpuMs(t.pids), await cpuMs([upstream.pid])];
        samples.get(t.path)!.push({
          ...w,
          proxyCpuUsPerReq: ((p1 - p0) * 1000) / w.requests,
          appCpuUsPerReq: ((a1 - a0) * 1000) / w.requests,
        });
      }
    }
    const results = targets.map((t) => ({ path: t.path, url: t.url, ...median(samples.get(t.path)!) }));
    const rps = (path: string): number => results.find((r) => r.path === path)?.requestsPerSec ?? NaN;
    const direct = rps('direct');
    const nginxRps = rps('nginx');
    const nginxAuthRps = rps('nginx + auth_request');
    const rows: Row[] = results.map((r) => ({
      ...r,
      vsDirect: r.requestsPerSec / direct,
      vsNginx: r.requestsPerSec / nginxRps,
      vsNginxAuth: r.requestsPerSec / nginxAuthRps,
    }));

    const fmt = (n: number, d = 0): string =>
      Number.isNaN(n)
        ? '–'
        : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
    const load = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
    console.log(
      `\nwrk -t1 -c32 -d${DURATION}s --latency, ${ROUNDS} round(s), median by req/s; ${cpus().length} CPUs, load ${load}\n`,
    );
    console.log(
      '| path | req/s | vs direct | vs nginx | vs nginx+auth | p50 | p99 | proxy CPU/req | app CPU/req | errors |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      console.log(
        `| ${r.path} | ${fmt(r.requestsPerSec)} | ${fmt(r.vsDirect, 2)} | ${fmt(r.vsNginx, 2)} | ${fmt(r.vsNginxAuth, 2)} | ${fmt(r.p50Ms, 2)} ms | ${fmt(r.p99Ms, 2)} ms | ${fmt(r.proxyCpuUsPerReq)} µs | ${fmt(r.appCpuUsPerReq)} µs | ${r.errors} |`,
      );
    }
    // A partial run (BENCH_ONLY) is for tuning: it never replaces the recorded full run.
    const out =
      ONLY.length === 0
        ? join(here, 'results', 'proxy-latest.json')
        : join(tmpdir(), 'gantry-bench-partial.json');
    await mkdir(dirname(out), { recursive: true });
    await writeFile(
      out,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          loadavg: load,
          node: process.version,
          cpus: cpus().length,
          wrk: { threads: 1, connections: 32, durationSec: DURATION, warmupSec: WARMUP, rounds: ROUNDS },
          results: rows.map(({ url: _url, ...r }) => r),
          samples: Object.fromEntries(samples),
        },
        null,
        2,
      ) + '\n',
    );
    console.log(`\nwritten to ${out}`);
  } finally {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

process.once('SIGINT', () => {
  stopAll().then(
    () => process.exit(130),
    () => process.exit(130),
  );
});

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
