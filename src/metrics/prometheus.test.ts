import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../log/index.js';
import { LATENCY_BUCKETS_MS, type AppTraffic } from '../router/types.js';
import type { ProcessStatus } from '../runtime/types.js';
import { MetricsRecorder, escapeLabelValue, type MetricsSources } from './index.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const VALUE = '[+-]?(?:Inf|NaN|(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?)';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(${LABEL}(?:,${LABEL})*)?\\})? (${VALUE})$`);

function unescape(v: string): string {
  return v.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

/** A strict reader of text format 0.0.4 (no timestamps: Gantry writes none). */
function parse(text: string): Exposition {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const out: Exposition = { types: new Map(), help: new Map(), samples: [] };
  let family: string | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, what, name, rest] = meta as unknown as [string, 'HELP' | 'TYPE', string, string];
      assert.match(name, new RegExp(`^${NAME}$`));
      const seen = what === 'HELP' ? out.help : out.types;
      assert.ok(!seen.has(name), `${what} ${name} given twice`);
      if (what === 'TYPE') assert.match(rest, /^(counter|gauge|histogram|summary|untyped)$/);
      seen.set(name, rest);
      family = name;
      continue;
    }
    assert.ok(!line.startsWith('#'), `unexpected comment: ${line}`);
    const m = SAMPLE.exec(line);
    assert.ok(m, `not a sample line: ${JSON.stringify(line)}`);
    const name = m[1]!;
    const type = family === undefined ? undefined : out.types.get(family);
    const suffixes = type === 'histogram' ? ['_bucket', '_sum', '_count'] : [''];
    assert.ok(
      family !== undefined && suffixes.some((s) => name === family + s),
      `${name} is outside its family's block (${family})`,
    );
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(
      new RegExp(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\]|\\\\.)*)"`, 'g'),
    )) {
      assert.ok(!(l[1]! in labels), `label ${l[1]} repeated`);
      labels[l[1]!] = unescape(l[2]!);
    }
    const v = m[3]!;
    const value = v.endsWith('Inf') ? (v.startsWith('-') ? -Infinity : Infinity) : Number(v);
    out.samples.push({ name, labels, value });
  }
  const keys = out.samples.map((s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`);
  assert.equal(new Set(keys).size, keys.length, 'duplicate series');
  return out;
}

const get = (e: Exposition, name: string, labels: Record<string, string>): number | undefined =>
  e.samples.find(
    (s) =>
      s.name === name &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v) &&
      Object.keys(s.labels).length === Object.keys(labels).length,
  )?.value;

function traffic(requests: number, buckets: number[], sumMs: number): AppTraffic {
  return {
    lastActive: 0,
    httpInflight: 2,
    webSockets: 1,
    requests,
    errors: 3,
    latencyBuckets: buckets,
    latencySumMs: sumMs,
  };
}

function proc(app: string, type: string, index: number, extra: Partial<ProcessStatus> = {}): ProcessStatus {
  return {
    deployment: `${app}@v1`,
    app,
    release: 1,
    type,
    index,
    name: `${app}.${type}.${index}`,
    state: 'running',
    host: '127.0.0.1',
    restarts: 0,
    ...extra,
  };
}

const WEIRD = 'we"ird\\app\nx';

function sources(): MetricsSources {
  const buckets = LATENCY_BUCKETS_MS.map((_, i) => i + 1).concat([4]);
  const t = new Map<string, AppTraffic>([
    ['sales', traffic(82, buckets, 123_456)],
    [WEIRD, traffic(1, [1, ...new Array<number>(LATENCY_BUCKETS_MS.length).fill(0)], 4)],
  ]);
  const at = new Date();
  const p = new Map<string, ProcessStatus[]>([
    [
      'sales',
      [
        proc('sales', 'web', 1, {
          usage: { cpuPercent: 12.5, memoryBytes: 1_000_000, at },
          restarts: 2,
          oomKills: 1,
        }),
        // The old release's web.1 during a rollout: the new one is reported.
        proc('sales', 'web', 1, { release: 0, usage: { cpuPercent: 99, memoryBytes: 9, at }, restarts: 7 }),
        proc('sales', 'web', 2, { state: 'starting' }),
        proc('sales', 'worker', 1, { usage: { cpuPercent: 3, memoryBytes: 2_000_000, at } }),
        proc('sales', 'web', 3, {
          state: 'crashed',
          usage: { cpuPercent: 50, memoryBytes: 5, at },
          restarts: 4,
        }),
      ],
    ],
  ]);
  return {
    apps: () => ['sales', WEIRD, 'idle'],
    traffic: (app) => t.get(app),
    processes: (app) => p.get(app) ?? [],
    state: (app) => (app === 'idle' ? 'asleep' : 'awake'),
  };
}

test('the exposition parses, every family has HELP and TYPE, histograms are consistent', () => {
  const rec = new MetricsRecorder({ sources: sources(), logger: silentLogger });
  const e = parse(rec.prometheus());
  for (const name of e.types.keys()) assert.ok(e.help.has(name), `HELP of ${name}`);
  assert.deepEqual(Object.fromEntries(e.types), {
    gantry_app_requests_total: 'counter',
    gantry_app_request_errors_total: 'counter',
    gantry_app_request_duration_seconds: 'histogram',
    gantry_app_inflight_requests: 'gauge',
    gantry_app_websockets: 'gauge',
    gantry_app_replicas: 'gauge',
    gantry_app_asleep: 'gauge',
    gantry_process_cpu_percent: 'gauge',
    gantry_process_memory_bytes: 'gauge',
    gantry_process_restarts_total: 'counter',
    gantry_process_oom_kills_total: 'counter',
  });
  for (const app of ['sales', WEIRD, 'idle']) {
    const buckets = e.samples.filter(
      (s) => s.name === 'gantry_app_request_duration_seconds_bucket' && s.labels.app === app,
    );
    assert.equal(buckets.length, LATENCY_BUCKETS_MS.length + 1);
    const les = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
    assert.deepEqual(les, [...LATENCY_BUCKETS_MS.map((ms) => ms / 1000), Infinity]);
    for (let i = 1; i < buckets.length; i++)
      assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, 'monotonic');
    assert.equal(buckets.at(-1)!.value, get(e, 'gantry_app_request_duration_seconds_count', { app }));
  }
});

test('the exposition reports what the sources say', () => {
  const rec = new MetricsRecorder({ sources: sources(), logger: silentLogger });
  const e = parse(rec.prometheus());
  const sales = { app: 'sales' };
  assert.equal(get(e, 'gantry_app_requests_total', sales), 82);
  assert.equal(get(e, 'gantry_app_request_errors_total', sales), 3);
  assert.equal(get(e, 'gantry_app_request_duration_seconds_bucket', { app: 'sales', le: '0.005' }), 1);
  assert.equal(get(e, 'gantry_app_request_duration_seconds_bucket', { app: 'sales', le: '0.01' }), 3);
  assert.equal(get(e, 'gantry_app_request_duration_seconds_bucket', { app: 'sales', le: '+Inf' }), 70);
  assert.equal(get(e, 'gantry_app_request_duration_seconds_sum', sales), 123.456);
  assert.equal(get(e, 'gantry_app_inflight_requests', sales), 2);
  assert.equal(get(e, 'gantry_app_websockets', sales), 1);
  assert.equal(get(e, 'gantry_app_replicas', sales), 1);
  assert.equal(get(e, 'gantry_app_asleep', sales), 0);
  assert.equal(get(e, 'gantry_app_asleep', { app: 'idle' }), 1);
  assert.equal(get(e, 'gantry_app_requests_total', { app: 'idle' }), 0);
  const web1 = { app: 'sales', process: 'sales.web.1', type: 'web' };
  assert.equal(get(e, 'gantry_process_cpu_percent', web1), 12.5);
  assert.equal(get(e, 'gantry_process_memory_bytes', web1), 1_000_000);
  assert.equal(get(e, 'gantry_process_restarts_total', web1), 2);
  assert.equal(get(e, 'gantry_process_oom_kills_total', web1), 1);
  const worker = { app: 'sales', process: 'sales.worker.1', type: 'worker' };
  assert.equal(get(e, 'gantry_process_cpu_percent', worker), 3);
  assert.equal(get(e, 'gantry_process_oom_kills_total', worker), 0);
  // A crashed process still counts restarts, but has no current usage.
  const web3 = { app: 'sales', process: 'sales.web.3', type: 'web' };
  assert.equal(get(e, 'gantry_process_restarts_total', web3), 4);
  assert.equal(get(e, 'gantry_process_cpu_percent', web3), undefined);
  // Label values survive escaping.
  assert.equal(get(e, 'gantry_app_requests_total', { app: WEIRD }), 1);
  assert.equal(get(e, 'gantry_app_request_duration_seconds_sum', { app: WEIRD }), 0.004);
});

test('without a state source there is no asleep family', () => {
  const { state: _state, ...rest } = sources();
  const rec = new MetricsRecorder({ sources: rest, logger: silentLogger });
  const e = parse(rec.prometheus());
  assert.equal(e.types.has('gantry_app_asleep'), false);
  assert.equal(e.types.has('gantry_app_replicas'), true);
});

test('label values escape backslash, quote and newline', () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const rec = new MetricsRecorder({ sources: sources(), logger: silentLogger });
  assert.ok(rec.prometheus().includes('gantry_app_websockets{app="we\\"ird\\\\app\\nx"} 1\n'));
});
