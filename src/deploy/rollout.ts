/**
 * Puts a release in service without downtime: release phase → start the new
 * processes → health checks → switch the route atomically → drain the old
 * processes (in-flight requests and open WebSockets finish) → stop them.
 * Holds, in memory, which deployment serves each app.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../log/index.js';
import type { AppRow, SlugRow } from '../apps/records.js';
import { effectiveLimits, type LimitPolicy } from '../apps/limits.js';
import type { AppRoute, Backend } from '../router/types.js';
import type { DeploymentSpec, ProcessStatus, Runtime } from '../runtime/types.js';
import { GantryError } from '../errors/index.js';
import { KeyedLock } from './lock.js';
import { platformEnv } from './env.js';
import { deathReason, waitHealthy, waitServing } from './health.js';

/** What the rollout needs of the router. */
export interface RouteControl {
  setRoute(app: string, route: AppRoute | undefined): void;
  drain(backends: Backend[], timeoutMs: number): Promise<void>;
}

export interface Active {
  app: string;
  version: number;
  deploymentId?: string;
  spec?: DeploymentSpec;
  slug: SlugRow;
  backends: Backend[];
  /** Scaled to zero: no web processes; the route holds requests and wakes the app. */
  sleeping: boolean;
  /** Session affinity cookie on the route. */
  affinity: boolean;
}

export interface RolloutOptions {
  runtime: Runtime;
  router: RouteControl;
  logger: Logger;
  dataDir: string;
  publicUrl: string;
  healthcheckTimeoutMs: number;
  drainTimeoutMs: number;
  stopGraceMs: number;
  /** Log lines of one process since a time, shown when it fails to start. */
  recentLogs: (app: string, process: string, since: Date) => Promise<string[]>;
  /** Server default and maximum resource limits per process. */
  limits: LimitPolicy;
  /**
   * How many web processes a deployment starts with when it is activated awake, given
   * the formation's count (the scaler's say: an autoscaled app keeps its current size).
   * Default: the formation's.
   */
  webCount?: (app: AppRow, formationWeb: number) => number;
  /** Session affinity setting of an app (default off). */
  affinity?: (app: AppRow) => boolean;
  /** A deployment went live (deploy, config change, rollback, restart, recovery). */
  onLive?: (active: Active, app: AppRow) => void;
}

export interface ActivateInput {
  app: AppRow;
  version: number;
  slug: SlugRow;
  config: Record<string, string>;
  output: (text: string) => void;
  /** Run the Procfile `release` command and app.json predeploy/postdeploy (not on restarts/recovery). */
  releasePhase: boolean;
  /** Go live asleep: start no web process until a request arrives (recovery of scale-to-zero apps). */
  asleep?: boolean;
  signal?: AbortSignal;
}

export const appDataPath = (dataDir: string, app: string): string => join(dataDir, 'apps', app, 'data');

/** Desired count per process type: ps:scale wins, then app.json formation, then web=1 / others 0. */
export function effectiveFormation(
  processes: Record<string, string>,
  appFormation: Record<string, number>,
  manifestFormation: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const type of Object.keys(processes))
    out[type] = appFormation[type] ?? manifestFormation[type] ?? (type === 'web' ? 1 : 0);
  return out;
}

const toBackend = (p: ProcessStatus): Backend => ({ id: p.name, host: p.host, port: p.port! });
const webSpecCount = (spec: DeploymentSpec): number => spec.processes.find((p) => p.web)?.count ?? 0;

/** How long a sleeping app's last connections may stay (silent WebSockets, a request that just arrived). */
const SLEEP_DRAIN_MS = 1000;

export class Rollout {
  readonly #o: RolloutOptions;
  readonly #active = new Map<string, Active>();
  readonly #retiring = new Set<Promise<void>>();
  /** Per-app chain of process-count changes (scale, sleep, wake): never two at once. */
  readonly #ops = new KeyedLock();

  constructor(o: RolloutOptions) {
    this.#o = o;
    // A crashed web process may come back on another port: keep the route pointing at it.
    o.runtime.onEvent((e) => {
      if (e.kind === 'start') this.#refresh(e.app);
    });
  }

  /** Re-reads the serving deployment's web processes; backends that did not move keep their object (and counters). */
  #refresh(app: string): void {
    const cur = this.#active.get(app);
    if (!cur?.deploymentId) return;
    const procs = this.#o.runtime
      .list(app)
      .filter((p) => p.deployment === cur.deploymentId && p.type === 'web');
    let changed = false;
    const next = cur.backends.map((b) => {
      const p = procs.find((x) => x.name === b.id);
      if (!p?.port || (p.port === b.port && p.host === b.host)) return b;
      changed = true;
      return toBackend(p);
    });
    if (!changed) return;
    cur.backends = next;
    this.#route(cur);
  }

  /** Publishes `cur`'s backends to the router, unless another deployment took over meanwhile. */
  #route(cur: Active, staticRoot?: string): void {
    if (this.#active.get(cur.app) !== cur) return;
    this.#o.router.setRoute(cur.app, {
      app: cur.app,
      release: cur.version,
      backends: cur.backends,
      staticRoot,
      sleeping: cur.sleeping || undefined,
      affinity: cur.affinity || undefined,
    });
  }

  active(app: string): Active | undefined {
    return this.#active.get(app);
  }

  buildSpec(input: Pick<ActivateInput, 'app' | 'version' | 'slug' | 'config'>): DeploymentSpec {
    const { app, version, slug, config } = input;
    const m = slug.manifest;
    const counts = effectiveFormation(m.processes, app.formation, m.formation);
    if (counts.web !== undefined && this.#o.webCount) counts.web = this.#o.webCount(app, counts.web);
    return {
      id: `${app.name}@v${version}.${randomBytes(3).toString('hex')}`,
      app: app.name,
      release: version,
      slugPath: slug.path,
      dataPath: appDataPath(this.#o.dataDir, app.name),
      uid: app.uid,
      env: {
        ...platformEnv({ app: app.name, version, framework: m.framework, publicUrl: this.#o.publicUrl }),
        ...m.env,
        ...config,
      },
      processes: Object.entries(m.processes).map(([type, command]) => ({
        type,
        command,
        count: counts[type] ?? 0,
        web: type === 'web',
        limits: effectiveLimits(app.limits[type], this.#o.limits),
      })),
    };
  }

  async #runOnce(input: ActivateInput, spec: DeploymentSpec, what: string, command: string): Promise<void> {
    input.output(`-----> Running ${what}: ${command}\n`);
    const r = await this.#o.runtime.runOnce({
      app: spec.app,
      name: `${spec.app}.${what}`,
      slugPath: spec.slugPath,
      dataPath: spec.dataPath,
      uid: spec.uid,
      env: spec.env,
      command,
      limits: effectiveLimits(input.app.limits[what] ?? input.app.limits.web, this.#o.limits),
      timeoutMs: 30 * 60_000,
      onOutput: (t) => input.output(t.replace(/^/gm, '       ')),
    });
    if (r.exitCode !== 0) {
      throw new GantryError(
        'GANTRY_RELEASE_FAILED',
        `${what} command failed (${r.exitCode === null ? `killed by ${r.signal}` : `exit ${r.exitCode}`}): fix it, then push again`,
      );
    }
  }

  /** Brings `input` into service and retires what served before. Throws (leaving the old release serving) on failure. */
  async activate(input: ActivateInput): Promise<void> {
    const { app, slug, output } = input;
    const m = slug.manifest;
    const spec = this.buildSpec(input);
    const affinity = this.#o.affinity?.(app) ?? false;
    const base = { app: app.name, version: input.version, slug, sleeping: false, affinity };
    if (input.releasePhase) {
      if (m.predeploy) await this.#runOnce(input, spec, 'predeploy', m.predeploy);
      if (m.release) await this.#runOnce(input, spec, 'release', m.release);
    }
    if (m.static) {
      this.#switch({ ...base, backends: [] }, app, join(slug.path, m.static.root));
      output(`-----> Serving static files of v${input.version}\n`);
      return;
    }
    const asleep = input.asleep === true && spec.processes.some((p) => p.web);
    if (asleep) for (const p of spec.processes) if (p.web) p.count = 0;
    const summary =
      spec.processes
        .filter((p) => p.count > 0)
        .map((p) => `${p.type}=${p.count}`)
        .join(' ') || 'no processes';
    output(`-----> Starting processes (${summary})\n`);
    const startedAt = new Date();
    const web = (): ProcessStatus[] =>
      this.#o.runtime.list(app.name).filter((p) => p.deployment === spec.id && p.type === 'web');
    try {
      await this.#o.runtime.apply(spec);
      const targets = web().map((p) => ({ name: p.name, host: p.host, port: p.port! }));
      if (targets.length) {
        output(
          `-----> Waiting for ${targets.length === 1 ? 'the web process' : `${targets.length} web processes`} to answer\n`,
        );
        await waitHealthy({
          app: app.name,
          targets,
          checks: m.healthchecks.web ?? [],
          timeoutMs: this.#o.healthcheckTimeoutMs,
          deadReason: (name) => deathReason(web().find((x) => x.name === name)),
          output,
          signal: input.signal,
        });
        const checks = (m.healthchecks.web ?? []).filter((c) => c.type === 'startup').map((c) => c.name);
        output(
          `       Healthy after ${Date.now() - startedAt.getTime()} ms${checks.length ? ` (checks passed: ${checks.join(', ')})` : ''}\n`,
        );
      }
    } catch (e) {
      try {
        for (const p of web()) {
          const lines = await this.#o.recentLogs(app.name, p.name, startedAt);
          if (lines.length)
            output(`-----> Last output of ${p.name}:\n${lines.map((l) => `       ${l}\n`).join('')}`);
        }
      } finally {
        await this.#o.runtime.remove(spec.id, { graceMs: 2000 });
      }
      throw e;
    }
    const backends = web().map(toBackend);
    this.#switch({ ...base, deploymentId: spec.id, spec, backends, sleeping: asleep }, app);
    if (input.releasePhase && m.postdeploy) {
      await this.#runOnce(input, spec, 'postdeploy', m.postdeploy).catch((e: Error) =>
        output(` !     postdeploy failed (the release is live): ${e.message}\n`),
      );
    }
  }

  #switch(next: Active, app: AppRow, staticRoot?: string): void {
    const old = this.#active.get(next.app);
    this.#active.set(next.app, next);
    this.#route(next, staticRoot);
    if (old) this.#retire(old);
    try {
      this.#o.onLive?.(next, app);
    } catch (e) {
      this.#o.logger.error({ err: e, app: next.app }, 'onLive listener failed');
    }
  }

  /** Drains and stops an old deployment in the background; close() waits for these. */
  #retire(old: Active): void {
    const p = (async () => {
      await this.#o.router.drain(old.backends, this.#o.drainTimeoutMs);
      if (old.deploymentId) await this.#o.runtime.remove(old.deploymentId, { graceMs: this.#o.stopGraceMs });
    })()
      .catch((e: unknown) => this.#o.logger.error({ err: e, app: old.app }, 'retiring old release failed'))
      .finally(() => this.#retiring.delete(p));
    this.#retiring.add(p);
  }

  /** Web processes the serving deployment runs now; undefined when it has none to manage (static, none, no web type). */
  webCount(app: string): number | undefined {
    const cur = this.#active.get(app);
    if (!cur?.spec || !cur.spec.processes.some((p) => p.web)) return undefined;
    return webSpecCount(cur.spec);
  }

  /**
   * Sets the number of web processes of the serving deployment. 0 puts the app to
   * sleep: the route starts holding requests (and waking the app), the web processes
   * are drained and stopped. From 0 it wakes: resolves as soon as the first new
   * process accepts connections (and passes app.json startup checks); the others join
   * the route as they get ready. If no process comes up, the app goes back to sleep
   * and this throws GANTRY_HEALTHCHECK_FAILED with the reason.
   */
  setWebCount(app: string, n: number): Promise<void> {
    return this.#ops.run(app, async () => {
      const cur = this.#active.get(app);
      if (!cur?.spec || this.webCount(app) === undefined)
        throw new GantryError('GANTRY_NO_RELEASE', `app "${app}" has no web process running`);
      if (webSpecCount(cur.spec) === n && cur.sleeping === (n === 0)) return;
      await this.#resize(cur, { web: n });
    });
  }

  /** Turns session affinity on the route on or off. */
  setAffinity(app: string, on: boolean): void {
    const cur = this.#active.get(app);
    if (!cur || cur.affinity === on) return;
    cur.affinity = on;
    if (!cur.slug.manifest.static) this.#route(cur);
  }

  /**
   * Changes process counts of the serving deployment in place (ps:scale). New web
   * processes join the route once they answer; removed ones leave the route
   * first and are drained before they stop. A sleeping app's web count is only
   * remembered (in the formation) for its next wake.
   */
  scale(app: AppRow, output: (t: string) => void = () => undefined): Promise<void> {
    return this.#ops.run(app.name, async () => {
      const cur = this.#active.get(app.name);
      if (!cur?.spec || !cur.deploymentId) return;
      const m = cur.slug.manifest;
      const counts = effectiveFormation(m.processes, app.formation, m.formation);
      // The autoscaler owns an autoscaled app's web count; a sleeping app's waits for its wake.
      if (counts.web !== undefined && this.#o.webCount) counts.web = this.#o.webCount(app, counts.web);
      if (cur.sleeping) delete counts.web;
      await this.#resize(cur, counts, output);
    });
  }

  /** Applies new counts to `cur` (in the app's #ops turn). */
  async #resize(
    cur: Active,
    counts: Record<string, number>,
    output: (t: string) => void = () => undefined,
  ): Promise<void> {
    const spec: DeploymentSpec = {
      ...cur.spec!,
      processes: cur.spec!.processes.map((p) => ({ ...p, count: counts[p.type] ?? p.count })),
    };
    const webCount = webSpecCount(spec);
    const waking = cur.sleeping && webCount > 0;
    const leaving = cur.backends.filter((b) => Number(b.id.split('.').pop()) > webCount);
    const before = cur.spec!;
    // Set first: a wake that comes in while this drains must see the new count.
    cur.spec = spec;
    if (webCount === 0 && spec.processes.some((p) => p.web)) {
      cur.sleeping = true;
      cur.backends = [];
      this.#route(cur);
    } else if (leaving.length) {
      cur.backends = cur.backends.filter((b) => !leaving.includes(b));
      this.#route(cur);
    }
    // Going to sleep means nothing happened for the idle timeout: what is left open is
    // silent WebSockets, and requests arriving meanwhile are held for the wake that follows.
    if (leaving.length)
      await this.#o.router.drain(leaving, webCount === 0 ? SLEEP_DRAIN_MS : this.#o.drainTimeoutMs);
    // A deploy may have replaced (and removed) this deployment meanwhile: applying its spec
    // now would start processes of a release nothing tracks any more.
    if (this.#active.get(cur.app) !== cur) return;
    await this.#o.runtime.apply(spec);
    if (this.#active.get(cur.app) !== cur) return;
    const web = (): ProcessStatus[] =>
      this.#o.runtime.list(cur.app).filter((p) => p.deployment === spec.id && p.type === 'web');
    const fresh = web().filter((p) => !cur.backends.some((b) => b.id === p.name));
    if (fresh.length === 0) return;
    if (!waking) {
      try {
        await waitHealthy({
          app: cur.app,
          targets: fresh.map((p) => ({ name: p.name, host: p.host, port: p.port! })),
          checks: [],
          timeoutMs: this.#o.healthcheckTimeoutMs,
          deadReason: () => undefined,
          output,
        });
      } catch (e) {
        // Back to the size that serves: processes outside the route would only cost.
        if (this.#active.get(cur.app) === cur) {
          cur.spec = before;
          await this.#o.runtime.apply(before);
        }
        throw e;
      }
      this.#join(cur, web());
      return;
    }
    // Waking: serve from the first process that is ready; the rest join when they are.
    const checks = (cur.slug.manifest.healthchecks.web ?? []).filter((c) => c.type === 'startup');
    const ready = fresh.map((p) =>
      waitServing({
        app: cur.app,
        process: p,
        checks,
        timeoutMs: this.#o.healthcheckTimeoutMs,
        current: () => web().find((x) => x.name === p.name),
      }),
    );
    try {
      const first = await Promise.any(ready);
      cur.sleeping = false;
      this.#join(cur, [first]);
    } catch (e) {
      const reasons = (e as AggregateError).errors.map((x) => (x as Error).message);
      if (this.#active.get(cur.app) === cur) {
        cur.spec = { ...spec, processes: spec.processes.map((p) => (p.web ? { ...p, count: 0 } : p)) };
        await this.#o.runtime.apply(cur.spec);
        this.#route(cur);
      }
      throw new GantryError('GANTRY_HEALTHCHECK_FAILED', `${cur.app} failed to start: ${reasons.join('; ')}`);
    }
    for (const r of ready)
      r.then(
        (p) => this.#join(cur, [p]),
        (err: unknown) => this.#o.logger.warn({ err, app: cur.app }, 'a woken web process did not get ready'),
      );
  }

  /** Adds ready web processes to the route (keeping the Backend objects of those already in it). */
  #join(cur: Active, procs: ProcessStatus[]): void {
    if (this.#active.get(cur.app) !== cur || cur.sleeping) return;
    const wanted = webSpecCount(cur.spec!);
    const next = [...cur.backends];
    for (const p of procs) {
      if (p.port === undefined || p.index > wanted || next.some((b) => b.id === p.name)) continue;
      next.push(toBackend(p));
    }
    if (next.length === cur.backends.length) return;
    cur.backends = next.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
    this.#route(cur);
  }

  /** Restarts the serving deployment's processes of one non-web type, one by one. */
  async restartType(app: string, type: string): Promise<void> {
    const cur = this.#active.get(app);
    if (cur?.deploymentId) await this.#o.runtime.restart(cur.deploymentId, type);
  }

  /** Takes the app out of service entirely (destroy). */
  async stop(app: string): Promise<void> {
    const cur = this.#active.get(app);
    this.#o.router.setRoute(app, undefined);
    // A scale or wake still running would start processes of the deployment being removed.
    await this.#ops.run(app, () => Promise.resolve());
    this.#active.delete(app);
    if (cur?.deploymentId)
      await this.#o.runtime.remove(cur.deploymentId, { graceMs: Math.min(this.#o.stopGraceMs, 5000) });
  }

  async close(): Promise<void> {
    await Promise.all([...this.#retiring]);
  }
}
