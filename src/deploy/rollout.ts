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
import type { AppRoute, Backend } from '../router/types.js';
import type { DeploymentSpec, ProcessStatus, Runtime } from '../runtime/types.js';
import { GantryError } from '../errors/index.js';
import { platformEnv } from './env.js';
import { waitHealthy } from './health.js';

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
}

export interface ActivateInput {
  app: AppRow;
  version: number;
  slug: SlugRow;
  config: Record<string, string>;
  output: (text: string) => void;
  /** Run the Procfile `release` command and app.json predeploy/postdeploy (not on restarts/recovery). */
  releasePhase: boolean;
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

export class Rollout {
  readonly #o: RolloutOptions;
  readonly #active = new Map<string, Active>();
  readonly #retiring = new Set<Promise<void>>();

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
    this.#o.router.setRoute(app, { app, release: cur.version, backends: next });
  }

  active(app: string): Active | undefined {
    return this.#active.get(app);
  }

  buildSpec(input: Pick<ActivateInput, 'app' | 'version' | 'slug' | 'config'>): DeploymentSpec {
    const { app, version, slug, config } = input;
    const m = slug.manifest;
    const counts = effectiveFormation(m.processes, app.formation, m.formation);
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
    if (input.releasePhase) {
      if (m.predeploy) await this.#runOnce(input, spec, 'predeploy', m.predeploy);
      if (m.release) await this.#runOnce(input, spec, 'release', m.release);
    }
    if (m.static) {
      this.#switch(
        { app: app.name, version: input.version, slug, backends: [] },
        join(slug.path, m.static.root),
      );
      output(`-----> Serving static files of v${input.version}\n`);
      return;
    }
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
          deadReason: (name) => {
            const p = web().find((x) => x.name === name);
            if (!p || !p.lastExit) return undefined;
            return p.lastExit.code !== null
              ? `exited with status ${p.lastExit.code}`
              : `was killed by ${p.lastExit.signal}`;
          },
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
    this.#switch({ app: app.name, version: input.version, deploymentId: spec.id, spec, slug, backends });
    if (input.releasePhase && m.postdeploy) {
      await this.#runOnce(input, spec, 'postdeploy', m.postdeploy).catch((e: Error) =>
        output(` !     postdeploy failed (the release is live): ${e.message}\n`),
      );
    }
  }

  #switch(next: Active, staticRoot?: string): void {
    this.#o.router.setRoute(next.app, {
      app: next.app,
      release: next.version,
      backends: next.backends,
      staticRoot,
    });
    const old = this.#active.get(next.app);
    this.#active.set(next.app, next);
    if (old) this.#retire(old);
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

  /**
   * Changes process counts of the serving deployment in place. New web
   * processes join the route once they answer; removed ones leave the route
   * first and are drained before they stop.
   */
  async scale(app: AppRow, output: (t: string) => void = () => undefined): Promise<void> {
    const cur = this.#active.get(app.name);
    if (!cur?.spec || !cur.deploymentId) return;
    const m = cur.slug.manifest;
    const counts = effectiveFormation(m.processes, app.formation, m.formation);
    const spec: DeploymentSpec = {
      ...cur.spec,
      processes: cur.spec.processes.map((p) => ({ ...p, count: counts[p.type] ?? 0 })),
    };
    const webCount = counts.web ?? 0;
    const leaving = cur.backends.filter((b) => Number(b.id.split('.').pop()) > webCount);
    if (leaving.length) {
      const staying = cur.backends.filter((b) => !leaving.includes(b));
      this.#o.router.setRoute(app.name, { app: app.name, release: cur.version, backends: staying });
      cur.backends = staying;
      await this.#o.router.drain(leaving, this.#o.drainTimeoutMs);
    }
    cur.spec = spec;
    await this.#o.runtime.apply(spec);
    const web = this.#o.runtime.list(app.name).filter((p) => p.deployment === spec.id && p.type === 'web');
    const fresh = web.filter((p) => !cur.backends.some((b) => b.id === p.name));
    if (fresh.length) {
      await waitHealthy({
        app: app.name,
        targets: fresh.map((p) => ({ name: p.name, host: p.host, port: p.port! })),
        checks: [],
        timeoutMs: this.#o.healthcheckTimeoutMs,
        deadReason: () => undefined,
        output,
      });
      // Keep the Backend objects of processes that stay: the router keys counters and pools on them.
      cur.backends = web.map(
        (p) => cur.backends.find((b) => b.id === p.name && b.port === p.port) ?? toBackend(p),
      );
      this.#o.router.setRoute(app.name, { app: app.name, release: cur.version, backends: cur.backends });
    }
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
    this.#active.delete(app);
    if (cur?.deploymentId)
      await this.#o.runtime.remove(cur.deploymentId, { graceMs: Math.min(this.#o.stopGraceMs, 5000) });
  }

  async close(): Promise<void> {
    await Promise.all([...this.#retiring]);
  }
}
