/**
 * Startup health checks for a new release's web processes. The default check
 * passes as soon as the process answers HTTP at all on its port; app.json
 * `startup` checks then run with their own path, content, attempts and wait.
 */
import { request } from 'node:http';
import type { HealthCheck } from '../apps/manifest.js';
import { GantryError } from '../errors/index.js';
import { waitListening, type ProcessStatus } from '../runtime/index.js';

export interface HealthTarget {
  name: string;
  host: string;
  port: number;
}

export interface HealthOptions {
  app: string;
  targets: HealthTarget[];
  checks: HealthCheck[];
  timeoutMs: number;
  /** Returns a reason if the process died (fail fast instead of waiting for the timeout). */
  deadReason: (name: string) => string | undefined;
  output: (text: string) => void;
  signal?: AbortSignal;
}

interface Probe {
  status: number;
  body: string;
}

export function probe(t: HealthTarget, app: string, path: string, timeoutMs: number): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: t.host,
        port: t.port,
        path: `/apps/${app}/${path.replace(/^\/+/, '')}`,
        method: 'GET',
        headers: {
          host: `${t.host}:${t.port}`,
          'user-agent': 'gantry-healthcheck',
          'x-forwarded-prefix': `/apps/${app}`,
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < 1 << 20) chunks.push(c);
          size += c.length;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new GantryError('GANTRY_HEALTHCHECK_FAILED', 'deploy aborted'));
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new GantryError('GANTRY_HEALTHCHECK_FAILED', 'deploy aborted'));
      },
      { once: true },
    );
  });

/** Waits until the process answers HTTP (any status). Polls fast: readiness should be seen within ~50 ms. */
async function waitAnswering(o: HealthOptions, t: HealthTarget, deadline: number): Promise<void> {
  let delay = 20;
  let last: string;
  for (;;) {
    const dead = o.deadReason(t.name);
    if (dead) throw new GantryError('GANTRY_HEALTHCHECK_FAILED', `${t.name} ${dead} during startup`);
    try {
      await probe(t, o.app, '/', 5000);
      return;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) {
      throw new GantryError(
        'GANTRY_HEALTHCHECK_FAILED',
        `${t.name} did not answer HTTP on its port within ${Math.round(o.timeoutMs / 1000)} s (${last}): make sure the web process listens on $PORT`,
      );
    }
    await sleep(delay, o.signal);
    delay = Math.min(delay * 2, 250);
  }
}

async function runCheck(o: HealthOptions, t: HealthTarget, c: HealthCheck): Promise<void> {
  if (c.initialDelay > 0) await sleep(c.initialDelay * 1000, o.signal);
  let why = '';
  for (let i = 1; i <= c.attempts; i++) {
    const dead = o.deadReason(t.name);
    if (dead) throw new GantryError('GANTRY_HEALTHCHECK_FAILED', `${t.name} ${dead} during startup`);
    try {
      const r = await probe(t, o.app, c.path, c.timeout * 1000);
      if (r.status >= 400) why = `answered ${r.status}`;
      else if (c.content !== undefined && !r.body.includes(c.content))
        why = `response does not contain "${c.content}"`;
      else return;
    } catch (e) {
      why = (e as Error).message;
    }
    o.output(`       ${c.name}: attempt ${i}/${c.attempts} failed: ${why}\n`);
    if (i < c.attempts) await sleep(c.wait * 1000, o.signal);
  }
  throw new GantryError(
    'GANTRY_HEALTHCHECK_FAILED',
    `health check "${c.name}" failed for ${t.name} on ${c.path}: ${why}`,
  );
}

export async function waitHealthy(o: HealthOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  const startup = o.checks.filter((c) => c.type === 'startup');
  await Promise.all(
    o.targets.map(async (t) => {
      await waitAnswering(o, t, deadline);
      for (const c of startup) await runCheck(o, t, c);
    }),
  );
}

/** How a process ended ("exited with status 1", "was killed by SIGKILL"), if it has. */
export function deathReason(p: ProcessStatus | undefined): string | undefined {
  if (!p?.lastExit) return undefined;
  return p.lastExit.code !== null
    ? `exited with status ${p.lastExit.code}`
    : `was killed by ${p.lastExit.signal}`;
}

/**
 * Resolves with a just-started web process once it accepts connections (polled every
 * few ms: cold starts wait on this) and passes the startup `checks`; rejects if it dies
 * or does not listen within `timeoutMs`. `current` reads the process's latest status.
 */
export async function waitServing(o: {
  app: string;
  process: ProcessStatus;
  checks: HealthCheck[];
  timeoutMs: number;
  current: () => ProcessStatus | undefined;
}): Promise<ProcessStatus> {
  const p = o.process;
  const deadline = Date.now() + o.timeoutMs;
  const ok = await waitListening({
    host: p.host,
    port: p.port!,
    timeoutMs: o.timeoutMs,
    alive: () => o.current()?.state === 'running',
  });
  const short = p.name.slice(o.app.length + 1);
  if (!ok) {
    const dead = deathReason(o.current());
    throw new Error(dead ? `${short} ${dead} during startup` : `${short} did not listen on $PORT in time`);
  }
  if (o.checks.length)
    await waitHealthy({
      app: o.app,
      targets: [{ name: p.name, host: p.host, port: p.port! }],
      checks: o.checks,
      timeoutMs: Math.max(1000, deadline - Date.now()),
      deadReason: () => deathReason(o.current()),
      output: () => undefined,
    });
  return o.current() ?? p;
}
