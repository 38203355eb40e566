/**
 * The elastic side of the Platform: scaling settings (scale to zero, autoscaling,
 * affinity), resource limits, events, cron, one-off runs and metrics. The parts
 * (scaler, cron scheduler, event log, metrics recorder, runtime) are built in
 * server.ts; this file turns API calls into their operations and keeps them in
 * step with the app records.
 */
import type {
  AppEvent,
  CronJobInfo,
  CronRunInfo,
  LimitsInfo,
  MetricSeries,
  OutputSink,
  ScalingInfo,
} from '../api/platform.js';
import { effectiveLimits, formatBytes, type LimitPolicy } from '../apps/limits.js';
import type { AppRecords, AppRow } from '../apps/records.js';
import type { CronEntry } from '../apps/appjson.js';
import { GantryError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { OneOffResult, ResourceLimits, Runtime } from '../runtime/types.js';
import {
  resolveScaling,
  type AppScaling,
  type ScalingDefaults,
  type ScalingOverrides,
  type ScalingSettings,
} from '../scaler/types.js';
import type { Deployer } from './deployer.js';
import { effectiveFormation, type Rollout } from './rollout.js';

/** What this file needs of the scaler (src/scaler). */
export interface ScalerPort {
  configure(app: string, s: AppScaling | undefined): void;
  wake(app: string): Promise<void>;
  sleep(app: string, reason?: string): Promise<void>;
  state(app: string): { state: ScalingInfo['state']; replicas: number; desired: number };
}

/** What this file needs of the cron scheduler and its history (src/jobs). */
export interface CronPort {
  setJobs(app: string, appId: string, entries: CronEntry[] | undefined): void;
  jobs(app: string): Promise<CronJobInfo[]>;
  run(
    app: string,
    jobId: string,
    opts: { trigger: 'manual'; onOutput?: (t: string) => void; signal?: AbortSignal },
  ): Promise<CronRunInfo>;
  runs(appId: string, opts: { jobId?: string; limit: number }): Promise<CronRunInfo[]>;
}

export interface EventsPort {
  record(app: string, e: { kind: string; process?: string | null; message: string }): void;
  list(app: string, opts: { limit: number }): Promise<AppEvent[]>;
}

export interface MetricsPort {
  series(app: string, range: '1h' | '24h'): MetricSeries;
  prometheus(): string;
  forget(app: string): void;
}

export interface ElasticDeps {
  records: AppRecords;
  deployer: Deployer;
  rollout: Rollout;
  runtime: Runtime;
  scaler: ScalerPort;
  cron: CronPort;
  events: EventsPort;
  metrics: MetricsPort;
  scalingDefaults: ScalingDefaults;
  limitPolicy: LimitPolicy;
  logger: Logger;
  /** Quotes argv for the sandbox's /bin/sh (src/jobs). */
  shellCommand: (argv: string[]) => string;
}

/** Longest a `gantry run` one-off may take. */
const RUN_TIMEOUT_MS = 60 * 60_000;
const MIN_MEMORY = 16 * 1024 * 1024;

export type ScalingChange = { [K in keyof ScalingSettings]?: ScalingSettings[K] | null };

function bad(msg: string): never {
  throw new GantryError('GANTRY_BAD_REQUEST', msg);
}

function checkLimits(l: ResourceLimits, max: ResourceLimits): void {
  if (l.memoryBytes !== undefined) {
    if (!Number.isInteger(l.memoryBytes) || l.memoryBytes < MIN_MEMORY)
      bad(`memory must be at least ${formatBytes(MIN_MEMORY)}`);
    if (max.memoryBytes !== undefined && l.memoryBytes > max.memoryBytes)
      bad(
        `memory ${formatBytes(l.memoryBytes)} is above this server's maximum of ${formatBytes(max.memoryBytes)}`,
      );
  }
  if (l.cpu !== undefined) {
    if (!(l.cpu >= 0.01)) bad('cpu must be at least 0.01 (cores)');
    if (max.cpu !== undefined && l.cpu > max.cpu)
      bad(`cpu ${l.cpu} is above this server's maximum of ${max.cpu}`);
  }
  if (l.pids !== undefined) {
    if (!Number.isInteger(l.pids) || l.pids < 8) bad('pids must be a whole number of at least 8');
    if (max.pids !== undefined && l.pids > max.pids)
      bad(`pids ${l.pids} is above this server's maximum of ${max.pids}`);
  }
}

export class ElasticOps {
  readonly #d: ElasticDeps;
  #runs = 0;

  constructor(d: ElasticDeps) {
    this.#d = d;
  }

  /** An app's effective scaling settings: its overrides on top of the server defaults. */
  settings(app: AppRow): ScalingSettings {
    return resolveScaling(app.scaling, this.#d.scalingDefaults);
  }

  /**
   * Web processes a deployment starts with when it goes live awake: an autoscaled app
   * keeps its current size (at least its minimum); otherwise the formation's, never below
   * the minimum.
   */
  webCountFor(app: AppRow, formationWeb: number): number {
    const s = this.settings(app);
    if (s.max === null) return Math.max(formationWeb, s.min);
    const now = this.#d.rollout.webCount(app.name) ?? 0;
    return Math.min(s.max, Math.max(now, s.min, 1));
  }

  /** The scaler's view of an app: its effective settings and the formation's web count. */
  appScaling(app: AppRow): AppScaling {
    const m = this.#d.rollout.active(app.name)?.slug.manifest;
    const base = m ? (effectiveFormation(m.processes, app.formation, m.formation).web ?? 1) : 1;
    return { ...this.settings(app), base };
  }

  /** Hands the app's current settings to the scaler and the route (after a deploy, a change, a start). */
  sync(app: AppRow): void {
    const s = this.appScaling(app);
    this.#d.scaler.configure(app.name, s);
    this.#d.rollout.setAffinity(app.name, s.affinity);
  }

  /**
   * The app went live with a release: settings, cron entries. The row is read again: the
   * one the deploy started with may predate an autoscale:set made during the build.
   */
  live(app: AppRow): void {
    this.sync(app);
    this.#d.cron.setJobs(app.name, app.id, this.#d.rollout.active(app.name)?.slug.manifest.cron);
    this.#d.records
      .find(app.name)
      .then((fresh) => {
        if (fresh) this.sync(fresh);
      })
      .catch((err: unknown) => this.#d.logger.error({ err, app: app.name }, 'cannot re-read app settings'));
  }

  /** The app is gone. */
  forget(app: string): void {
    this.#d.scaler.configure(app, undefined);
    this.#d.cron.setJobs(app, '', undefined);
    this.#d.metrics.forget(app);
  }

  async getScaling(name: string): Promise<ScalingInfo> {
    const app = await this.#d.records.get(name);
    const st = this.#d.scaler.state(name);
    return {
      settings: this.settings(app),
      custom: Object.keys(app.scaling) as (keyof ScalingSettings)[],
      state: st.state,
      replicas: st.replicas,
      desired: st.desired,
      maxReplicas: this.#d.scalingDefaults.maxReplicas,
    };
  }

  async setScaling(name: string, change: ScalingChange): Promise<ScalingInfo> {
    const app = await this.#d.records.get(name);
    const next: ScalingOverrides = { ...app.scaling };
    for (const [k, v] of Object.entries(change) as [keyof ScalingSettings, unknown][]) {
      if (v === undefined) continue;
      if (v === null) delete next[k];
      else (next as Record<string, unknown>)[k] = v;
    }
    const eff = resolveScaling(next, this.#d.scalingDefaults);
    const cap = this.#d.scalingDefaults.maxReplicas;
    if (!Number.isInteger(eff.min) || eff.min < 0 || eff.min > cap)
      bad(`min must be between 0 and ${cap} (this server's maximum)`);
    if (eff.max !== null) {
      if (!Number.isInteger(eff.max) || eff.max < 1 || eff.max > cap)
        bad(`max must be between 1 and ${cap} (this server's maximum)`);
      if (eff.max < eff.min) bad(`max (${eff.max}) must not be below min (${eff.min})`);
    }
    if (!Number.isInteger(eff.concurrency) || eff.concurrency < 1) bad('concurrency must be at least 1');
    if (!(eff.idleTimeoutMs >= 1000)) bad('the idle timeout must be at least 1 s');
    await this.#d.records.setScaling(app.id, next);
    this.sync({ ...app, scaling: next });
    return this.getScaling(name);
  }

  /** ps:scale must not fight the autoscaler over the web count. */
  checkScale(app: AppRow, formation: Record<string, number>): void {
    const min = this.settings(app).min;
    if (formation.web === 0 && min > 0)
      throw new GantryError(
        'GANTRY_CONFLICT',
        `web=0 would put the app to sleep, but it keeps at least ${min} awake: run gantry autoscale:set --min 0 first`,
      );
    if ('web' in formation && app.scaling.max !== undefined && app.scaling.max !== null) {
      const s = this.settings(app);
      throw new GantryError(
        'GANTRY_CONFLICT',
        `web is autoscaled between ${Math.max(1, s.min)} and ${s.max} processes: change that with gantry autoscale:set (--max none turns autoscaling off)`,
      );
    }
  }

  async sleep(name: string): Promise<void> {
    await this.#deployedWeb(name);
    await this.#d.scaler.sleep(name, 'put to sleep on request');
  }

  async wake(name: string): Promise<void> {
    await this.#deployedWeb(name);
    await this.#d.scaler.wake(name);
  }

  async #deployedWeb(name: string): Promise<void> {
    await this.#d.records.get(name);
    if (this.#d.rollout.webCount(name) === undefined)
      throw new GantryError('GANTRY_NO_RELEASE', `app "${name}" has no web process to run (deploy it first)`);
  }

  async getLimits(name: string): Promise<LimitsInfo> {
    const app = await this.#d.records.get(name);
    const m = this.#d.rollout.active(name)?.slug.manifest;
    const types: Record<string, ResourceLimits> = {};
    for (const t of new Set([...Object.keys(m?.processes ?? {}), ...Object.keys(app.limits)]))
      types[t] = effectiveLimits(app.limits[t], this.#d.limitPolicy);
    const caps = this.#d.runtime.capabilities();
    return {
      types,
      custom: app.limits,
      defaults: this.#d.limitPolicy.defaults,
      maxima: this.#d.limitPolicy.maxima,
      enforced: caps.limits,
      cgroup: caps.cgroup,
      reason: caps.reason,
    };
  }

  async setLimits(name: string, type: string, limits: ResourceLimits | null): Promise<LimitsInfo> {
    const app = await this.#d.records.get(name);
    const m = this.#d.rollout.active(name)?.slug.manifest;
    const known = [...Object.keys(m?.processes ?? {}), 'release', 'run', 'cron'];
    if (m && !known.includes(type))
      throw new GantryError(
        'GANTRY_BAD_REQUEST',
        `no process type ${type} in this app (known: ${known.join(', ')})`,
      );
    const next = { ...app.limits };
    if (limits === null) delete next[type];
    else {
      checkLimits(limits, this.#d.limitPolicy.maxima);
      next[type] = limits;
    }
    await this.#d.records.setLimits(app.id, next);
    // Running processes get the new limits the way a config change reaches them: a rolling
    // restart. If the processes do not come up with them, the old limits stay.
    if (m && type in m.processes) {
      try {
        await this.#d.deployer.reapply(name);
      } catch (e) {
        await this.#d.records.setLimits(app.id, app.limits);
        throw e;
      }
    }
    return this.getLimits(name);
  }

  async listEvents(name: string, limit: number): Promise<AppEvent[]> {
    await this.#d.records.get(name);
    return this.#d.events.list(name, { limit });
  }

  async listCronJobs(name: string): Promise<CronJobInfo[]> {
    await this.#d.records.get(name);
    return this.#d.cron.jobs(name);
  }

  async listCronRuns(name: string, opts: { jobId?: string; limit: number }): Promise<CronRunInfo[]> {
    const app = await this.#d.records.get(name);
    return this.#d.cron.runs(app.id, opts);
  }

  async runCronJob(
    name: string,
    jobId: string,
    output: OutputSink,
    signal?: AbortSignal,
  ): Promise<CronRunInfo> {
    await this.#d.records.get(name);
    return this.#d.cron.run(name, jobId, { trigger: 'manual', onOutput: output, signal });
  }

  /**
   * Runs `command` once in the app's sandbox with the serving release's slug, config and
   * limits (type `kind`, falling back to web's). Used by `gantry run` and cron.
   */
  async runOnce(
    name: string,
    command: string,
    opts: {
      kind: 'run' | 'cron';
      label: string;
      onOutput?: (t: string) => void;
      signal?: AbortSignal;
      timeoutMs?: number;
    },
  ): Promise<OneOffResult> {
    const app = await this.#d.records.get(name);
    const active = this.#d.rollout.active(name);
    const spec =
      active?.spec ??
      (active &&
        this.#d.rollout.buildSpec({
          app,
          version: active.version,
          slug: active.slug,
          config: await this.#d.records.getConfig(app.id),
        }));
    if (!spec)
      throw new GantryError('GANTRY_NO_RELEASE', `app "${name}" is not deployed yet: deploy it first`);
    return this.#d.runtime.runOnce({
      app: name,
      name: `${name}.${opts.label}`,
      slugPath: spec.slugPath,
      dataPath: spec.dataPath,
      uid: spec.uid,
      env: spec.env,
      command,
      limits: effectiveLimits(app.limits[opts.kind] ?? app.limits.web, this.#d.limitPolicy),
      timeoutMs: opts.timeoutMs ?? RUN_TIMEOUT_MS,
      onOutput: opts.onOutput,
      signal: opts.signal,
    });
  }

  async runCommand(
    name: string,
    argv: string[],
    output: OutputSink,
    signal?: AbortSignal,
  ): Promise<{ exitCode: number | null; signal: string | null }> {
    if (argv.length === 0) throw new GantryError('GANTRY_BAD_REQUEST', 'give a command to run');
    const n = ++this.#runs;
    const r = await this.runOnce(name, this.#d.shellCommand(argv), {
      kind: 'run',
      label: `run.${n}`,
      onOutput: output,
      signal,
    });
    const how = r.oomKilled
      ? 'was killed: out of memory'
      : r.exitCode !== null
        ? `exited with status ${r.exitCode}`
        : `was killed by ${r.signal}`;
    this.#d.events.record(name, {
      kind: 'run',
      process: `${name}.run.${n}`,
      message: `one-off run of ${argv[0]} ${how}`,
    });
    return { exitCode: r.exitCode, signal: r.signal };
  }

  async getMetrics(name: string, range: '1h' | '24h'): Promise<MetricSeries> {
    await this.#d.records.get(name);
    return this.seriesOf(name, range);
  }

  /** An app's series without looking the app up (the caller knows it exists: the admin overview). */
  seriesOf(name: string, range: '1h' | '24h'): MetricSeries {
    return this.#d.metrics.series(name, range);
  }

  prometheus(): string {
    return this.#d.metrics.prometheus();
  }
}
