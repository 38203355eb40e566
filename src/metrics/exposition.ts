import type { Logger } from '../log/index.js';
import { LATENCY_BUCKETS_MS } from '../router/types.js';
import type { ProcessStatus } from '../runtime/types.js';
import { Family } from './prometheus.js';
import type { MetricsSources } from './recorder.js';

/** States whose last usage sample is stale. */
export const PROCESS_GONE: ReadonlySet<string> = new Set(['stopped', 'crashed']);

const LE = [...LATENCY_BUCKETS_MS.map((ms) => String(ms / 1000)), '+Inf'];

/**
 * `/metrics`: the router's counters and the runtime's process state as they
 * are now (not the sampled series), every family with HELP and TYPE, apps sorted.
 * An app whose sources throw is left out (and logged); the rest still render.
 */
export function renderPrometheus(s: MetricsSources, logger: Logger): string {
  const f = {
    requests: new Family(
      'gantry_app_requests_total',
      'counter',
      'Proxied requests finished (any status) plus WebSockets closed.',
    ),
    errors: new Family(
      'gantry_app_request_errors_total',
      'counter',
      'Proxied requests answered with a 5xx status.',
    ),
    duration: new Family(
      'gantry_app_request_duration_seconds',
      'histogram',
      'Time to response end of proxied requests.',
    ),
    inflight: new Family('gantry_app_inflight_requests', 'gauge', 'Proxied HTTP requests in flight.'),
    websockets: new Family('gantry_app_websockets', 'gauge', 'Open proxied WebSockets.'),
    replicas: new Family('gantry_app_replicas', 'gauge', 'Running web processes.'),
    asleep: s.state
      ? new Family('gantry_app_asleep', 'gauge', '1 while the app is scaled to zero.')
      : undefined,
    cpu: new Family('gantry_process_cpu_percent', 'gauge', 'CPU use of the process, percent of one core.'),
    memory: new Family('gantry_process_memory_bytes', 'gauge', 'Memory use of the process.'),
    restarts: new Family(
      'gantry_process_restarts_total',
      'counter',
      'Restarts of the process slot after crashes.',
    ),
    ooms: new Family(
      'gantry_process_oom_kills_total',
      'counter',
      'Kills of the process slot for exceeding its memory limit.',
    ),
  };
  let apps: string[];
  try {
    apps = [...new Set(s.apps())].sort();
  } catch (err) {
    logger.error({ err }, 'listing apps for metrics failed');
    apps = [];
  }
  for (const app of apps) {
    try {
      // Read everything first: a throwing source must not leave half an app in the output.
      const t = s.traffic(app);
      const procs = latestByName(s.processes(app));
      const state = s.state?.(app);
      const l = { app };
      f.requests.add(l, t?.requests ?? 0);
      f.errors.add(l, t?.errors ?? 0);
      let cumulative = 0;
      for (let i = 0; i < LE.length; i++) {
        cumulative += t?.latencyBuckets[i] ?? 0;
        f.duration.add({ app, le: LE[i]! }, cumulative, '_bucket');
      }
      f.duration.add(l, (t?.latencySumMs ?? 0) / 1000, '_sum');
      f.duration.add(l, cumulative, '_count');
      f.inflight.add(l, t?.httpInflight ?? 0);
      f.websockets.add(l, t?.webSockets ?? 0);
      f.replicas.add(l, procs.filter((p) => p.type === 'web' && p.state === 'running').length);
      f.asleep?.add(l, state === 'asleep' ? 1 : 0);
      for (const p of procs) {
        const pl = { app, process: p.name, type: p.type };
        if (p.usage && !PROCESS_GONE.has(p.state)) {
          f.cpu.add(pl, p.usage.cpuPercent);
          f.memory.add(pl, p.usage.memoryBytes);
        }
        f.restarts.add(pl, p.restarts);
        f.ooms.add(pl, p.oomKills ?? 0);
      }
    } catch (err) {
      logger.error({ err, app }, 'collecting app metrics failed');
    }
  }
  return Object.values(f)
    .filter((x) => x !== undefined)
    .map(String)
    .join('');
}

/**
 * During a rollout the old and the new release may both have e.g. `sales.web.1`;
 * a scrape must not hold two samples with the same labels, so the newer wins.
 */
function latestByName(procs: ProcessStatus[]): ProcessStatus[] {
  const byName = new Map<string, ProcessStatus>();
  for (const p of procs) {
    const seen = byName.get(p.name);
    if (!seen || p.release > seen.release) byName.set(p.name, p);
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
