/**
 * FakePlatform's elastic-app behaviour, in memory: scaling settings with
 * server defaults and bounds, sleep and wake, limits per process type,
 * events and processes with usage (cron, runs and metrics: ./fake-jobs.ts).
 * Errors are the ones the real platform throws.
 */
import { GantryError } from '../errors/index.js';
import {
  awakeReplicas,
  resolveScaling,
  type ScalingDefaults,
  type ScalingOverrides,
} from '../scaler/types.js';
import type { ProcessStatus, ResourceLimits, ResourceUsage } from '../runtime/types.js';
import { effectiveLimits, formatBytes, type LimitPolicy } from '../apps/index.js';
import type { AppEvent, AppInfo, CronRunInfo, LimitsInfo, MetricPoint, ScalingInfo } from './platform.js';

export interface ElasticState {
  scaling: ScalingOverrides;
  asleep: boolean;
  limits: Record<string, ResourceLimits>;
  /** Oldest first. */
  events: AppEvent[];
  cron: { schedule: string; command: string }[];
  /** Newest first. */
  runs: CronRunInfo[];
  /** Samples tests add with `addMetric`. */
  metrics: MetricPoint[];
  /** Per process name; processes without an entry report DEFAULT_USAGE. */
  usage: Map<string, Omit<ResourceUsage, 'at'>>;
  oomKills: Map<string, number>;
}

export const newElasticState = (): ElasticState => ({
  scaling: {},
  asleep: false,
  limits: {},
  events: [],
  cron: [],
  runs: [],
  metrics: [],
  usage: new Map(),
  oomKills: new Map(),
});

/** What the fake needs of an app. */
export interface ElasticApp {
  info: AppInfo;
  config: Record<string, string>;
  elastic: ElasticState;
}

export const FAKE_SCALING_DEFAULTS: ScalingDefaults = {
  min: 0,
  concurrency: 10,
  idleTimeoutMs: 15 * 60_000,
  maxReplicas: 10,
};
export const FAKE_LIMIT_POLICY: LimitPolicy = {
  defaults: { memoryBytes: 1024 ** 3, pids: 1024 },
  maxima: { memoryBytes: 8 * 1024 ** 3, pids: 4096 },
};
export const DEFAULT_USAGE = { cpuPercent: 1.5, memoryBytes: 84 * 1024 ** 2 };

export class FakeElastic {
  readonly #find: (name: string) => ElasticApp;
  scalingDefaults: ScalingDefaults = { ...FAKE_SCALING_DEFAULTS };
  limitPolicy: LimitPolicy = {
    defaults: { ...FAKE_LIMIT_POLICY.defaults },
    maxima: { ...FAKE_LIMIT_POLICY.maxima },
  };
  /** What the host can enforce (tests switch it off to see the "not enforced" view). */
  capabilities: { enforced: boolean; cgroup: 'v1' | 'v2' | null; reason?: string } = {
    enforced: true,
    cgroup: 'v2',
  };
  constructor(find: (name: string) => ElasticApp) {
    this.#find = find;
  }

  event(a: ElasticApp, kind: string, process: string | null, message: string): void {
    a.elastic.events.push({ at: new Date().toISOString(), kind, process, message });
  }

  #awake(a: ElasticApp): number {
    const s = resolveScaling(a.elastic.scaling, this.scalingDefaults);
    return awakeReplicas({ ...s, base: a.info.formation.web ?? 1 });
  }

  /** Web processes running now. */
  webCount(a: ElasticApp): number {
    return a.info.currentVersion === null || a.elastic.asleep ? 0 : this.#awake(a);
  }

  getScaling(name: string): ScalingInfo {
    const a = this.#find(name);
    const replicas = this.webCount(a);
    return {
      settings: resolveScaling(a.elastic.scaling, this.scalingDefaults),
      custom: Object.keys(a.elastic.scaling) as ScalingInfo['custom'],
      state: a.info.currentVersion === null ? 'stopped' : a.elastic.asleep ? 'asleep' : 'awake',
      replicas,
      desired: replicas,
      maxReplicas: this.scalingDefaults.maxReplicas,
    };
  }

  setScaling(
    name: string,
    change: { [K in keyof ScalingOverrides]?: ScalingOverrides[K] | null },
  ): ScalingInfo {
    const a = this.#find(name);
    const next: ScalingOverrides = { ...a.elastic.scaling };
    for (const [k, v] of Object.entries(change)) {
      if (v === null) delete next[k as keyof ScalingOverrides];
      else Object.assign(next, { [k]: v });
    }
    const s = resolveScaling(next, this.scalingDefaults);
    const bound = this.scalingDefaults.maxReplicas;
    if (s.min > bound || (s.max ?? 0) > bound) {
      throw new GantryError('GANTRY_BAD_REQUEST', `at most ${bound} web processes on this server`);
    }
    if (s.max !== null && s.min > s.max) {
      throw new GantryError('GANTRY_BAD_REQUEST', `min (${s.min}) must not be above max (${s.max})`);
    }
    a.elastic.scaling = next;
    // An app that may no longer sleep is woken.
    if (s.min > 0) a.elastic.asleep = false;
    return this.getScaling(name);
  }

  /** ps:scale of web on an autoscaled app is the scaler's job: refused as the real platform does. */
  checkScale(name: string, formation: Record<string, number>): void {
    const s = resolveScaling(this.#find(name).elastic.scaling, this.scalingDefaults);
    if (formation.web !== undefined && s.max !== null) {
      throw new GantryError(
        'GANTRY_CONFLICT',
        `web processes of ${name} are autoscaled (${s.min}–${s.max}): change them with autoscale:set, or turn autoscaling off with autoscale:set --max none`,
      );
    }
  }

  sleep(name: string): void {
    const a = this.deployed(name);
    if (a.elastic.asleep) return;
    a.elastic.asleep = true;
    this.event(a, 'sleep', null, 'asleep: put to sleep by hand');
  }

  wake(name: string): void {
    const a = this.deployed(name);
    if (!a.elastic.asleep) return;
    a.elastic.asleep = false;
    this.event(a, 'wake', null, 'awake: woken by hand');
  }

  /** The app, which must have a release (GANTRY_NO_RELEASE otherwise). */
  deployed(name: string): ElasticApp {
    const a = this.#find(name);
    if (a.info.currentVersion === null) {
      throw new GantryError('GANTRY_NO_RELEASE', `${name} has not been deployed yet`);
    }
    return a;
  }

  #effective(a: ElasticApp, type: string): ResourceLimits {
    return effectiveLimits(a.elastic.limits[type], this.limitPolicy);
  }

  getLimits(name: string): LimitsInfo {
    const a = this.#find(name);
    const types = new Set([...Object.keys(a.info.processTypes), ...Object.keys(a.elastic.limits)]);
    const { enforced, cgroup, reason } = this.capabilities;
    return {
      types: Object.fromEntries([...types].sort().map((t) => [t, this.#effective(a, t)])),
      custom: structuredClone(a.elastic.limits),
      defaults: { ...this.limitPolicy.defaults },
      maxima: { ...this.limitPolicy.maxima },
      enforced,
      cgroup,
      ...(reason === undefined ? {} : { reason }),
    };
  }

  setLimits(name: string, type: string, limits: ResourceLimits | null): LimitsInfo {
    const a = this.#find(name);
    if (limits === null) {
      delete a.elastic.limits[type];
    } else {
      const max = this.limitPolicy.maxima;
      if (max.memoryBytes !== undefined && (limits.memoryBytes ?? 0) > max.memoryBytes) {
        throw new GantryError(
          'GANTRY_BAD_REQUEST',
          `memory above this server's maximum of ${formatBytes(max.memoryBytes)}`,
        );
      }
      if (max.cpu !== undefined && (limits.cpu ?? 0) > max.cpu) {
        throw new GantryError('GANTRY_BAD_REQUEST', `cpu above this server's maximum of ${max.cpu}`);
      }
      if (max.pids !== undefined && (limits.pids ?? 0) > max.pids) {
        throw new GantryError('GANTRY_BAD_REQUEST', `pids above this server's maximum of ${max.pids}`);
      }
      a.elastic.limits[type] = { ...limits };
    }
    if (a.info.currentVersion !== null) this.event(a, 'restart', null, `${type} restarted with new limits`);
    return this.getLimits(name);
  }

  /** The processes a deployed app runs now, with limits and usage. */
  processes(name: string): ProcessStatus[] {
    const a = this.#find(name);
    const version = a.info.currentVersion;
    if (version === null) return [];
    const out: ProcessStatus[] = [];
    for (const [type, formationCount] of Object.entries(a.info.formation)) {
      const count = type === 'web' ? this.webCount(a) : formationCount;
      for (let i = 1; i <= count; i++) {
        const processName = `${name}.${type}.${i}`;
        const limits = this.#effective(a, type);
        out.push({
          deployment: `${name}@v${version}`,
          app: name,
          release: version,
          type,
          index: i,
          name: processName,
          state: 'running',
          host: '127.0.0.1',
          port: 5000 + i,
          restarts: a.elastic.oomKills.get(processName) ?? 0,
          startedAt: new Date('2026-01-02T03:04:05.000Z'),
          ...(this.capabilities.enforced ? { limits } : {}),
          usage: { ...(a.elastic.usage.get(processName) ?? DEFAULT_USAGE), at: new Date() },
          oomKills: a.elastic.oomKills.get(processName) ?? 0,
        });
      }
    }
    return out;
  }

  listEvents(name: string, limit: number): AppEvent[] {
    return this.#find(name).elastic.events.slice(-limit).reverse();
  }
}
