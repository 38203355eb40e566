import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricPoint, MetricSeries } from '../api/platform.js';
import type { ProcessStatus } from '../runtime/types.js';
import { appUsage, summarize } from './overview.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

const proc = (type: string, state: ProcessStatus['state'], cpu: number, mem: number): ProcessStatus => ({
  deployment: 'd',
  app: 'sales',
  release: 1,
  type,
  index: 1,
  name: `sales.${type}.1`,
  state,
  host: '127.0.0.1',
  restarts: 0,
  usage: { cpuPercent: cpu, memoryBytes: mem, at: new Date(NOW) },
});

const point = (agoMs: number, p: Partial<MetricPoint>): MetricPoint => ({
  t: NOW - agoMs,
  rps: 0,
  p50Ms: null,
  p95Ms: null,
  errors: 0,
  cpuPercent: 0,
  memoryBytes: 0,
  replicas: 1,
  ...p,
});

const series = (points: MetricPoint[]): MetricSeries => ({
  app: 'sales',
  range: '1h',
  stepSeconds: 10,
  points,
});

test('usage sums running processes, averages the last 5 minutes and counts the hour of errors', () => {
  const u = appUsage({
    name: 'sales',
    owner: 'ada',
    status: 'running',
    processes: [
      proc('web', 'running', 20, 100),
      proc('web', 'starting', 5, 50),
      proc('worker', 'running', 10, 30),
      proc('worker', 'crashed', 99, 999),
    ],
    series: series([
      point(50 * 60_000, { rps: 100, p95Ms: 900, errors: 7 }),
      point(4 * 60_000, { rps: 4, p95Ms: 100, errors: 1 }),
      point(60_000, { rps: 2, p95Ms: null, errors: 2 }),
      point(0, { rps: 6, p95Ms: 300 }),
    ]),
    now: NOW,
  });
  assert.deepEqual(u, {
    name: 'sales',
    owner: 'ada',
    status: 'running',
    processes: 3,
    webReplicas: 2,
    cpuPercent: 35,
    memoryBytes: 180,
    rps: 4,
    p95Ms: 200,
    errors: 10,
  });
});

test('an idle app has zero traffic and no p95', () => {
  const u = appUsage({ name: 'a', owner: null, status: 'new', processes: [], series: series([]), now: NOW });
  assert.equal(u.rps, 0);
  assert.equal(u.p95Ms, null);
  assert.equal(u.processes, 0);
});

test('the overview lists the busiest first and counts apps by state', () => {
  const base = { owner: null, processes: 1, webReplicas: 1, p95Ms: null, errors: 0 };
  const o = summarize(
    [
      { ...base, name: 'quiet', status: 'sleeping', processes: 0, rps: 0, cpuPercent: 0, memoryBytes: 0 },
      { ...base, name: 'cpu', status: 'running', rps: 1, cpuPercent: 80, memoryBytes: 10 },
      { ...base, name: 'busy', status: 'running', rps: 50, cpuPercent: 1, memoryBytes: 10 },
      { ...base, name: 'mem', status: 'crashed', rps: 1, cpuPercent: 80, memoryBytes: 99 },
      { ...base, name: 'fresh', status: 'new', processes: 0, rps: 0, cpuPercent: 0, memoryBytes: 0 },
    ],
    new Date(NOW),
  );
  assert.deepEqual(
    o.apps.map((a) => a.name),
    ['busy', 'mem', 'cpu', 'fresh', 'quiet'],
  );
  assert.deepEqual(o.totals, {
    apps: 5,
    running: 2,
    sleeping: 1,
    stopped: 2,
    processes: 3,
    cpuPercent: 161,
    memoryBytes: 119,
  });
  assert.equal(o.at, new Date(NOW).toISOString());
});
